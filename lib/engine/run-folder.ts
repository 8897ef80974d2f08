// A loaded config run into a folder: metrics.jsonl appended as it goes, checkpoint.bin every
// checkpointEvery iterations, at the end and when interrupted, then result.json and the report.
// A resumed run continues from the checkpoint there; a failed one still writes result.json
// (status "failed"). `bilevel run` and `bilevel compare` (one folder per method) run here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ProcessGroup } from '../distributed';
import { writeReport } from '../report';
import { describeSolver, hasTaskMetrics, type LoadedRun } from '../run-config';
import type { IterationRecord, SolverRun } from '../solver';
import { manualSeed } from '../tensor';
import { saveCheckpoint } from './checkpoint';
import type { TaskSolution } from '../tasks';
import { distanceToOptimum, evaluateMetrics, evaluateSolution, evaluateViews, type TaskMetrics } from './evaluation';
import { runLoop, type Cadence } from './loop';
import { METRICS_FILE, MetricsLog, type MetricsLine } from './metrics-log';
import { makeOutputFolder } from './output-folder';
import { RESULT_FILE, RunFailure, failedResult, finishedResult, writeResultFile, type FinishedResultFile, type FinishedRun } from './result';
import { freshHistory, resumeHistory, type RunHistory } from './resume';
import { runVersions } from './versions';

/** Where a run shows how far it got (a bar or log lines in the CLI). */
export interface RunProgress {
  update(done: number, record: IterationRecord): void;
  stop(): void;
}

export interface FolderRunOptions {
  /** Stops the run after the current iteration; its outputs are then complete, with status "interrupted". */
  signal: AbortSignal;
  /** Continue from the folder's checkpoint, if it has one. */
  resume?: boolean;
  progress?: RunProgress;
  /** Told of what a resume cannot recover (metrics lines lost with the machine). */
  warn?: (message: string) => void;
  /** Called after each evaluation of the task's metrics with the run's lines so far, the last one carrying them. */
  onEvaluated?: (lines: readonly MetricsLine[]) => void;
  /** Solve with these ranks (this process is rank 0; the others follow: lib/engine/follow-run.ts). */
  processGroup?: ProcessGroup;
}

/** Progress that shows nothing. */
export const silentProgress: RunProgress = { update: () => undefined, stop: () => undefined };

/** Problems with a known optimum get the distance to it on about 100 records, for the report's chart. */
const distanceEvery = (iterations: number) => Math.max(1, Math.floor(iterations / 100));

/**
 * Runs a started run on from `history` into outDir. Task metrics are evaluated every metricsEvery
 * iterations (default: at the end) and go on that iteration's metrics line, which is therefore
 * held until the next record, a checkpoint or the end. `history` is kept up to date so that a failure can still report
 * how far the run got.
 */
async function iterateIntoFolder(
  { config, problem }: LoadedRun, run: SolverRun, history: RunHistory, outDir: string,
  { progress, signal, onEvaluated }: Required<Pick<FolderRunOptions, 'progress' | 'signal' | 'onEvaluated'>>,
): Promise<FinishedRun> {
  const tracksMetrics = hasTaskMetrics(config.problem);
  const log = new MetricsLog(path.join(outDir, METRICS_FILE), history.records);
  /** The last record, held until what its chunk evaluates is on it. */
  let pending: MetricsLine | undefined;
  let lastMetrics: TaskMetrics | undefined;
  let lastSolution: TaskSolution | undefined;
  const evaluate = async () => {
    lastMetrics = await evaluateMetrics(problem, run);
    lastSolution = evaluateSolution(config.problem, run);
  };
  const flush = () => {
    if (pending !== undefined) log.append(pending);
    pending = undefined;
  };
  // The metrics lines before a checkpoint are written before it, so a resume finds them.
  const checkpoint = async (done: number) => {
    flush();
    await saveCheckpoint(run, outDir, config, done);
  };
  const cadences: Cadence[] = [];
  if (tracksMetrics) {
    cadences.push({ every: config.metricsEvery, atEnd: true, act: async () => {
      if (pending === undefined) return;
      const line = pending;
      await evaluate();
      line.metrics = lastMetrics;
      if (lastSolution !== undefined) line.solution = lastSolution;
      onEvaluated(history.records);
    } });
  }
  const { optimum } = problem;
  if (optimum !== undefined) {
    cadences.push({ every: distanceEvery(config.iterations), atEnd: true, act: () => {
      if (pending !== undefined) pending.distanceToOptimum = distanceToOptimum(run, optimum);
    } });
  }
  cadences.push({ every: config.checkpointEvery, atEnd: false, act: checkpoint });
  const onRecord = (record: IterationRecord) => {
    flush();
    pending = record;
    history.records.push(record);
    history.iterations += 1;
    progress.update(history.iterations, record);
  };
  try {
    await runLoop(run, { iterations: config.iterations, done: history.iterations, signal, onRecord, cadences });
    await checkpoint(history.iterations); // the final state, also after an interruption
  } finally {
    flush();
    log.close();
  }
  if (tracksMetrics && lastMetrics === undefined) await evaluate();
  return { ...run.values(), metrics: lastMetrics, solution: lastSolution, views: evaluateViews(problem, run) };
}

/**
 * Runs a loaded config into outDir; with `resume`, on from the checkpoint there. A refused
 * checkpoint leaves the folder as it was; a run that fails still writes result.json (status
 * "failed", the error) and throws a RunFailure carrying it.
 */
export async function runIntoFolder(loaded: LoadedRun, outDir: string, options: FolderRunOptions): Promise<FinishedResultFile> {
  const { signal, resume = false, progress = silentProgress, warn = () => undefined, onEvaluated = () => undefined, processGroup } = options;
  const { config, problem, solver } = loaded;
  makeOutputFolder(outDir);
  manualSeed(config.seed);
  using run = solver.start(problem, { processGroup });
  const history = resume ? await resumeHistory(run, config, outDir, warn) : freshHistory();
  // A result.json beside new metrics would describe another run.
  fs.rmSync(path.join(outDir, RESULT_FILE), { force: true });
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  let finished: FinishedRun;
  try {
    finished = await iterateIntoFolder(loaded, run, history, outDir, { progress, signal, onEvaluated });
  } catch (err) {
    const failed = failedResult(config, history, err, seconds());
    writeResultFile(outDir, failed);
    throw new RunFailure(failed, err);
  } finally {
    progress.stop();
  }
  const result = finishedResult(config, problem, history, finished, seconds());
  writeResultFile(outDir, result);
  const method = describeSolver(config.solver);
  await writeReport(outDir, {
    title: `${config.problem.name}: ${method}`, config, seed: config.seed, versions: runVersions(),
    series: [{ method, status: result.status, points: history.records, views: result.views }],
  });
  return result;
}
