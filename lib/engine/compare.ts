// Several methods on one problem, each run into its own folder (OUT/METHOD) by the directory
// runner, then compare.json (one line per method) and one report with every method's series.
// A method that fails is recorded as such and the others go on.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { appliesTo, methodPresets, methodsFor, presetProblem, presetSolver, sharedSettings, type MethodName } from '../method-presets';
import type { Problem } from '../problem';
import { BilevelError } from '../errors';
import { writeReport } from '../report';
import { checkSolver, createSolver, validateRunConfig, type RunConfig } from '../run-config';
import type { TaskMetrics, TaskViews } from './evaluation';
import { METRICS_FILE, readMetricsLines } from './metrics-log';
import { writeFileDurably } from './output-folder';
import {
  RESULT_FILE, RunFailure, errorRecord, readResultFile, readableJson, type ErrorRecord, type FinishedResultFile, type RunSummary,
} from './result';
import { runIntoFolder, type RunProgress } from './run-folder';
import { runVersions, type RunVersions } from './versions';

/** One method's line of compare.json. */
export interface ComparedMethod {
  method: MethodName;
  label: string;
  status: FinishedResultFile['status'] | 'failed';
  /** Why it failed (status "failed"). */
  error?: ErrorRecord;
  /** Its outputs, relative to compare.json. */
  outDir: string;
  iterations: number;
  upper: number | null;
  kBarLast: number | null;
  /** Mean of unrollMs + hypergradientMs + updateMs over the records. */
  msPerIteration: number | null;
  peakBytes: number | null;
  distanceToOptimum: number | null;
  metrics?: TaskMetrics;
  solver: RunConfig['solver'];
}

interface CompareFile {
  config: RunConfig;
  methods: ComparedMethod[];
  versions: RunVersions;
}

/** What a comparison tells its caller about each method as it goes. */
export interface CompareObserver {
  /** The progress of a method's run, made when it starts. */
  progress(method: MethodName, iterations: number): RunProgress;
  /** A method completed or was interrupted; its outputs are in methodDir. */
  finished(method: MethodName, result: FinishedResultFile, methodDir: string): void;
  failed(method: MethodName, error: ErrorRecord): void;
}

/**
 * A method's run config: the base config with the method's solver (and the problem fields it sets),
 * validated and checked like any config. A method that does not apply to the problem is refused.
 */
export function methodConfig(base: RunConfig, method: MethodName): RunConfig {
  const problemName = base.problem.name;
  if (!appliesTo(method, problemName)) {
    throw new BilevelError('INVALID_ARGUMENT', `compare: ${method} does not apply to ${problemName} (it does: ${methodsFor(problemName).join(', ')})`);
  }
  const problem = { ...base.problem, ...presetProblem(method) };
  const config = validateRunConfig({ ...base, problem, solver: presetSolver(method, sharedSettings(base.solver)) });
  checkSolver(config);
  return config;
}

/** The run config of each method (methodConfig), in the order given. */
export const methodConfigs = (base: RunConfig, methods: MethodName[]): Map<MethodName, RunConfig> =>
  new Map(methods.map((method) => [method, methodConfig(base, method)]));

const mean = (values: number[]) => (values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length);

function comparedMethod(method: MethodName, config: RunConfig, result: FinishedResultFile, methodDir: string): ComparedMethod {
  const records = readMetricsLines(path.join(methodDir, METRICS_FILE));
  return {
    method,
    label: methodPresets[method].label,
    status: result.status,
    outDir: method,
    iterations: result.iterations,
    upper: result.upper,
    kBarLast: result.kBar?.last ?? null,
    msPerIteration: mean(records.map((r) => r.unrollMs + r.hypergradientMs + r.updateMs)),
    peakBytes: records.length === 0 ? null : Math.max(...records.map((r) => r.peakBytes)),
    distanceToOptimum: result.distanceToOptimum,
    ...(result.metrics === undefined ? {} : { metrics: result.metrics }),
    solver: config.solver,
  };
}

