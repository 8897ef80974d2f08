// A sweep of architecture searches (docs/algorithms.md §14.8): every method with every seed, each
// search a `bilevel nas search` process of its own, at most `concurrency` at once, each on a device
// of `devices` in turn. sweep.json, the manifest, is rewritten atomically at each change, so a
// sweep stopped or killed at any point continues where it was: finished searches are kept, the
// others resume from their checkpoints. At the end: summary.json (mean and std over the seeds per
// method, the genotypes, skip connections) and report.html over every search. With shortRetrain,
// each search's genotype is then retrained briefly (a `bilevel nas retrain` process, resumable the
// same way) and each method's architecture is selected by the held-out accuracy, as DARTS advises.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { LIMITS, validate } from '../config';
import { makeOutputFolder, writeFileDurably } from '../engine/output-folder';
import { METRICS_FILE, readMetricsLines } from '../engine/metrics-log';
import { readResultFile, readableJson } from '../engine/result';
import { runVersions } from '../engine/versions';
import { BilevelError } from '../errors';
import { writeReport } from '../report';
import { DeviceSchema } from '../run-config';
import type { Device } from '../tensor';
import type { NasMetrics, NasSolution } from '../tasks/nas';
import { NasRetrainSchema, type NasRetrainMetrics } from '../tasks/nas-retrain';
import { NasRetrainRunSchema, type NasRetrainSettings } from './retrain';
import { evaluationNetworkSize, type Genotype } from './genotype';
import { NasMethodSchema, NasSearchSchema, type NasMethod, type NasSearchSettings } from './search';

const SearchSettingsSchema = Type.Omit(NasSearchSchema, ['method', 'device', '$schema']);

/** The short retraining that selects each method's architecture; dataset, root and seed are the search's. */
const ShortRetrainSchema = Type.Object({
  epochs: Type.Integer({ minimum: 1, maximum: LIMITS.upperIterations, description: 'epochs of each short retraining' }),
  task: Type.Omit(NasRetrainSchema, ['dataset', 'root', 'genotype', 'seed', 'epochs']),
  lr: NasRetrainRunSchema.properties.lr,
  momentum: NasRetrainRunSchema.properties.momentum,
  weightDecay: NasRetrainRunSchema.properties.weightDecay,
  gradientClip: NasRetrainRunSchema.properties.gradientClip,
}, { additionalProperties: false });

/** What a sweep runs, declared once: nas.sweep validates against it, `bilevel nas sweep` reads it from a file. */
export const NasSweepSchema = Type.Object({
  $schema: Type.Optional(Type.String({ description: 'the JSON Schema of this file, for editors; ignored' })),
  methods: Type.Array(NasMethodSchema, { minItems: 1, uniqueItems: true }),
  seeds: Type.Array(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), { minItems: 1, uniqueItems: true }),
  /** Searches at once; each gets an equal share of the CPU threads. */
  concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, default: 1 })),
  /** The devices the searches take in turn (one search per device at a time on GPUs: concurrency <= devices). */
  devices: Type.Optional(Type.Array(DeviceSchema, { minItems: 1, default: ['cpu'] })),
  /** Every search's settings but the method and the seed (task.seed is each run's seed). */
  search: Type.Optional(SearchSettingsSchema),
  /** Retrain each search's genotype briefly and select each method's by the held-out accuracy (task.validationSize >= 1). */
  shortRetrain: Type.Optional(ShortRetrainSchema),
}, { additionalProperties: false });
export type NasSweepSettings = Static<typeof NasSweepSchema>;

export type SweepRunStatus = 'pending' | 'running' | 'completed' | 'interrupted' | 'failed';

/** One search of the sweep, as the manifest keeps it. */
export interface SweepRun {
  name: string;
  method: NasMethod;
  seed: number;
  status: SweepRunStatus;
  /** The search process while it runs (a continued sweep waits for one still alive). */
  pid?: number;
  /** Why it failed: the end of its error output. */
  error?: string;
  /** The short retraining of its genotype, with shortRetrain. */
  retrain?: { status: SweepRunStatus; pid?: number; error?: string };
}

interface Manifest {
  settings: NasSweepSettings;
  runs: SweepRun[];
}

export interface NasSweepOptions extends NasSweepSettings {
  /** The sweep's folder: sweep.json, runs/NAME.json and runs/NAME/, summary.json, report.html. */
  out: string;
  /** Stops the sweep: running searches are stopped (checkpointed) and the manifest says so. */
  signal?: AbortSignal;
  /** Each search's start and end. */
  onRun?: (run: SweepRun, manifest: readonly SweepRun[]) => void;
}

/** Mean and sample standard deviation over the seeds. */
export interface Spread { mean: number; std: number }

export interface MethodSummary {
  method: NasMethod;
  /** Searches that completed (failed ones are not in the statistics). */
  runs: number;
  testAccuracy: Spread;
  validationAccuracy: Spread;
  normalSkipConnections: Spread;
  /** Each genotype's evaluation network at DARTS's size (C = 36, 20 cells, 10 classes; the data's image channels), without its auxiliary head. */
  parameters: Spread;
  genotypes: {
    seed: number; genotype: Genotype; testAccuracy: number; parameters: number;
    /** Its short retraining's final metrics, with shortRetrain. */
    shortRetrain?: NasRetrainMetrics;
  }[];
  /** With shortRetrain: the seed whose genotype retrained to the best held-out accuracy (the first of ties). */
  selected?: { seed: number; genotype: Genotype; validationAccuracy: number; testAccuracy: number };
}

