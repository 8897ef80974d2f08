#!/usr/bin/env node
// The `bilevel` command: runs described by JSON config files (docs/config.md).
//   bilevel run CONFIG.json [--out DIR] [--iterations N] [--device cpu|cuda|cuda:N] [--resume | --force] [--quiet]
//   bilevel compare CONFIG.json --methods rhg,ait,... [--out DIR] [--iterations N] [--force] [--quiet]
//   bilevel validate CONFIG.json
//   bilevel info [--json]
//   bilevel --version
// stdout carries only results (summary lines, tables, JSON); progress and messages go to stderr.
// Exit codes: 0 success, 1 run failure, 2 invalid config or arguments, 128 + signal number when
// SIGINT / SIGTERM / SIGHUP stopped a run (its outputs are still complete and valid).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Value } from '@sinclair/typebox/value';
import { Presets, SingleBar } from 'cli-progress';
import { Align, getMarkdownTable } from 'markdown-table-ts';
import writeFileAtomic from 'write-file-atomic';
import { loadNative } from './binding';
import { BilevelError } from './errors';
import { versions } from './index';
import type { Problem } from './problem';
import {
  DeviceSchema, checkSolver, createProblem, createSolver, hasTaskMetrics, loadRunConfig, parseRunConfig, validateRunConfig,
  type LoadedRun, type RunConfig, type RunConfigOverrides,
} from './run-config';
import type { NativeVersions } from '../binding';
import type { IterationRecord, RunResult, SolverRun } from './solver';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { isMethodName, methodNames, methodPresets, presetSolver, sharedSettings, type MethodName } from './method-presets';
import { writeReport } from './report';
import { CHECKPOINT_FILE, checkpointMeta, verifyCheckpoint } from './run-checkpoint';
import { manualSeed, type NestedArray, type Tensor } from './tensor';

const EXIT = { success: 0, failure: 1, invalid: 2 } as const;

const USAGE = `usage:
  bilevel run CONFIG.json [--out DIR] [--iterations N] [--device cpu|cuda|cuda:N] [--resume | --force] [--quiet]
  bilevel compare CONFIG.json --methods ${methodNames.join(',')} [--out DIR] [--iterations N] [--force] [--quiet]
  bilevel validate CONFIG.json
  bilevel info [--json]
  bilevel --version
A non-empty --out folder is refused unless --resume continues the run there or --force replaces it.
The config format: docs/config.md; its JSON Schema: schema/bilevel-run.schema.json.`;

/** A refusal before any work: bad arguments or an invalid config (exit code 2). */
class UsageError extends Error {}

/** Where a command writes: the process's streams, or collectors in tests. */
export interface Terminal {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
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
 * Writes file so that a reader sees the old content or the new, never a part (write-file-atomic:
 * a temporary file beside it, fsync, rename), then fsyncs the folder so the rename survives a crash.
 */
function writeFileDurably(file: string, text: string): void {
  writeFileAtomic.sync(file, text);
  const folder = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(folder);
  } finally {
    fs.closeSync(folder);
  }
}

/**
 * mkdir -p, without fs.mkdirSync's `recursive`: where a parent exists but the folder still cannot
 * be made with ENOENT (e.g. under /proc), node retries the parent and the folder forever. Here a
 * folder is tried once, and once more after its parent was made.
 */
function makeFolder(folder: string, parentMade = false): void {
  try {
    fs.mkdirSync(folder);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && fs.statSync(folder).isDirectory()) return;
    if (code !== 'ENOENT' || parentMade) throw err;
    makeFolder(path.dirname(folder));
    makeFolder(folder, true);
  }
}

/** Makes an output folder; one that cannot be made is a run failure naming the folder and the reason. */
function makeOutputFolder(folder: string): void {
  try {
    makeFolder(folder);
  } catch (err) {
    // node's message is "CODE: reason, syscall 'path'": keep "CODE: reason".
    const reason = (err as Error).message.split(', ')[0];
    throw new BilevelError('IO', `${folder}: cannot create the output folder (${reason})`, err as Error);
  }
}

/** The files a run or a comparison writes, also under the temporary names they have while written. */
const OUTPUT_FILE = /^(?:checkpoint\.bin|metrics\.jsonl|result\.json|compare\.json|report\.html|[\w-]+\.svg)(?:\.partial|\.[0-9a-f]+)?$/;