/** A method that failed: how far it got (nothing when it failed before it started), and why. */
const failedMethod = (method: MethodName, config: RunConfig, failure: { error: ErrorRecord } & Partial<RunSummary>): ComparedMethod => ({
  method, label: methodPresets[method].label, status: 'failed', error: failure.error, outDir: method,
  iterations: failure.iterations ?? 0, upper: failure.upper ?? null, kBarLast: failure.kBar?.last ?? null, msPerIteration: null,
  peakBytes: null, distanceToOptimum: null, solver: config.solver,
});

/** The problem of a method's config: methods whose configs name the same problem share one. */
export type ProblemOf = (config: RunConfig) => Promise<Problem>;

/** One method into methodDir; a failure is reported and recorded. */
async function compareOne(
  method: MethodName, config: RunConfig, problemOf: ProblemOf, methodDir: string, signal: AbortSignal, observer: CompareObserver,
): Promise<ComparedMethod> {
  try {
    const problem = await problemOf(config);
    const solver = await createSolver(config, problem);
    const progress = observer.progress(method, config.iterations);
    const result = await runIntoFolder({ config, problem, solver }, methodDir, { signal, progress });
    observer.finished(method, result, methodDir);
    return comparedMethod(method, config, result, methodDir);
  } catch (err) {
    const failure = err instanceof RunFailure ? err.result : { error: errorRecord(err) };
    observer.failed(method, failure.error);
    return failedMethod(method, config, failure);
  }
}

/** Runs each method's config on its problem into OUT/METHOD, in order, until the signal stops them. */
export async function compareMethods(
  configs: Map<MethodName, RunConfig>, problemOf: ProblemOf, outDir: string, signal: AbortSignal, observer: CompareObserver,
): Promise<ComparedMethod[]> {
  const compared: ComparedMethod[] = [];
  for (const [method, config] of configs) {
    if (signal.aborted) break;
    compared.push(await compareOne(method, config, problemOf, path.join(outDir, method), signal, observer));
  }
  return compared;
}

/**
 * problemOf for configs that differ from base at most in problem fields a method sets (MAML's
 * layout): base's problem for those equal to it, one more problem, made when first asked for, for
 * each other problem config.
 */
export function sharedProblems(base: RunConfig, baseProblem: Problem, create: (config: RunConfig) => Promise<Problem>): ProblemOf {
  const problems = new Map<string, Promise<Problem>>([[JSON.stringify(base.problem), Promise.resolve(baseProblem)]]);
  return (config) => {
    const key = JSON.stringify(config.problem);
    if (!problems.has(key)) problems.set(key, create(config));
    return problems.get(key)!;
  };
}

/** The views a method's result.json holds (none for a failed method or a problem without views). */
function finalViews(methodDir: string): TaskViews | undefined {
  if (!fs.existsSync(path.join(methodDir, RESULT_FILE))) return undefined;
  const result = readResultFile(methodDir);
  return result.status === 'failed' ? undefined : result.views;
}

/** Writes compare.json and the report of every method's series into outDir. */
export async function writeComparison(outDir: string, base: RunConfig, compared: ComparedMethod[]): Promise<void> {
  const file: CompareFile = { config: base, methods: compared, versions: runVersions() };
  writeFileDurably(path.join(outDir, 'compare.json'), `${readableJson(file)}\n`);
  const series = compared.map((m) => {
    const metricsFile = path.join(outDir, m.outDir, METRICS_FILE);
    const points = fs.existsSync(metricsFile) ? readMetricsLines(metricsFile) : [];
    return { method: m.method, status: m.status, error: m.error?.message, points, solver: m.solver, views: finalViews(path.join(outDir, m.outDir)) };
  });
  await writeReport(outDir, {
    title: `${base.problem.name}: ${compared.map((m) => m.method).join(', ')}`, config: base, seed: base.seed, versions: runVersions(), series,
  });
}
