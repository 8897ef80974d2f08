#!/usr/bin/env node
// The `bilevel` command: runs described by JSON config files (docs/config.md).
//   bilevel run CONFIG.json [--out DIR] [--iterations N] [--device cpu|cuda|cuda:N] [--resume] [--quiet]
//   bilevel compare CONFIG.json --methods rhg,ait,... [--out DIR] [--iterations N] [--quiet]
//   bilevel validate CONFIG.json
//   bilevel info [--json]
// Exit codes: 0 success, 1 run failure, 2 invalid config or arguments, 128 + signal number when
// SIGINT / SIGTERM stopped a run (its outputs are still complete and valid).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Value } from '@sinclair/typebox/value';
import { Presets, SingleBar } from 'cli-progress';
import type { DynamicsConfig, HypergradientConfig } from './config';
import { BilevelError } from './errors';
import { versions } from './index';
import type { Problem } from './problem';
import {
  DeviceSchema, checkSolver, createProblem, createSolver, hasTaskMetrics, loadRunConfig, parseRunConfig, validateRunConfig,
  type LoadedRun, type RunConfig, type RunConfigOverrides,
} from './run-config';
import type { IterationRecord, RunResult, SolverRun } from './solver';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { isMethodName, methodNames, methodPresets, presetSolver, sharedSettings, type MethodName } from './method-presets';
import { writeReport } from './report';
import { CHECKPOINT_FILE, checkpointMeta, verifyCheckpoint } from './run-checkpoint';
import { manualSeed, type NestedArray, type Tensor } from './tensor';

const EXIT = { success: 0, failure: 1, invalid: 2 } as const;

const USAGE = `usage:
  bilevel run CONFIG.json [--out DIR] [--iterations N] [--device cpu|cuda|cuda:N] [--resume] [--quiet]
  bilevel compare CONFIG.json --methods ${methodNames.join(',')} [--out DIR] [--iterations N] [--quiet]
  bilevel validate CONFIG.json
  bilevel info [--json]
The config format: docs/config.md; its JSON Schema: schema/bilevel-run.schema.json.`;

/** A refusal before any work: bad arguments or an invalid config (exit code 2). */
class UsageError extends Error {}

/** Where a command writes: the process's streams, or collectors in tests. */
export interface Terminal {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
}

const processTerminal: Terminal = { stdout: process.stdout, stderr: process.stderr };

/** Messages are one line each, so that scripts can read them line by line. */
const oneLine = (message: string) => message.replace(/\s*\n\s*/g, ' ').trim();
const printError = (term: Terminal, message: string) => term.stderr.write(`${oneLine(message)}\n`);

function packageVersion(): string {
  const file = path.join(__dirname, '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

// ---------------------------------------------------------------------------------------------
// Arguments

type Options = NonNullable<ParseArgsConfig['options']>;

function parseOptions<O extends Options>(command: string, args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    // node's own messages add advice about '--' that does not apply here: keep the first sentence.
    const first = (err as Error).message.split(/\.\s/)[0].replace(/\.$/, '');
    throw new UsageError(`${command}: ${first}`);
  }
}

function onlyConfigArgument(command: string, positionals: string[]): string {
  if (positionals.length !== 1) {
    throw new UsageError(`${command}: expected one CONFIG.json argument; got ${positionals.length}`);
  }
  return positionals[0];
}

function parseIterationsOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(text)) throw new UsageError(`--iterations: must be an integer >= 1; got ${JSON.stringify(text)}`);
  return Number(text);
}

function parseDeviceOption(text: string | undefined): string | undefined {
  if (text !== undefined && !Value.Check(DeviceSchema, text)) {
    throw new UsageError(`--device: must be "cpu", "cuda" or "cuda:N"; got ${JSON.stringify(text)}`);
  }
  return text;
}

function readConfigFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: cannot read the config (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** Runs fn with the library's INVALID_ARGUMENT refusals turned into UsageErrors (exit code 2). */
function asUsageErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BilevelError && err.code === 'INVALID_ARGUMENT') throw new UsageError(err.message);
    throw err;
  }
}