export interface NasSweepSummary {
  methods: MethodSummary[];
  failed: string[];
}

const MANIFEST = 'sweep.json';
const runName = (method: NasMethod, seed: number) => `${method}-seed${seed}`;
const retrainName = (run: SweepRun) => `${run.name}-retrain`;

function spread(values: number[]): Spread {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const variance = values.length < 2 ? 0 : values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance) };
}

function writeManifest(out: string, manifest: Manifest): void {
  writeFileDurably(path.join(out, MANIFEST), `${readableJson(manifest)}\n`);
}

/** The folder's manifest, or a new one; a manifest of other settings is refused (another sweep's folder). */
function openManifest(out: string, settings: NasSweepSettings): Manifest {
  const file = path.join(out, MANIFEST);
  if (!fs.existsSync(file)) {
    if (fs.readdirSync(out).length > 0) throw new BilevelError('INVALID_ARGUMENT', `${out}: not empty and holds no sweep (${MANIFEST})`);
    const runs = settings.methods.flatMap((method) => settings.seeds.map((seed): SweepRun => ({ name: runName(method, seed), method, seed, status: 'pending' })));
    return { settings, runs };
  }
  const kept = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  if (JSON.stringify(kept.settings) !== JSON.stringify(settings)) {
    throw new BilevelError('INVALID_ARGUMENT', `${file}: the sweep there has other settings; continue it with the same ones, or use another folder`);
  }
  return kept;
}

const isAlive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Resolves when the process is gone (a search left running by a sweep that was killed). */
async function gone(pid: number): Promise<void> {
  while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 200));
}

/** The command that runs the CLI: its compiled JavaScript, or its TypeScript source through tsx. */
function cliCommand(): string[] {
  const source = path.extname(__filename);
  const cli = path.join(__dirname, '..', `cli${source}`);
  return source === '.ts' ? ['--import', pathToFileURL(require.resolve('tsx')).href, cli] : [cli];
}

/** Runs one `bilevel nas search | retrain` process; resolves with its status and, for a failure, the end of its errors. */
function runCli(command: 'search' | 'retrain', args: string[], threads: number, signal: AbortSignal, started: (pid: number) => void): Promise<{ status: SweepRunStatus; error?: string }> {
  const child = spawn(process.execPath, [...cliCommand(), 'nas', command, ...args, '--quiet'], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: String(threads) },
  });
  if (child.pid !== undefined) started(child.pid);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const stop = () => child.kill('SIGTERM');
  signal.addEventListener('abort', stop, { once: true });
  return new Promise((resolve) => {
    child.on('close', (code, killedBy) => {
      signal.removeEventListener('abort', stop);
      if (code === 0) resolve({ status: 'completed' });
      else if (signal.aborted) resolve({ status: 'interrupted' });
      else resolve({ status: 'failed', error: stderr.trim() || `exit ${code ?? killedBy}` });
    });
  });
}

/** The summary of the completed searches, per method in the sweep's order. */
function summarize(out: string, manifest: Manifest): NasSweepSummary {
  const inChannels = (manifest.settings.search?.task?.dataset ?? 'fashion-mnist') === 'fashion-mnist' ? 1 : 3;
  const methods = manifest.settings.methods.map((method): MethodSummary => {
    const finals = manifest.runs.filter((r) => r.method === method && r.status === 'completed').map((r) => {
      const result = readResultFile(path.join(out, 'runs', r.name));
      if (result.status === 'failed') throw new BilevelError('INVALID_ARGUMENT', `${r.name}: its result.json says it failed`);
      const genotype = (result.solution as NasSolution).genotype;
      const retrained = r.retrain?.status === 'completed' ? readResultFile(path.join(out, 'runs', retrainName(r))) : undefined;
      const shortRetrain = retrained?.status === 'failed' ? undefined : retrained?.metrics as NasRetrainMetrics | undefined;
      return { seed: r.seed, metrics: result.metrics as NasMetrics, genotype, parameters: evaluationNetworkSize(genotype, { inChannels }), shortRetrain };
    });
    const ranked = finals.filter((f) => f.shortRetrain?.validationAccuracy !== undefined)
      .sort((a, b) => b.shortRetrain!.validationAccuracy! - a.shortRetrain!.validationAccuracy!);
    const best = ranked[0];
    return {
      method,
      runs: finals.length,
      testAccuracy: spread(finals.map((f) => f.metrics.testAccuracy)),
      validationAccuracy: spread(finals.map((f) => f.metrics.validationAccuracy)),
      normalSkipConnections: spread(finals.map((f) => f.metrics.normalSkipConnections)),
      parameters: spread(finals.map((f) => f.parameters)),
      genotypes: finals.map((f) => ({
        seed: f.seed, genotype: f.genotype, testAccuracy: f.metrics.testAccuracy, parameters: f.parameters,
        ...(f.shortRetrain === undefined ? {} : { shortRetrain: f.shortRetrain }),
      })),
      ...(best === undefined ? {} : {
        selected: { seed: best.seed, genotype: best.genotype, validationAccuracy: best.shortRetrain!.validationAccuracy!, testAccuracy: best.shortRetrain!.testAccuracy },
      }),
    };
  });
  return { methods, failed: manifest.runs.filter((r) => r.status === 'failed').map((r) => r.name) };
}

