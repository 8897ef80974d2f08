// Multi-process runs: a group of processes (c10d's process group, Gloo on the CPU) solving one
// problem together, data-parallel. Each rank evaluates F and f on its share of every batch; the
// solver sees the means over all ranks, so every rank holds the same x, y and z throughout and the
// result equals one process on the whole batches (up to the order of float sums).
import type { NativeProcessGroup } from '../binding';
import { native } from './binding';

/** torchrun's variables that describe the group: present with WORLD_SIZE > 1 in a rank's environment. */
export function inProcessGroup(environment: NodeJS.ProcessEnv = process.env): boolean {
  return (environment.WORLD_SIZE ?? '1') !== '1';
}

/** Whether this process writes a run's outputs: alone, or rank 0 of a group (torchrun's RANK). */
export function isRankZero(environment: NodeJS.ProcessEnv = process.env): boolean {
  return !inProcessGroup(environment) || (environment.RANK ?? '0') === '0';
}

export class ProcessGroup implements Disposable {
  /** This process's rank, 0 ... worldSize - 1; rank 0 writes a run's outputs. */
  readonly rank: number;
  readonly worldSize: number;
  /** @internal */
  readonly native: NativeProcessGroup;

  private constructor(group: NativeProcessGroup) {
    this.native = group;
    this.rank = group.rank();
    this.worldSize = group.worldSize();
  }

  /**
   * Joins the group described by torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT;
   * the elastic agent's store where TORCHELASTIC_USE_AGENT_STORE is set): resolves once every rank
   * has joined. A malformed variable is an INVALID_ARGUMENT error naming it; a failed rendezvous a
   * DISTRIBUTED one.
   */
  static async join(environment: NodeJS.ProcessEnv = process.env): Promise<ProcessGroup> {
    return new ProcessGroup(await native.joinProcessGroup(environment));
  }

  /** Resolves once every rank has reached it. */
  barrier(): Promise<void> {
    return this.native.barrier();
  }

  /**
   * The collectives this process has taken part in so far (sums, broadcasts, stop agreements) and
   * the wall time they took, waiting for the other ranks included.
   */
  communication(): { collectives: number; milliseconds: number } {
    return this.native.communication();
  }

  /** Leaves the group (solvers made with it keep it until they are disposed). */
  dispose(): void {
    this.native.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