/** Removes what a run or a comparison wrote into folder (a comparison's method folders too); other files stay. */
function clearOutputs(folder: string): void {
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    const entryPath = path.join(folder, entry.name);
    if (entry.isFile() && OUTPUT_FILE.test(entry.name)) {
      fs.rmSync(entryPath);
    } else if (entry.isDirectory() && isMethodName(entry.name)) {
      clearOutputs(entryPath);
      if (fs.readdirSync(entryPath).length === 0) fs.rmdirSync(entryPath);
    }
  }
}

/**
 * Makes the output folder of a run or a comparison. One with anything in it is refused (it holds
 * another run's outputs, or someone's files) unless `keep` (--resume continues the run there) or
 * `force` (the previous outputs are removed); `remedy` names the options the command has.
 */
function claimOutputFolder(folder: string, { keep, force, remedy }: { keep: boolean; force: boolean; remedy: string }): void {
  makeOutputFolder(folder);
  if (keep || fs.readdirSync(folder).length === 0) return;
  if (!force) throw new UsageError(`${folder}: the output folder is not empty; ${remedy}`);
  clearOutputs(folder);
}

/**
 * metrics.jsonl, appended as the run goes so it can be followed (tail -f). Each record is one
 * complete line written by one call, so every line a reader sees parses; fsync at the end.
 */
class MetricsLog {
  readonly #fd: number;

