// What each process of a command that runs into a folder does (bilevel run, nas search, nas
// retrain), alone or as a rank started by --nproc or torchrun: rank 0 (or the only process) claims
// the folder and runs, writing it; every rank joins the group torchrun's variables describe; the
// other ranks follow rank 0's iterations in step and write nothing (they may not see the folder).
import { inProcessGroup, isRankZero, ProcessGroup } from '../distributed';
import type { FollowOptions } from '../engine/follow-run';
import { StopSignals } from '../engine/signals';
import { EXIT } from './exit';

export interface RankRoles {
  /** Claims the output folder (refusing a taken one); rank 0 only. */
  claim: () => void;
  /** A follower's part; resolves when the run ends. */
  follow: (options: FollowOptions) => Promise<unknown>;
  /** Rank 0's (or the only process's) part; resolves with how the run ended. */
  lead: (signal: AbortSignal, processGroup: ProcessGroup | undefined) => Promise<{ status: string }>;
}

/** This process's part of the command; resolves with its exit code: 0, or 128 + the stop signal that interrupted the run. */
export async function runAsRank({ claim, follow, lead }: RankRoles): Promise<number> {
  if (isRankZero()) claim();
  using stop = new StopSignals();
  using processGroup = inProcessGroup() ? await ProcessGroup.join() : undefined;
  if (processGroup !== undefined && processGroup.rank !== 0) {
    await follow({ processGroup, signal: stop.signal });
    return stop.exitCode();
  }
  // Awaited here: the stop signals and the group must outlive the run.
  const { status } = await lead(stop.signal, processGroup);
  return status === 'interrupted' ? stop.exitCode() : EXIT.success;
}
