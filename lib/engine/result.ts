// result.json of a directory run: how far it got, its final variables and metrics, what ran and
// for how long; a failed run's says why instead of giving variables (they may be unusable).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BilevelError } from '../errors';
import type { Problem } from '../problem';
import type { RunConfig } from '../run-config';
import type { IterationRecord, RunResult } from '../solver';
import type { NestedArray } from '../tensor';
import type { TaskSolution } from '../tasks';
import { plainValues, relativeDistance, type TaskMetrics, type TaskViews } from './evaluation';
import { writeFileDurably } from './output-folder';
import type { RunHistory } from './resume';
import { runVersions, type RunVersions } from './versions';

export const RESULT_FILE = 'result.json';

interface KBarSummary {
  first: number;
  last: number;
  min: number;
  max: number;
}

/** An error as result.json, compare.json and `info --json` record it. */
export interface ErrorRecord {
  /** The BilevelError's code (e.g. NON_FINITE), else the system error's (e.g. ENOSPC) or the error's name. */
  code: string;
  message: string;
}

/** result.json's fields for any outcome: how far the run got. */
export interface RunSummary {
  /** UL iterations done (fewer than config.iterations when interrupted or failed). */
  iterations: number;
  /** F and f of the last iteration's record; null when no iteration ran (or its line was lost). */
  upper: number | null;
  lower: number | null;
  /** Kbar (the record's `steps`) over the run. */
  kBar: KBarSummary | null;
}

/** result.json's fields for any outcome: what ran, for how long. */
interface RunProvenance {
  wallTimeSeconds: number;
  config: RunConfig;
  versions: RunVersions;
}

/** result.json of a run that completed or was interrupted. */
export type FinishedResultFile = { status: 'completed' | 'interrupted' } & RunSummary & {
  /** ||x - x*|| / ||x*|| over all UL variables, for problems with a known optimum. */
  distanceToOptimum: number | null;
  /** The task's metrics at the end; absent for problems without metrics (the toys). */
  metrics?: TaskMetrics;
  /** What shows the final solution (the GAN's generated samples and true modes); absent for most problems. */
  views?: TaskViews;
  /** The task's reading of the final x (the NAS task's genotype); absent for tasks without one. */
  solution?: TaskSolution;
  x: NestedArray[];
  y: NestedArray[];
  z: NestedArray[];
} & RunProvenance;

/** result.json of a run that failed: how far it got and why; no variables (they may be unusable). */
export type FailedResultFile = { status: 'failed'; error: ErrorRecord } & RunSummary & RunProvenance;

/** A finished (or interrupted) run: its final variables and the task's final metrics. */
export interface FinishedRun extends Pick<RunResult, 'x' | 'y' | 'z'> {
  metrics?: TaskMetrics;
  views?: TaskViews;
  solution?: TaskSolution;
}

function summarizeKBar(records: IterationRecord[]): KBarSummary | null {
  if (records.length === 0) return null;
  const kBars = records.map((record) => record.steps);
  return { first: kBars[0], last: kBars[kBars.length - 1], min: Math.min(...kBars), max: Math.max(...kBars) };
}

function runSummary(history: RunHistory): RunSummary {
  const last = history.records.at(-1);
  const lastOfRun = last?.iteration === history.iterations - 1 ? last : undefined;
  return {
    iterations: history.iterations,
    upper: lastOfRun?.upper ?? null,
    lower: lastOfRun?.lower ?? null,
    kBar: summarizeKBar(history.records),
  };
}

const runProvenance = (config: RunConfig, wallTimeSeconds: number): RunProvenance => ({ wallTimeSeconds, config, versions: runVersions() });

/** result.json of a run that completed or was interrupted; the run's tensors are freed here. */
export function finishedResult(
  config: RunConfig, problem: Problem, history: RunHistory, run: FinishedRun, wallTimeSeconds: number,
): FinishedResultFile {
  const x = plainValues(run.x);
  return {
    status: history.iterations < config.iterations ? 'interrupted' : 'completed',
    ...runSummary(history),
    distanceToOptimum: problem.optimum ? relativeDistance(x, problem.optimum.x) : null,
    ...(run.metrics === undefined ? {} : { metrics: run.metrics }),
    ...(run.views === undefined ? {} : { views: run.views }),
    ...(run.solution === undefined ? {} : { solution: run.solution }),
    x,
    y: plainValues(run.y),
    z: plainValues(run.z),
    ...runProvenance(config, wallTimeSeconds),
  };
}

export function errorRecord(err: unknown): ErrorRecord {
  if (err instanceof BilevelError) return { code: err.code, message: err.message };
  if (!(err instanceof Error)) return { code: 'Error', message: String(err) };
  return { code: (err as NodeJS.ErrnoException).code ?? err.name, message: err.message };
}

export const failedResult = (config: RunConfig, history: RunHistory, err: unknown, wallTimeSeconds: number): FailedResultFile =>
  ({ status: 'failed', error: errorRecord(err), ...runSummary(history), ...runProvenance(config, wallTimeSeconds) });

/** A run that failed once it had started: its result.json (status "failed") says how far it got. */
export class RunFailure extends Error {
  constructor(readonly result: FailedResultFile, cause: unknown) {
    super(result.error.message, { cause });
  }
}

/** Indented JSON with arrays of numbers kept on one line: x of 100 numbers is one line, not 100. */
export function readableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/\[\s*(-?[0-9][-+0-9.eE,\s]*?)\s*\]/g, (_, numbers: string) =>
    `[${numbers.split(/\s*,\s*/).join(', ')}]`);
}

export const writeResultFile = (outDir: string, result: FinishedResultFile | FailedResultFile) =>
  writeFileDurably(path.join(outDir, RESULT_FILE), `${readableJson(result)}\n`);

/** A folder's result.json; a missing or unreadable one is a BilevelError naming the file. */
export function readResultFile(outDir: string): FinishedResultFile | FailedResultFile {
  const file = path.join(outDir, RESULT_FILE);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as FinishedResultFile | FailedResultFile;
  } catch (err) {
    throw new BilevelError('INVALID_ARGUMENT', `${file}: cannot read the run's result (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