/** Reads and loads a config; its refusals exit with 2, a missing device or a native failure with 1. */
function loadConfigFile(file: string, overrides: RunConfigOverrides = {}): LoadedRun {
  const text = readConfigFile(file);
  return asUsageErrors(() => loadRunConfig(text, file, overrides));
}

function parseMethodsOption(text: string | undefined): MethodName[] {
  const known = methodNames.join(', ');
  if (text === undefined) throw new UsageError(`compare: --methods is required (known: ${known})`);
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new UsageError(`--methods: expected a comma-separated list (known: ${known})`);
  const seen = new Set<string>();
  for (const name of names) {
    if (!isMethodName(name)) throw new UsageError(`--methods: unknown method ${JSON.stringify(name)} (known: ${known})`);
    if (seen.has(name)) throw new UsageError(`--methods: ${JSON.stringify(name)} is given twice`);
    seen.add(name);
  }
  return names as MethodName[];
}

// ---------------------------------------------------------------------------------------------
// Output files

/**
 * Writes file so that a reader sees the old content or the new, never a part: a temporary file
 * in the same directory (a rename across file systems is not atomic), fsync, rename, then fsync
 * of the directory so the rename itself survives a crash.
 */
function writeFileAtomic(file: string, text: string): void {
  const directory = path.dirname(file);
  const temporary = path.join(directory, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(temporary, 'w');
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
  } catch (err) {
    fs.rmSync(temporary, { force: true });
    throw err;
  }
  const directoryFd = fs.openSync(directory, 'r');
  try {
    fs.fsyncSync(directoryFd);
  } finally {
    fs.closeSync(directoryFd);
  }
}

/**
 * metrics.jsonl, appended as the run goes so it can be followed (tail -f). Each record is one
 * complete line written by one call, so every line a reader sees parses; fsync at the end.
 */
class MetricsLog {
  readonly #fd: number;

  /** Starts the file with `kept` (the lines a resumed run keeps), written atomically first. */
  constructor(file: string, kept: MetricsLine[] = []) {
    writeFileAtomic(file, kept.map((line) => `${JSON.stringify(line)}\n`).join(''));
    this.#fd = fs.openSync(file, 'a');
  }