  /** Starts the file with `kept` (the lines a resumed run keeps), written atomically first. */
  constructor(file: string, kept: MetricsLine[] = []) {
    writeFileDurably(file, kept.map((line) => `${JSON.stringify(line)}\n`).join(''));
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

/** An error as result.json, compare.json and `info --json` record it. */
interface ErrorRecord {
  /** The BilevelError's code (e.g. NON_FINITE), else the system error's (e.g. ENOSPC) or the error's name. */
  code: string;
  message: string;
}

/** result.json's fields for any outcome: how far the run got. */
interface RunSummary {
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
  versions: { bilevel: string; libtorch: string };
}

/** result.json of a run that completed or was interrupted. */
type FinishedResultFile = { status: 'completed' | 'interrupted' } & RunSummary & {
  /** ||x - x*|| / ||x*|| over all UL variables, for problems with a known optimum. */
  distanceToOptimum: number | null;
  /** The task's metrics at the end; absent for problems without metrics (the toys). */
  metrics?: TaskMetrics;
  x: NestedArray[];
  y: NestedArray[];
  z: NestedArray[];
} & RunProvenance;

/** result.json of a run that failed: how far it got and why; no variables (they may be unusable). */
type FailedResultFile = { status: 'failed'; error: ErrorRecord } & RunSummary & RunProvenance;

/**
 * What a run has done: its iterations (on --resume, counted from the checkpoint's) and its
 * metrics.jsonl records (fewer than its iterations when lines were lost before a resume).
 */
interface RunHistory {
  iterations: number;
  records: MetricsLine[];
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

/** A finished (or interrupted) run: its final variables and the task's final metrics. */
interface FinishedRun extends Pick<RunResult, 'x' | 'y' | 'z'> {
  metrics?: TaskMetrics;
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

function finishedResult(
  config: RunConfig, problem: Problem, history: RunHistory, run: FinishedRun, wallTimeSeconds: number,
): FinishedResultFile {
  const x = plainValues(run.x);
  return {
    status: history.iterations < config.iterations ? 'interrupted' : 'completed',
    ...runSummary(history),
    distanceToOptimum: problem.optimum ? relativeDistance(x, problem.optimum.x) : null,
    ...(run.metrics === undefined ? {} : { metrics: run.metrics }),
    x,
    y: plainValues(run.y),
    z: plainValues(run.z),
    ...runProvenance(config, wallTimeSeconds),
  };
}

function errorRecord(err: unknown): ErrorRecord {
  if (err instanceof BilevelError) return { code: err.code, message: err.message };
  if (!(err instanceof Error)) return { code: 'Error', message: String(err) };
  return { code: (err as NodeJS.ErrnoException).code ?? err.name, message: err.message };
}

const failedResult = (config: RunConfig, history: RunHistory, err: unknown, wallTimeSeconds: number): FailedResultFile =>
  ({ status: 'failed', error: errorRecord(err), ...runSummary(history), ...runProvenance(config, wallTimeSeconds) });

/** A run that failed once it had started: its result.json (status "failed") says how far it got. */
class RunFailure extends Error {
  constructor(readonly result: FailedResultFile, cause: unknown) {
    super(result.error.message, { cause });
  }
}

const writeResultFile = (outDir: string, result: FinishedResultFile | FailedResultFile) =>
  writeFileDurably(path.join(outDir, 'result.json'), `${readableJson(result)}\n`);

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

/** A live bar (cli-progress) on a terminal; `label` starts it ("rhg: " in a comparison). */
function terminalProgress(total: number, stream: NodeJS.WritableStream, label: string): Progress {
  const bar = new SingleBar(
    {
      format: `${label}{bar} {value}/{total} | F {upper} | Kbar {kBar} | {rate} it/s | ETA {eta_formatted}`,
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

/** Without a terminal (a log file, CI): one plain line every 10% of the run, starting with `label`. */
function lineProgress(total: number, term: Terminal, label: string): Progress {
  const every = Math.max(1, Math.ceil(total / 10));
  const started = performance.now();
  return {
    update(done, record) {
      if (done % every !== 0 && done !== total) return;
      const { rate, etaSeconds } = pace(done, total, started);
      term.stderr.write(
        `${label}iteration ${done}/${total} (${Math.round((100 * done) / total)}%)  F ${formatNumber(record.upper)}  ` +
          `Kbar ${record.steps}  ${rate.toFixed(1)} it/s  ETA ${etaSeconds.toFixed(1)} s\n`,
      );
    },
    stop: () => undefined,
  };
}

const silentProgress: Progress = { update: () => undefined, stop: () => undefined };

/** Progress on stderr (stdout is for results): a bar on a terminal, plain lines otherwise. */
function createProgress(term: Terminal, quiet: boolean, total: number, label = ''): Progress {
  if (quiet) return silentProgress;
  // Only a real terminal stream reports isTTY.
  return term.stderr.isTTY ? terminalProgress(total, term.stderr as NodeJS.WritableStream, label) : lineProgress(total, term, label);
}

// ---------------------------------------------------------------------------------------------
// Commands

/** Ctrl-C, kill, and a closed terminal or SSH session. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * The first stop signal aborts the run between two UL iterations so the outputs stay valid; a
 * second one exits at once. Returns the function that removes the handlers.
 */
function abortOnSignals(controller: AbortController): () => void {
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(128 + os.constants.signals[signal]);
    controller.abort(signal);
  };
  STOP_SIGNALS.forEach((signal) => process.on(signal, handler));
  return () => STOP_SIGNALS.forEach((signal) => process.off(signal, handler));
}

/**
 * Loads the native addon for a command that needs it (all but --help, --version and info), so
 * that one that does not load is reported as such, not under the config path of the first native check.
 */
function needNativeAddon(): void {
  loadNative();
}

function describeSolver(solver: RunConfig['solver']): string {
  if (solver.type === 'bamm') return 'bamm';
  const parts: string[] = [solver.dynamics.type, solver.hypergradient.type];
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
    force: { type: 'boolean', default: false },
  });
  const configPath = onlyConfigArgument('run', positionals);
  const resume = values.resume === true;
  const force = values.force === true;
  if (resume && force) throw new UsageError('run: --resume continues the run in the output folder, --force replaces it: give one');
  const overrides = { iterations: parseIterationsOption(values.iterations), device: parseDeviceOption(values.device) };
  needNativeAddon();
  const loaded = loadConfigFile(configPath, overrides);
  const outDir = values.out ?? path.join('runs', path.basename(configPath, path.extname(configPath)));
  claimOutputFolder(outDir, { keep: resume, force, remedy: 'use --resume to continue the run there, or --force to replace it' });
  return execute(term, loaded, outDir, values.quiet === true, resume);
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

/** The library's versions, as checkpoints and result files record them. */
const runVersions = () => ({ bilevel: packageVersion(), libtorch: versions().libtorch });

const METRICS_FILE = 'metrics.jsonl';

/** The parseable lines of metrics.jsonl (a line cut short by a crash is not). */
function readMetricsLines(file: string): MetricsLine[] {
  return fs.readFileSync(file, 'utf8').split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as MetricsLine];
    } catch {
      return [];
    }
  });
}

/**
 * Where a resumed run starts: the checkpoint's iteration, which is the truth (it is fsynced;
 * metrics lines are not, so the last ones can be lost with the machine). The lines before it are
 * kept; lines missing among them are reported on stderr, not invented. Without a checkpoint the
 * run starts afresh.
 */
function resumePoint(term: Terminal, run: SolverRun, config: RunConfig, outDir: string): RunHistory {
  const checkpoint = path.join(outDir, CHECKPOINT_FILE);
  if (!fs.existsSync(checkpoint)) return { iterations: 0, records: [] };
  const { iteration } = verifyCheckpoint(run.load(checkpoint), config, runVersions(), checkpoint);
  const metricsFile = path.join(outDir, METRICS_FILE);
  const records = fs.existsSync(metricsFile) ? readMetricsLines(metricsFile).filter((line) => line.iteration < iteration) : [];
  const missing = iteration - records.length;
  if (missing > 0) {
    printError(term, `${metricsFile}: ${missing} of the ${iteration} lines before the checkpoint's iteration ${iteration} ` +
      'are missing (not on disk when the run stopped); they are lost, and the run continues from the checkpoint');
  }
  return { iterations: iteration, records };
}

/** Where the next chunk ends: the next multiple of metricsEvery or checkpointEvery, or the end. */
function nextStop(done: number, total: number, periods: (number | undefined)[]): number {
  let stop = total;
  for (const period of periods) if (period !== undefined) stop = Math.min(stop, (Math.floor(done / period) + 1) * period);
  return stop;
}

/**
 * Runs a started run on from `history` into outDir, appending to metrics.jsonl as it goes and
 * writing a checkpoint every checkpointEvery iterations, at the end and when interrupted. Task
 * metrics are evaluated every metricsEvery iterations (default: at the end) and go on that
 * iteration's record, which is therefore written once its chunk ends. `history` is kept up to date
 * so that a failure can still report how far the run got.
 */
async function runWithMetrics(
  { config, problem }: LoadedRun, run: SolverRun, history: RunHistory, outDir: string, progress: Progress, signal: AbortSignal,
): Promise<FinishedRun> {
  const tracksMetrics = hasTaskMetrics(config.problem);
  // Problems with a known optimum get the distance to it on ~100 records, for the report's chart.
  const distanceEvery = problem.optimum === undefined ? undefined : Math.max(1, Math.floor(config.iterations / 100));
  const checkpoint = path.join(outDir, CHECKPOINT_FILE);
  const metrics = new MetricsLog(path.join(outDir, METRICS_FILE), history.records);
  let pending: MetricsLine | undefined;
  let lastMetrics: TaskMetrics | undefined;
  const flush = () => {
    if (pending !== undefined) metrics.append(pending);
    pending = undefined;
  };
  const onRecord = (record: IterationRecord) => {
    flush();
    pending = record;
    history.records.push(record);
    history.iterations += 1;
    progress.update(history.iterations, record);
  };
  const save = () => run.save(checkpoint, checkpointMeta(config, history.iterations, runVersions()));
  try {
    while (history.iterations < config.iterations && !signal.aborted) {
      const stop = nextStop(history.iterations, config.iterations,
        [tracksMetrics ? config.metricsEvery : undefined, config.checkpointEvery, distanceEvery]);
      const wanted = stop - history.iterations;
      const done = await advanceRun(run, wanted, onRecord, signal);
      const atEnd = done < wanted || history.iterations === config.iterations;
      if (tracksMetrics && pending !== undefined && (atEnd || history.iterations % (config.metricsEvery ?? config.iterations) === 0)) {
        lastMetrics = evaluateMetrics(problem, run);
        Object.assign(pending, { metrics: lastMetrics });
      }
      if (distanceEvery !== undefined && pending !== undefined && (atEnd || history.iterations % distanceEvery === 0)) {
        const { x, y, z } = run.values();
        [...y, ...z].forEach((t) => t.dispose());
        Object.assign(pending, { distanceToOptimum: relativeDistance(plainValues(x), problem.optimum!.x) });
      }
      flush();
      if (config.checkpointEvery !== undefined && history.iterations % config.checkpointEvery === 0) save();
      if (done < wanted) break;
    }
    save(); // the final state, also after an interruption
  } finally {
    flush();
    metrics.close();
  }
  if (tracksMetrics) lastMetrics ??= evaluateMetrics(problem, run);
  return { ...run.values(), metrics: lastMetrics };
}

/**
 * Runs a loaded config into outDir (metrics.jsonl, checkpoint.bin, then result.json and the
 * report); with resume, on from the checkpoint there. A refused checkpoint leaves the folder as it
 * was; a run that fails still writes result.json (status "failed", the error) and rethrows.
 */
async function runInto(
  term: Terminal, loaded: LoadedRun, outDir: string, progress: Progress, signal: AbortSignal, resume = false,
): Promise<FinishedResultFile> {
  const { config, problem, solver } = loaded;
  makeOutputFolder(outDir);
  manualSeed(config.seed);
  using run = solver.start(problem);
  const history = resume ? resumePoint(term, run, config, outDir) : { iterations: 0, records: [] };
  // A result.json beside new metrics would describe another run.
  fs.rmSync(path.join(outDir, 'result.json'), { force: true });
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  let finished: FinishedRun;
  try {
    finished = await runWithMetrics(loaded, run, history, outDir, progress, signal);
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
    series: [{ method, status: result.status, points: history.records }],
  });
  return result;
}

