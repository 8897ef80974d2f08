#!/usr/bin/env node
// The `bilevel` command: runs described by JSON config files (docs/config.md).
//   bilevel run CONFIG.json [--out DIR] [--iterations N] [--device cpu|cuda|cuda:N] [--quiet]
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
import { DeviceSchema, loadRunConfig, type LoadedRun, type RunConfig, type RunConfigOverrides } from './run-config';
import type { IterationRecord, RunResult } from './solver';
import { manualSeed, type NestedArray, type Tensor } from './tensor';

const EXIT = { success: 0, failure: 1, invalid: 2 } as const;

const USAGE = `usage:
  bilevel run CONFIG.json [--out DIR] [--iterations N] [--device cpu|cuda|cuda:N] [--quiet]
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

/** Reads and loads a config; its refusals exit with 2, a missing device or a native failure with 1. */
function loadConfigFile(file: string, overrides: RunConfigOverrides = {}): LoadedRun {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: cannot read the config (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return loadRunConfig(text, file, overrides);
  } catch (err) {
    if (err instanceof BilevelError && err.code === 'INVALID_ARGUMENT') throw new UsageError(err.message);
    throw err;
  }
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

  constructor(file: string) {
    this.#fd = fs.openSync(file, 'w');
  }

  append(record: IterationRecord): void {
    fs.writeSync(this.#fd, `${JSON.stringify(record)}\n`);
  }

  close(): void {
    fs.fsyncSync(this.#fd);
    fs.closeSync(this.#fd);
  }
}

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

function resultFile(config: RunConfig, problem: Problem, run: RunResult, wallTimeSeconds: number): RunResultFile {
  const last = run.records.at(-1);
  const x = plainValues(run.x);
  return {
    status: run.aborted ? 'interrupted' : 'completed',
    iterations: run.records.length,
    upper: last?.upper ?? null,
    lower: last?.lower ?? null,
    kBar: summarizeKBar(run.records),
    distanceToOptimum: problem.optimum ? relativeDistance(x, problem.optimum.x) : null,
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
  });
  const configPath = onlyConfigArgument('run', positionals);
  const overrides = { iterations: parseIterationsOption(values.iterations), device: parseDeviceOption(values.device) };
  const { config, problem, solver } = loadConfigFile(configPath, overrides);
  const outDir = values.out ?? path.join('runs', path.basename(configPath, path.extname(configPath)));
  const quiet = values.quiet === true;
  if (config.checkpointEvery !== undefined && !quiet) {
    printError(term, 'checkpointEvery: accepted, but this version writes no checkpoints yet');
  }
  return execute(term, { config, problem, solver }, outDir, quiet);
}

/** Runs a loaded config into outDir; the exit code: 0, or 128 + the signal that stopped it. */
async function execute(term: Terminal, { config, problem, solver }: LoadedRun, outDir: string, quiet: boolean): Promise<number> {
  fs.mkdirSync(outDir, { recursive: true });
  // A result.json beside new metrics would describe another run.
  fs.rmSync(path.join(outDir, 'result.json'), { force: true });
  const metrics = new MetricsLog(path.join(outDir, 'metrics.jsonl'));
  const progress = createProgress(term, quiet, config.iterations);
  const controller = new AbortController();
  const removeSignalHandlers = abortOnSignals(controller);
  manualSeed(config.seed);
  const started = performance.now();
  let run: RunResult;
  try {
    let done = 0;
    run = await solver.run(problem, {
      iterations: config.iterations,
      signal: controller.signal,
      onIteration: (record) => {
        metrics.append(record);
        progress.update(++done, record);
      },
    });
  } finally {
    progress.stop();
    metrics.close();
    removeSignalHandlers();
  }
  const wallTimeSeconds = (performance.now() - started) / 1000;
  const result = resultFile(config, problem, run, wallTimeSeconds);
  writeFileAtomic(path.join(outDir, 'result.json'), `${readableJson(result)}\n`);
  if (!quiet) term.stdout.write(`${summaryLine(result, outDir)}\n`);
  const signal = controller.signal.reason as NodeJS.Signals | undefined;
  return run.aborted && signal !== undefined ? 128 + os.constants.signals[signal] : EXIT.success;
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
  const info = { bilevel: packageVersion(), libtorch: native.libtorch, cuda: native.cuda, threads: native.threads, napi: native.napi };
  if (values.json) {
    term.stdout.write(`${JSON.stringify(info)}\n`);
  } else {
    term.stdout.write(
      `bilevel ${info.bilevel}\nlibtorch ${info.libtorch}\ncuda ${info.cuda ? 'available' : 'not available'}\n` +
        `threads ${info.threads}\nnapi ${info.napi}\n`,
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
        throw new UsageError(`${fault} (run, validate or info; bilevel --help for usage)`);
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