  append(record: MetricsLine): void {
    fs.writeSync(this.#fd, `${JSON.stringify(record)}\n`);
  }

  close(): void {
    fs.fsyncSync(this.#fd);
    fs.closeSync(this.#fd);
  }
}

/** The task's metrics (problem.metrics()), e.g. testAccuracy and f1 for hyper-cleaning. */
type TaskMetrics = Record<string, number>;

/** A metrics.jsonl line: the iteration's record, with the task's metrics when evaluated there. */
type MetricsLine = IterationRecord & { metrics?: TaskMetrics; distanceToOptimum?: number };

interface KBarSummary {
  first: number;
  last: number;
  min: number;
  max: number;
}

/** result.json. */
interface RunResultFile {
  status: 'completed' | 'interrupted';
  /** UL iterations done (fewer than config.iterations when interrupted). */
  iterations: number;
  /** F and f of the last iteration's record; null when no iteration ran. */
  upper: number | null;
  lower: number | null;
  /** Kbar (the record's `steps`) over the run. */
  kBar: KBarSummary | null;
  /** ||x - x*|| / ||x*|| over all UL variables, for problems with a known optimum. */
  distanceToOptimum: number | null;
  /** The task's metrics at the end; absent for problems without metrics (the toys). */
  metrics?: TaskMetrics;
  x: NestedArray[];
  y: NestedArray[];
  z: NestedArray[];
  wallTimeSeconds: number;
  config: RunConfig;
  versions: { bilevel: string; libtorch: string };
}

function summarizeKBar(records: IterationRecord[]): KBarSummary | null {
  if (records.length === 0) return null;
  const kBars = records.map((record) => record.steps);
  return { first: kBars[0], last: kBars[kBars.length - 1], min: Math.min(...kBars), max: Math.max(...kBars) };
}

const flatten = (values: NestedArray[]): number[] =>
  values.flatMap((value) => (Array.isArray(value) ? flatten(value) : [value]));

function relativeDistance(x: NestedArray[], optimum: number[][]): number {
  const values = flatten(x);
  const target = optimum.flat();
  let difference = 0;
  let size = 0;
  target.forEach((value, i) => {
    difference += (values[i] - value) ** 2;
    size += value ** 2;
  });
  // An optimum at the origin has no scale: report the absolute distance then.
  return Math.sqrt(size === 0 ? difference : difference / size);
}

/** Plain arrays of the final variables; the tensors are freed here. */
function plainValues(tensors: Tensor[]): NestedArray[] {
  const values = tensors.map((t) => t.toNested());
  tensors.forEach((t) => t.dispose());
  return values;
}

/** A finished (or interrupted) run: its variables and records, and the task's final metrics. */
interface FinishedRun extends RunResult {
  metrics?: TaskMetrics;
}

function resultFile(config: RunConfig, problem: Problem, run: FinishedRun, wallTimeSeconds: number): RunResultFile {
  const last = run.records.at(-1);
  const x = plainValues(run.x);
  return {
    status: run.aborted ? 'interrupted' : 'completed',
    iterations: run.records.length,
    upper: last?.upper ?? null,
    lower: last?.lower ?? null,
    kBar: summarizeKBar(run.records),
    distanceToOptimum: problem.optimum ? relativeDistance(x, problem.optimum.x) : null,
    ...(run.metrics === undefined ? {} : { metrics: run.metrics }),
    x,
    y: plainValues(run.y),
    z: plainValues(run.z),
    wallTimeSeconds,
    config,
    versions: { bilevel: packageVersion(), libtorch: versions().libtorch },
  };
}

/** Indented JSON with arrays of numbers kept on one line: x of 100 numbers is one line, not 100. */
function readableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/\[\s*(-?[0-9][-+0-9.eE,\s]*?)\s*\]/g, (_, numbers: string) =>
    `[${numbers.split(/\s*,\s*/).join(', ')}]`);
}

// ---------------------------------------------------------------------------------------------
// Progress

interface Progress {
  update(done: number, record: IterationRecord): void;
  stop(): void;
}

const formatNumber = (value: number) => (Number.isFinite(value) ? String(Number(value.toPrecision(6))) : String(value));

/** Rate and remaining time from the iterations done so far. */
function pace(done: number, total: number, startedMs: number): { rate: number; etaSeconds: number } {
  const seconds = (performance.now() - startedMs) / 1000;
  const rate = seconds > 0 ? done / seconds : 0;
  return { rate, etaSeconds: rate > 0 ? (total - done) / rate : 0 };
}

/** A live bar (cli-progress) on a terminal. */
function terminalProgress(total: number, stream: NodeJS.WritableStream): Progress {
  const bar = new SingleBar(
    {
      format: '{bar} {value}/{total} | F {upper} | Kbar {kBar} | {rate} it/s | ETA {eta_formatted}',
      stream,
      hideCursor: true,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  const started = performance.now();
  bar.start(total, 0, { upper: '-', kBar: '-', rate: '-' });
  return {
    update(done, record) {
      const { rate } = pace(done, total, started);
      bar.update(done, { upper: formatNumber(record.upper), kBar: record.steps, rate: rate.toFixed(1) });
    },
    stop: () => bar.stop(),
  };
}

/** Without a terminal (a log file, CI): one plain line every 10% of the run. */
function lineProgress(total: number, term: Terminal): Progress {
  const every = Math.max(1, Math.ceil(total / 10));
  const started = performance.now();
  return {
    update(done, record) {
      if (done % every !== 0 && done !== total) return;
      const { rate, etaSeconds } = pace(done, total, started);
      term.stdout.write(
        `iteration ${done}/${total} (${Math.round((100 * done) / total)}%)  F ${formatNumber(record.upper)}  ` +
          `Kbar ${record.steps}  ${rate.toFixed(1)} it/s  ETA ${etaSeconds.toFixed(1)} s\n`,
      );
    },
    stop: () => undefined,
  };
}

const silentProgress: Progress = { update: () => undefined, stop: () => undefined };

function createProgress(term: Terminal, quiet: boolean, total: number): Progress {
  if (quiet) return silentProgress;
  // Only a real terminal stream reports isTTY.
  return term.stdout.isTTY ? terminalProgress(total, term.stdout as NodeJS.WritableStream) : lineProgress(total, term);
}

// ---------------------------------------------------------------------------------------------
// Commands

/**
 * The first SIGINT / SIGTERM aborts the run between two UL iterations so the outputs stay valid;
 * a second one exits at once. Returns the function that removes the handlers.
 */
function abortOnSignals(controller: AbortController): () => void {
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(128 + os.constants.signals[signal]);
    controller.abort(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

function describeSolver(solver: RunConfig['solver']): string {
  if (solver.type === 'bamm') return 'bamm';
  // The trajectory schema's members are unions built from records, which Static leaves unknown.
  const parts: string[] = [(solver.dynamics as DynamicsConfig).type, (solver.hypergradient as HypergradientConfig).type];
  if (solver.initAuxiliary) parts.push('initAuxiliary');
  if (solver.truncation !== undefined && solver.truncation !== 'none') parts.push('pessimistic truncation');
  if (solver.prior) parts.push('prior');
  return parts.join(' + ');
}

async function runCommand(term: Terminal, args: string[]): Promise<number> {
  const { values, positionals } = parseOptions('run', args, {
    out: { type: 'string' },
    iterations: { type: 'string' },
    device: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    resume: { type: 'boolean', default: false },
  });
  const configPath = onlyConfigArgument('run', positionals);
  const overrides = { iterations: parseIterationsOption(values.iterations), device: parseDeviceOption(values.device) };
  const { config, problem, solver } = loadConfigFile(configPath, overrides);
  const outDir = values.out ?? path.join('runs', path.basename(configPath, path.extname(configPath)));
  const quiet = values.quiet === true;
  return execute(term, { config, problem, solver }, outDir, quiet, values.resume === true);
}

/**
 * Up to `iterations` UL iterations, each record handed to onRecord: on a worker thread for native
 * problems (all the config problems), else stepped here, yielding to the event loop in between.
 */
async function advanceRun(run: SolverRun, iterations: number, onRecord: (record: IterationRecord) => void, signal: AbortSignal): Promise<number> {
  if (run.offThread) return run.advance(iterations, onRecord, signal);
  let done = 0;
  for (; done < iterations && !signal.aborted; done++) {
    onRecord(run.step());
    await yieldToEventLoop();
  }
  return done;
}

/** problem.metrics() at the run's current values (which cannot be read while a chunk runs). */
function evaluateMetrics(problem: Problem, run: SolverRun): TaskMetrics {
  const values = run.values();
  try {
    return problem.metrics(values);
  } finally {
    [...values.x, ...values.y, ...values.z].forEach((t) => t.dispose());
  }
}

/** The library's versions, as checkpoints record them. */
const runVersions = () => ({ bilevel: packageVersion(), libtorch: versions().libtorch });

/** The metrics.jsonl lines of iterations before `iteration` (those a resumed run keeps). */
function keptLines(file: string, iteration: number): MetricsLine[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as MetricsLine).filter((line) => line.iteration < iteration);
}

/** Where the next chunk ends: the next multiple of metricsEvery or checkpointEvery, or the end. */
function nextStop(done: number, total: number, periods: (number | undefined)[]): number {
  let stop = total;
  for (const period of periods) if (period !== undefined) stop = Math.min(stop, (Math.floor(done / period) + 1) * period);
  return stop;
}

/**
 * Runs a loaded config into outDir, writing metrics.jsonl as it goes and a checkpoint every
 * checkpointEvery iterations, at the end and when interrupted. Task metrics are evaluated every
 * metricsEvery iterations (default: at the end) and go on that iteration's record, which is
 * therefore written once its chunk ends. With resume, a checkpoint in outDir is checked against
 * the config and the library, and the run continues from it, keeping the metrics lines before it.
 */
async function runWithMetrics(
  { config, problem, solver }: LoadedRun, outDir: string, progress: Progress, signal: AbortSignal, resume: boolean,
): Promise<FinishedRun> {
  const tracksMetrics = hasTaskMetrics(config.problem);
  // Problems with a known optimum get the distance to it on ~100 records, for the report's chart.
  const distanceEvery = problem.optimum === undefined ? undefined : Math.max(1, Math.floor(config.iterations / 100));
  const checkpoint = path.join(outDir, CHECKPOINT_FILE);
  const metricsFile = path.join(outDir, 'metrics.jsonl');
  using run = solver.start(problem);
  const startAt = resume && fs.existsSync(checkpoint)
    ? verifyCheckpoint(run.load(checkpoint), config, runVersions(), checkpoint).iteration
    : 0;
  const records: IterationRecord[] = keptLines(metricsFile, startAt);
  const metrics = new MetricsLog(metricsFile, records);
  let pending: MetricsLine | undefined;
  let lastMetrics: TaskMetrics | undefined;
  const flush = () => {
    if (pending !== undefined) metrics.append(pending);
    pending = undefined;
  };
  const onRecord = (record: IterationRecord) => {
    flush();
    pending = record;
    records.push(record);
    progress.update(records.length, record);
  };
  const save = () => run.save(checkpoint, checkpointMeta(config, records.length, runVersions()));
  try {
    while (records.length < config.iterations && !signal.aborted) {
      const stop = nextStop(records.length, config.iterations,
        [tracksMetrics ? config.metricsEvery : undefined, config.checkpointEvery, distanceEvery]);
      const wanted = stop - records.length;
      const done = await advanceRun(run, wanted, onRecord, signal);
      const atEnd = done < wanted || records.length === config.iterations;
      if (tracksMetrics && pending !== undefined && (atEnd || records.length % (config.metricsEvery ?? config.iterations) === 0)) {
        lastMetrics = evaluateMetrics(problem, run);
        Object.assign(pending, { metrics: lastMetrics });
      }
      if (distanceEvery !== undefined && pending !== undefined && (atEnd || records.length % distanceEvery === 0)) {
        const { x, y, z } = run.values();
        [...y, ...z].forEach((t) => t.dispose());
        Object.assign(pending, { distanceToOptimum: relativeDistance(plainValues(x), problem.optimum!.x) });
      }
      flush();
      if (config.checkpointEvery !== undefined && records.length % config.checkpointEvery === 0) save();
      if (done < wanted) break;
    }
    save(); // the final state, also after an interruption
  } finally {
    flush();
    metrics.close();
  }
  if (tracksMetrics) lastMetrics ??= evaluateMetrics(problem, run);
  return { ...run.values(), records, aborted: records.length < config.iterations, metrics: lastMetrics };
}

/** Runs a loaded config into outDir (metrics.jsonl, checkpoint.bin, then result.json). */
async function runInto(loaded: LoadedRun, outDir: string, progress: Progress, signal: AbortSignal, resume = false): Promise<RunResultFile> {
  fs.mkdirSync(outDir, { recursive: true });
  // A result.json beside new metrics would describe another run.
  fs.rmSync(path.join(outDir, 'result.json'), { force: true });
  manualSeed(loaded.config.seed);
  const started = performance.now();
  let run: FinishedRun;
  try {
    run = await runWithMetrics(loaded, outDir, progress, signal, resume);
  } finally {
    progress.stop();
  }
  const result = resultFile(loaded.config, loaded.problem, run, (performance.now() - started) / 1000);
  writeFileAtomic(path.join(outDir, 'result.json'), `${readableJson(result)}\n`);
  await writeReport(outDir, `${loaded.config.problem.name}: ${describeSolver(loaded.config.solver)}`,
    [{ method: describeSolver(loaded.config.solver), points: run.records }]);
  return result;
}

/** The exit code of a run: 0, or 128 + the number of the signal that interrupted it. */
function exitCodeAfter(result: RunResultFile, signal: AbortSignal): number {
  const reason = signal.reason as NodeJS.Signals | undefined;
  return result.status === 'interrupted' && reason !== undefined ? 128 + os.constants.signals[reason] : EXIT.success;
}

/** Runs a loaded config into outDir; the exit code: 0, or 128 + the signal that stopped it. */
async function execute(term: Terminal, loaded: LoadedRun, outDir: string, quiet: boolean, resume: boolean): Promise<number> {
  const controller = new AbortController();
  const removeSignalHandlers = abortOnSignals(controller);
  try {
    const result = await runInto(loaded, outDir, createProgress(term, quiet, loaded.config.iterations), controller.signal, resume);
    if (!quiet) term.stdout.write(`${summaryLine(result, outDir)}\n`);
    return exitCodeAfter(result, controller.signal);
  } finally {
    removeSignalHandlers();
  }
}

// ---------------------------------------------------------------------------------------------
// compare

/** One method's line of compare.json. */
interface ComparedMethod {
  method: MethodName;
  label: string;
  status: RunResultFile['status'] | 'failed';
  /** The failure's message (status "failed"). */
  error?: string;
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
  versions: { bilevel: string; libtorch: string };
}

const readMetricsLines = (file: string): MetricsLine[] =>
  fs.readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as MetricsLine);

const mean = (values: number[]) => (values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length);

function comparedMethod(method: MethodName, config: RunConfig, result: RunResultFile, outDir: string): ComparedMethod {
  const records = readMetricsLines(path.join(outDir, 'metrics.jsonl'));
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

const failedMethod = (method: MethodName, config: RunConfig, error: string): ComparedMethod => ({
  method, label: methodPresets[method].label, status: 'failed', error, outDir: method, iterations: 0, upper: null,
  kBarLast: null, msPerIteration: null, peakBytes: null, distanceToOptimum: null, solver: config.solver,
});

/** The run config of each method: the base config with the method's solver, validated and checked like any config. */
function methodConfigs(base: RunConfig, methods: MethodName[]): Map<MethodName, RunConfig> {
  const shared = sharedSettings(base.solver);
  return new Map(methods.map((method) => {
    const config = validateRunConfig({ ...base, solver: presetSolver(method, shared) });
    checkSolver(config);
    return [method, config];
  }));
}

const cell = (value: number | null | undefined, digits = 6) =>
  (value === null || value === undefined ? '-' : formatNumber(Number(value.toPrecision(digits))));

/** The Markdown table: method, final F, Kbar, ms / iteration, peak MiB, then the task metrics or the distance to x*. */
function comparisonTable(methods: ComparedMethod[]): string {
  const metricNames = [...new Set(methods.flatMap((m) => Object.keys(m.metrics ?? {})))];
  const withDistance = methods.some((m) => m.distanceToOptimum !== null);
  const header = ['method', 'final F', 'Kbar (last)', 'ms / iteration', 'peak MiB', ...(withDistance ? ['\\|\\|x - x*\\|\\| / \\|\\|x*\\|\\|'] : []), ...metricNames];
  const rows = methods.map((m) => [
    m.status === 'completed' ? m.method : `${m.method} (${m.status})`,
    cell(m.upper), cell(m.kBarLast), cell(m.msPerIteration, 3), cell(m.peakBytes === null ? null : m.peakBytes / 2 ** 20, 3),
    ...(withDistance ? [cell(m.distanceToOptimum, 4)] : []),
    ...metricNames.map((name) => cell(m.metrics?.[name], 4)),
  ]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

async function compareCommand(term: Terminal, args: string[]): Promise<number> {
  const { values, positionals } = parseOptions('compare', args, {
    methods: { type: 'string' },
    out: { type: 'string' },
    iterations: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  });
  const configPath = onlyConfigArgument('compare', positionals);
  const methods = parseMethodsOption(values.methods);
  const overrides = { iterations: parseIterationsOption(values.iterations) };
  const text = readConfigFile(configPath);
  const base = asUsageErrors(() => parseRunConfig(text, configPath, overrides));
  const configs = asUsageErrors(() => methodConfigs(base, methods));
  const problem = asUsageErrors(() => createProblem(base, path.dirname(configPath)));
  const outDir = values.out ?? path.join('runs', `${path.basename(configPath, path.extname(configPath))}-compare`);
  const quiet = values.quiet === true;
  const controller = new AbortController();
  const removeSignalHandlers = abortOnSignals(controller);
  const compared: ComparedMethod[] = [];
  try {
    for (const [method, config] of configs) {
      if (controller.signal.aborted) break;
      compared.push(await compareOne(term, { method, config, problem }, path.join(outDir, method), quiet, controller.signal));
    }
  } finally {
    removeSignalHandlers();
  }
  const file: CompareFile = { config: base, methods: compared, versions: { bilevel: packageVersion(), libtorch: versions().libtorch } };
  fs.mkdirSync(outDir, { recursive: true });
  writeFileAtomic(path.join(outDir, 'compare.json'), `${readableJson(file)}\n`);
  const series = compared.filter((m) => m.status !== 'failed')
    .map((m) => ({ method: m.method, points: readMetricsLines(path.join(outDir, m.outDir, 'metrics.jsonl')) }));
  await writeReport(outDir, `${base.problem.name}: ${compared.map((m) => m.method).join(', ')}`, series);
  term.stdout.write(`${comparisonTable(compared)}\n`);
  const interrupted = compared.find((m) => m.status === 'interrupted');
  if (interrupted !== undefined) return 128 + os.constants.signals[controller.signal.reason as NodeJS.Signals];
  return compared.some((m) => m.status === 'failed') ? EXIT.failure : EXIT.success;
}

/** One method of a comparison into methodDir; a failure is reported and recorded, and the others go on. */
async function compareOne(
  term: Terminal, { method, config, problem }: { method: MethodName; config: RunConfig; problem: Problem },
  methodDir: string, quiet: boolean, signal: AbortSignal,
): Promise<ComparedMethod> {
  try {
    const solver = createSolver(config, problem);
    // A progress bar on a terminal; no periodic lines, which would interleave eight runs.
    const progress = quiet || !term.stdout.isTTY ? silentProgress : createProgress(term, false, config.iterations);
    const result = await runInto({ config, problem, solver }, methodDir, progress, signal);
    if (!quiet) term.stdout.write(`${method}: ${summaryLine(result, methodDir)}\n`);
    return comparedMethod(method, config, result, methodDir);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    printError(term, `${method}: ${message}`);
    return failedMethod(method, config, message);
  }
}

function summaryLine(result: RunResultFile, outDir: string): string {
  const what = result.status === 'completed' ? 'completed' : 'interrupted after';
  const distance = result.distanceToOptimum === null ? '' : `, ||x - x*|| / ||x*|| = ${formatNumber(result.distanceToOptimum)}`;
  const upper = result.upper === null ? '' : `: F = ${formatNumber(result.upper)}`;
  return `${what} ${result.iterations} iterations in ${result.wallTimeSeconds.toFixed(2)} s${upper}${distance}; outputs in ${outDir}`;
}

function validateCommand(term: Terminal, args: string[]): number {
  const { positionals } = parseOptions('validate', args, {});
  const configPath = onlyConfigArgument('validate', positionals);
  const { config } = loadConfigFile(configPath);
  term.stdout.write(
    `${configPath}: valid (${config.problem.name}, ${describeSolver(config.solver)}, ${config.iterations} iterations)\n`,
  );
  return EXIT.success;
}

function infoCommand(term: Terminal, args: string[]): number {
  const { values } = parseOptions('info', args, { json: { type: 'boolean', default: false } });
  const native = versions();
  const info = {
    bilevel: packageVersion(), libtorch: native.libtorch, cuda: native.cuda, threads: native.threads, napi: native.napi, build: native.build,
  };
  if (values.json) {
    term.stdout.write(`${JSON.stringify(info)}\n`);
  } else {
    term.stdout.write(
      `bilevel ${info.bilevel}\nlibtorch ${info.libtorch}\ncuda ${info.cuda ? 'available' : 'not available'}\n` +
        `threads ${info.threads}\nnapi ${info.napi}\n` +
        `build ${info.build.type}, ${info.build.compiler}, C++ ${info.build.cxx}, cxx11 ABI ${info.build.cxx11Abi ? 'on' : 'off'}, ${info.build.parallel}\n`,
    );
  }
  return EXIT.success;
}

/** Runs one command line (without `node cli.js`) and returns the exit code. */
export async function main(argv: string[], term: Terminal = processTerminal): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(term, args);
      case 'compare':
        return await compareCommand(term, args);
      case 'validate':
        return validateCommand(term, args);
      case 'info':
        return infoCommand(term, args);
      case 'help':
      case '--help':
      case '-h':
        term.stdout.write(`${USAGE}\n`);
        return EXIT.success;
      default: {
        const fault = command === undefined ? 'expected a command' : `unknown command ${JSON.stringify(command)}`;
        throw new UsageError(`${fault} (run, compare, validate or info; bilevel --help for usage)`);
      }
    }
  } catch (err) {
    printError(term, err instanceof Error ? err.message : String(err));
    return err instanceof UsageError ? EXIT.invalid : EXIT.failure;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