/** The exit code of a run: 0, or 128 + the number of the signal that interrupted it. */
function exitCodeAfter(result: FinishedResultFile, signal: AbortSignal): number {
  const reason = signal.reason as NodeJS.Signals | undefined;
  return result.status === 'interrupted' && reason !== undefined ? 128 + os.constants.signals[reason] : EXIT.success;
}

/** Runs a loaded config into outDir; the exit code: 0, or 128 + the signal that stopped it. */
async function execute(term: Terminal, loaded: LoadedRun, outDir: string, quiet: boolean, resume: boolean): Promise<number> {
  const controller = new AbortController();
  const removeSignalHandlers = abortOnSignals(controller);
  try {
    const progress = createProgress(term, quiet, loaded.config.iterations);
    const result = await runInto(term, loaded, outDir, progress, controller.signal, resume);
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
  versions: { bilevel: string; libtorch: string };
}

const mean = (values: number[]) => (values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length);

function comparedMethod(method: MethodName, config: RunConfig, result: FinishedResultFile, outDir: string): ComparedMethod {
  const records = readMetricsLines(path.join(outDir, METRICS_FILE));
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
  // markdown-table-ts does not escape cells: the pipes of the norm are escaped here.
  const head = ['method', 'final F', 'Kbar (last)', 'ms / iteration', 'peak MiB', ...(withDistance ? ['\\|\\|x - x*\\|\\| / \\|\\|x*\\|\\|'] : []), ...metricNames];
  const body = methods.map((m) => [
    m.status === 'completed' ? m.method : `${m.method} (${m.status})`,
    cell(m.upper), cell(m.kBarLast), cell(m.msPerIteration, 3), cell(m.peakBytes === null ? null : m.peakBytes / 2 ** 20, 3),
    ...(withDistance ? [cell(m.distanceToOptimum, 4)] : []),
    ...metricNames.map((name) => cell(m.metrics?.[name], 4)),
  ]);
  return getMarkdownTable({ table: { head, body }, alignment: head.map((_, i) => (i === 0 ? Align.Left : Align.Right)) });
}

async function compareCommand(term: Terminal, args: string[]): Promise<number> {
  const { values, positionals } = parseOptions('compare', args, {
    methods: { type: 'string' },
    out: { type: 'string' },
    iterations: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
  });
  const configPath = onlyConfigArgument('compare', positionals);
  const methods = parseMethodsOption(values.methods);
  const overrides = { iterations: parseIterationsOption(values.iterations) };
  needNativeAddon();
  const text = readConfigFile(configPath);
  const base = asUsageErrors(() => parseRunConfig(text, configPath, overrides));
  const configs = asUsageErrors(() => methodConfigs(base, methods));
  const problem = asUsageErrors(() => createProblem(base, path.dirname(configPath)));
  const outDir = values.out ?? path.join('runs', `${path.basename(configPath, path.extname(configPath))}-compare`);
  claimOutputFolder(outDir, { keep: false, force: values.force === true, remedy: 'use --force to replace it' });
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
  const file: CompareFile = { config: base, methods: compared, versions: runVersions() };
  writeFileDurably(path.join(outDir, 'compare.json'), `${readableJson(file)}\n`);
  const series = compared.map((m) => {
    const metricsFile = path.join(outDir, m.outDir, METRICS_FILE);
    const points = fs.existsSync(metricsFile) ? readMetricsLines(metricsFile) : [];
    return { method: m.method, status: m.status, error: m.error?.message, points, solver: m.solver };
  });
  await writeReport(outDir, {
    title: `${base.problem.name}: ${compared.map((m) => m.method).join(', ')}`, config: base, seed: base.seed, versions: runVersions(), series,
  });
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
    const progress = createProgress(term, quiet, config.iterations, `${method}: `);
    const result = await runInto(term, { config, problem, solver }, methodDir, progress, signal);
    if (!quiet) term.stdout.write(`${method}: ${summaryLine(result, methodDir)}\n`);
    return comparedMethod(method, config, result, methodDir);
  } catch (err) {
    const failure = err instanceof RunFailure ? err.result : { error: errorRecord(err) };
    printError(term, `${method}: ${failure.error.message}`);
    return failedMethod(method, config, failure);
  }
}

