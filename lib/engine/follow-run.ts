// A rank other than 0 of a multi-process run: the same UL iterations as rank 0, in step with it
// (every iteration's collectives), reading and writing no files. Rank 0 writes the folder's
// outputs and checkpoints; a follower of a resumed run takes rank 0's restored state through the
// group, so it may run on a machine that does not see rank 0's folder.
import type { ProcessGroup } from '../distributed';
import type { LoadedRun } from '../run-config';
import { manualSeed } from '../tensor';
import { runLoop } from './loop';

export interface FollowOptions {
  processGroup: ProcessGroup;
  signal: AbortSignal;
}

/** Resolves with the UL iterations done when the run ended (fewer than the config's when stopped). */
export async function followRun({ config, problem, solver }: LoadedRun, options: FollowOptions): Promise<number> {
  const { processGroup, signal } = options;
  manualSeed(config.seed);
  using run = solver.start(problem, { processGroup });
  const done = await run.startFromRankZero();
  // Awaited here: `run` is disposed when this function returns.
  return await runLoop(run, { iterations: config.iterations, done, signal });
}
