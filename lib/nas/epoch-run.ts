// What a search and a retraining share: a run config run into a folder by the engine (checkpoints,
// metrics lines, resume), read back as one record per epoch, each told as it ends.
import * as path from 'node:path';
import type { ProcessGroup } from '../distributed';
import { followRun, type FollowOptions } from '../engine/follow-run';
import { claimOutputFolder } from '../engine/output-folder';
import { METRICS_FILE, readMetricsLines, type MetricsLine } from '../engine/metrics-log';
import type { FinishedResultFile } from '../engine/result';
import { runIntoFolder } from '../engine/run-folder';
import { createProblem, createSolver, type RunConfig } from '../run-config';

export interface EpochRunOptions<Epoch> {
  out: string;
  resume: boolean;
  signal: AbortSignal;
  onEpoch?: (record: Epoch) => void;
  /** How to continue or give up when `out` is taken, for the refusal. */
  remedy: string;
  /** Rank 0 of the group that runs it together (data-parallel). */
  processGroup?: ProcessGroup;
}

/** Runs `config` into `out`; the records of its epochs are what `epochsOf` makes of its metrics lines. */
export async function runEpochs<Epoch>(
  config: RunConfig, epochsOf: (lines: readonly MetricsLine[]) => Epoch[],
  { out, resume, signal, onEpoch, remedy, processGroup }: EpochRunOptions<Epoch>,
): Promise<{ epochs: Epoch[]; result: FinishedResultFile }> {
  claimOutputFolder(out, { keep: resume, force: false, remedy });
  const problem = await createProblem(config, process.cwd());
  try {
    const solver = await createSolver(config, problem);
    const result = await runIntoFolder({ config, problem, solver }, out, {
      signal,
      resume,
      processGroup,
      onEvaluated: (lines) => {
        const latest = epochsOf(lines).at(-1);
        if (latest !== undefined) onEpoch?.(latest);
      },
    });
    return { epochs: epochsOf(readMetricsLines(path.join(out, METRICS_FILE))), result };
  } finally {
    problem.dispose();
  }
}

/** A rank other than 0 of a group that runs `config` (lib/engine/follow-run.ts); resolves with the UL iterations done. */
export async function followEpochs(config: RunConfig, options: FollowOptions): Promise<number> {
  using problem = await createProblem(config, process.cwd());
  return followRun({ config, problem, solver: await createSolver(config, problem) }, options);
}