function summaryLine(result: FinishedResultFile, outDir: string): string {
  const what = result.status === 'completed' ? 'completed' : 'interrupted after';
  const distance = result.distanceToOptimum === null ? '' : `, ||x - x*|| / ||x*|| = ${formatNumber(result.distanceToOptimum)}`;
  const upper = result.upper === null ? '' : `: F = ${formatNumber(result.upper)}`;
  return `${what} ${result.iterations} iterations in ${result.wallTimeSeconds.toFixed(2)} s${upper}${distance}; outputs in ${outDir}`;
}

/**
 * The schema is checked in TypeScript; the solver's combination check and the problem (its sizes,
 * its data files) are the native core's, so without a loadable addon validate says what it could
 * not check (on stderr) and still exits 0 for a config valid against the schema.
 */
function validateCommand(term: Terminal, args: string[]): number {
  const { positionals } = parseOptions('validate', args, {});
  const configPath = onlyConfigArgument('validate', positionals);
  const text = readConfigFile(configPath);
  const parsed = asUsageErrors(() => parseRunConfig(text, configPath));
  const summary = `${parsed.problem.name}, ${describeSolver(parsed.solver)}, ${parsed.iterations} iterations`;
  try {
    loadNative();
  } catch {
    term.stdout.write(`${configPath}: valid against the schema (${summary})\n`);
    printError(term, 'bilevel: not checked: the solver combination and the problem, which need the native addon '
      + '(it could not be loaded; bilevel info says why and how to fix it)');
    return EXIT.success;
  }
  loadConfigFile(configPath);
  term.stdout.write(`${configPath}: valid (${summary})\n`);
  return EXIT.success;
}

function infoCommand(term: Terminal, args: string[]): number {
  const { values } = parseOptions('info', args, { json: { type: 'boolean', default: false } });
  const bilevel = packageVersion();
  let native: NativeVersions;
  try {
    native = versions();
  } catch (err) {
    // Where a user looks when the addon does not load: its whole message, with the fixes.
    const error = errorRecord(err);
    if (values.json) term.stdout.write(`${JSON.stringify({ bilevel, error })}\n`);
    else term.stdout.write(`bilevel ${bilevel}\n`);
    term.stderr.write(`${error.message}\n`);
    return EXIT.failure;
  }
  const info = {
    bilevel, libtorch: native.libtorch, cuda: native.cuda, threads: native.threads, napi: native.napi, build: native.build,
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
      case '--version':
      case '-V':
        term.stdout.write(`${packageVersion()}\n`);
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
  // After a hangup the terminal is gone and writes to it fail (EIO; EPIPE for a closed pipe): the
  // run must still finish its outputs and exit with 128 + SIGHUP, not die of an unhandled error.
  [process.stdout, process.stderr].forEach((stream) => stream.on('error', () => undefined));
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
