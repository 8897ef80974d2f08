// A rank other than 0 of a multi-process run: the same UL iterations as rank 0, in step with it
// (every iteration's collectives), writing nothing. Rank 0 writes the folder's outputs and
// checkpoints; a resumed follower starts from rank 0's checkpoint there, as rank 0 does.
import type { ProcessGroup } from '../distributed';
import type { LoadedRun } from '../run-config';
import { manualSeed } from '../tensor';
import { restoreCheckpoint } from './checkpoint';
import { runLoop } from './loop';

export interface FollowOptions {
  processGroup: ProcessGroup;
  signal: AbortSignal;
  resume?: boolean;
}

/** Resolves with the UL iterations done when the run ended (fewer than the config's when stopped). */
export async function followRun({ config, problem, solver }: LoadedRun, outDir: string, options: FollowOptions): Promise<number> {
  const { processGroup, signal, resume = false } = options;
  manualSeed(config.seed);
  using run = solver.start(problem, { processGroup });
  const done = resume ? (await restoreCheckpoint(run, outDir, config)) ?? 0 : 0;
  // Awaited here: `run` is disposed when this function returns.
  return await runLoop(run, { iterations: config.iterations, done, signal });
}