async function writeSweepReport(out: string, manifest: Manifest): Promise<void> {
  const series = manifest.runs.filter((r) => r.status === 'completed').map((r) => ({
    method: r.name, status: 'completed' as const, points: readMetricsLines(path.join(out, 'runs', r.name, METRICS_FILE)),
  }));
  await writeReport(out, { title: `nas sweep: ${manifest.settings.methods.join(', ')}`, config: manifest.settings, seed: manifest.settings.seeds[0], versions: runVersions(), series });
}

/**
 * Runs (or continues) a sweep in `out`; resolves with the summary of its completed searches once
 * every search has ended or the signal stopped the sweep.
 */
export async function sweep(options: NasSweepOptions): Promise<NasSweepSummary & { stopped: boolean }> {
  const { out, signal = new AbortController().signal, onRun = () => undefined, ...given } = options;
  const { $schema: _editorsOnly, ...settings } = validate(NasSweepSchema, given, 'nas.sweep');
  const retrainsToo = settings.shortRetrain !== undefined;
  if (retrainsToo && !(settings.shortRetrain!.task.validationSize! >= 1)) {
    throw new BilevelError('INVALID_ARGUMENT', 'nas.sweep.shortRetrain.task.validationSize: the short retraining selects by held-out accuracy; give it >= 1');
  }
  makeOutputFolder(out);
  const manifest = openManifest(out, settings);
  const runsDir = path.join(out, 'runs');
  fs.mkdirSync(runsDir, { recursive: true });
  writeManifest(out, manifest);
  const devices = settings.devices ?? ['cpu'];
  const concurrency = settings.concurrency ?? 1;
  const threads = Math.max(1, Math.floor(os.cpus().length / concurrency));
  const queue = manifest.runs.filter((r) => r.status !== 'completed' || (retrainsToo && r.retrain?.status !== 'completed'));
  const update = (run: SweepRun, change: Partial<SweepRun>) => {
    Object.assign(run, change);
    writeManifest(out, manifest);
    onRun(run, manifest.runs);
  };
  /** One stage of a run as a CLI process: its settings file written once, resumed from its checkpoint. */
  const stage = async (command: 'search' | 'retrain', name: string, stageSettings: object, extra: string[], started: (pid: number) => void) => {
    const file = path.join(runsDir, `${name}.json`);
    if (!fs.existsSync(file)) writeFileDurably(file, `${readableJson(stageSettings)}\n`);
    const runDir = path.join(runsDir, name);
    // A run that wrote a checkpoint continues from it; one that did not starts over.
    const resume = fs.existsSync(path.join(runDir, 'checkpoint.bin'));
    return runCli(command, [file, ...extra, '--out', runDir, resume ? '--resume' : '--force'], threads, signal, started);
  };
  const worker = async (slot: number) => {
    for (let run = queue.shift(); run !== undefined && !signal.aborted; run = queue.shift()) {
      const device = devices[slot % devices.length] as Device;
      const current = run;
      if (run.status !== 'completed') {
        if (run.status === 'running' && run.pid !== undefined) await gone(run.pid);
        const search: NasSearchSettings = { ...settings.search, task: { ...settings.search?.task, seed: run.seed }, method: run.method, device };
        const ended = await stage('search', run.name, search, [], (pid) => update(current, { status: 'running', pid, error: undefined }));
        update(run, { ...ended, pid: undefined });
      }
      if (!retrainsToo || run.status !== 'completed' || signal.aborted) continue;
      if (run.retrain?.status === 'running' && run.retrain.pid !== undefined) await gone(run.retrain.pid);
      const { task, ...training } = settings.shortRetrain!;
      const searchTask = settings.search?.task ?? {};
      const retrain = {
        ...training, device,
        task: { ...task, seed: run.seed, ...(searchTask.dataset === undefined ? {} : { dataset: searchTask.dataset }), ...(searchTask.root === undefined ? {} : { root: searchTask.root }) },
      } as Omit<NasRetrainSettings, 'task'> & { task: object };
      const genotype = ['--genotype', path.join(runsDir, run.name, 'genotype.json')];
      const ended = await stage('retrain', retrainName(run), retrain, genotype, (pid) => update(current, { retrain: { status: 'running', pid } }));
      update(run, { retrain: ended });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, queue.length)) }, (_, slot) => worker(slot)));
  const summary = summarize(out, manifest);
  writeFileDurably(path.join(out, 'summary.json'), `${readableJson(summary)}\n`);
  await writeSweepReport(out, manifest);
  return { ...summary, stopped: signal.aborted };
}
