// npm run bench:hyper-cleaning -- --paper [--iterations T] [--steps K] [--seeds 0,1,2] [--jobs N] [--out DIR]
// Table 2's protocol of the AIT paper: linear LL on MNIST and Fashion-MNIST, K = 100 gd steps,
// T = 3000 UL iterations, x by Adam lr 0.01, y (and z) by gd / sgd lr 0.03, every method of
// `bilevel compare`, the baselines (no IA) both from the fixed start y_0 = 0 and warm-started,
// 3 seeds. Each run is `bilevel run` in its own folder under DIR (default runs/paper),
// checkpointed every 100 iterations: running the command again resumes unfinished runs. Runs go in
// parallel, one per core, each on one LibTorch thread, seed 0 of every method first. Each finished
// run is appended to bench/results/hyper-cleaning-paper.jsonl, which is committed: the protocol
// takes about 40 core-hours, more than one machine's session, and a recorded run is never redone.
// After each run the table (mean over the seeds recorded) goes into docs/hyper-cleaning.md beside
// the published rows, saying how many runs are still missing.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { methodConfig } from '../lib/engine/compare';
import { methodPresets, methodsFor, type MethodName } from '../lib/method-presets';
import { validateRunConfig, type RunConfig } from '../lib/run-config';
import { appendResult, machinesOf, readResults, resultsFile, type Provenance } from './results-file';

const LOWER_LR = 0.03; // the authors' step for y (and z)
const UPPER_LR = 0.01; // the authors' Adam step for x
const DATASETS = ['mnist', 'fashion-mnist'] as const;
// Table 2 of the paper (linear LL), MNIST: accuracy / F1. It has no Fashion-MNIST column.
const PUBLISHED: Partial<Record<MethodName, string>> = {
  cg: '89.12 / 87.51', neumann: '88.90 / 89.90', rhg: '88.96 / 90.49', bda: '88.55 / 90.99', ait: '89.58 / 91.35', aitp: '89.63 / 91.98',
};

interface Protocol { T: number; K: number; seeds: number[]; jobs: number; out: string }
type Start = 'fixed' | 'warm' | 'ia';
interface PaperRun { dataset: string; method: MethodName; start: Start; seed: number; dir: string; config: RunConfig }
/** One finished run as the results file keeps it. */
type RunRecord = {
  dataset: string; method: MethodName; start: Start; seed: number; K: number; T: number;
  testAccuracy: number; f1: number; wallTimeSeconds: number;
} & Provenance;
const RESULTS_FILE = resultsFile('hyper-cleaning-paper.jsonl');

function protocolFromArguments(): Protocol {
  const { values } = parseArgs({
    args: process.argv.slice(2), allowPositionals: true, strict: false,
    options: { iterations: { type: 'string' }, steps: { type: 'string' }, seeds: { type: 'string' }, jobs: { type: 'string' }, out: { type: 'string' } },
  });
  const integer = (text: unknown, fallback: number) => (typeof text === 'string' ? Number.parseInt(text, 10) : fallback);
  return {
    T: integer(values.iterations, 3000),
    K: integer(values.steps, 100),
    seeds: typeof values.seeds === 'string' ? values.seeds.split(',').map(Number) : [0, 1, 2],
    jobs: integer(values.jobs, os.availableParallelism()),
    out: typeof values.out === 'string' ? values.out : path.join('runs', 'paper'),
  };
}

/**
 * Every run of the protocol with its config, seed by seed (one seed of every method comes first);
 * AIT keeps accelerated dynamics of the same step (L = 1 / (2 lr)).
 */
function paperRuns(p: Protocol): PaperRun[] {
  return p.seeds.flatMap((seed) => DATASETS.flatMap((dataset) => methodsFor('hyper-cleaning').flatMap((method) => {
    const dynamics = method === 'ait'
      ? { type: 'accelerated', lipschitz: 1 / (2 * LOWER_LR), steps: p.K }
      : { type: 'gd', lr: LOWER_LR, steps: p.K };
    const base = validateRunConfig({
      problem: { name: 'hyper-cleaning', dataset, model: 'linear' },
      solver: { dynamics, hypergradient: { type: 'reverse' }, upper: { optimizer: 'adam', lr: UPPER_LR }, prior: { weight: 1, iterations: 1 } },
      iterations: p.T, seed, dtype: 'float32', checkpointEvery: Math.min(100, p.T), metricsEvery: p.T,
      priorAnchor: { pretrainSteps: 50, lr: LOWER_LR },
    });
    const config = methodConfig(base, method);
    const { solver: methodSolver } = config;
    const withIa = methodSolver.type !== 'bamm' && methodSolver.type !== 'training' && methodSolver.initAuxiliary !== false && methodSolver.initAuxiliary !== undefined;
    const starts = withIa ? (['ia'] as const) : (['fixed', 'warm'] as const);
    return starts.map((start) => {
      const solver = start === 'ia' || methodSolver.type === 'bamm' || methodSolver.type === 'training' ? methodSolver : { ...methodSolver, lowerStart: start };
      return { dataset, method, start, seed, dir: path.join(p.out, `${dataset}-${method}-${start}-seed${seed}`), config: validateRunConfig({ ...config, solver }) };
    });
  })));
}

interface Result { status: string; iterations: number; metrics?: { testAccuracy: number; f1: number }; wallTimeSeconds: number }

const readRecords = () => readResults<RunRecord>(RESULTS_FILE);
const recordOf = (records: RunRecord[], run: PaperRun, p: Protocol) => records.find((r) =>
  r.dataset === run.dataset && r.method === run.method && r.start === run.start && r.seed === run.seed && r.K === p.K && r.T === p.T);

/** Appends the run's result to the results file when it completed all T iterations; whether it did. */
function record(run: PaperRun, p: Protocol): boolean {
  const file = path.join(run.dir, 'result.json');
  if (!fs.existsSync(file)) return false;
  const result = JSON.parse(fs.readFileSync(file, 'utf8')) as Result;
  if (result.status !== 'completed' || result.iterations !== p.T || result.metrics === undefined) return false;
  appendResult(RESULTS_FILE, {
    dataset: run.dataset, method: run.method, start: run.start, seed: run.seed, K: p.K, T: p.T,
    testAccuracy: result.metrics.testAccuracy, f1: result.metrics.f1, wallTimeSeconds: result.wallTimeSeconds,
  });
  return true;
}

/** `bilevel run` of configFile into dir with mode (--resume or --force); its exit code. */
function runCli(configFile: string, dir: string, mode: '--resume' | '--force'): Promise<number> {
  const cli = path.join(__dirname, '..', 'lib', 'cli.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'run', configFile, '--out', dir, mode, '--quiet'], {
    stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}

/**
 * One run as `bilevel run`: resumed from its checkpoint when it has one, replacing a run that left
 * none or whose checkpoint the current code refuses (exit 2: written for another config, e.g. by a
 * version that filled in other defaults).
 */
async function execute(run: PaperRun): Promise<number> {
  fs.mkdirSync(run.dir, { recursive: true });
  const configFile = path.join(run.dir, '..', `${path.basename(run.dir)}.json`);
  fs.writeFileSync(configFile, `${JSON.stringify(run.config, null, 2)}\n`);
  if (!fs.existsSync(path.join(run.dir, 'checkpoint.bin'))) return runCli(configFile, run.dir, '--force');
  const resumed = await runCli(configFile, run.dir, '--resume');
  return resumed === 2 ? runCli(configFile, run.dir, '--force') : resumed;
}

async function runAll(runs: PaperRun[], p: Protocol): Promise<void> {
  const pending = runs.filter((run) => recordOf(readRecords(), run, p) === undefined);
  console.error(`paper protocol: ${runs.length} runs, ${runs.length - pending.length} recorded, ${pending.length} to run on ${p.jobs} cores`);
  let next = 0;
  const worker = async () => {
    while (next < pending.length) {
      const run = pending[next++];
      const started = Date.now();
      const code = await execute(run);
      const recorded = code === 0 && record(run, p);
      console.error(`  ${path.basename(run.dir)}: exit ${code} after ${((Date.now() - started) / 60000).toFixed(1)} min${recorded ? ', recorded' : ''}`);
      if (recorded) writeSection(runs, p);
    }
  };
  // --jobs 0 runs nothing: the doc's section is rewritten from the records.
  await Promise.all(Array.from({ length: Math.max(0, p.jobs) }, worker));
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function table(runs: PaperRun[], p: Protocol, records: RunRecord[]): string {
  const rows: string[] = [];
  for (const dataset of DATASETS) {
    for (const method of methodsFor('hyper-cleaning')) {
      for (const start of ['fixed', 'warm', 'ia'] as const) {
        const group = runs.filter((r) => r.dataset === dataset && r.method === method && r.start === start);
        const results = group.map((run) => recordOf(records, run, p)).filter((r): r is RunRecord => r !== undefined);
        if (results.length === 0) continue;
        const accuracy = mean(results.map((r) => 100 * r.testAccuracy));
        const f1 = mean(results.map((r) => 100 * r.f1));
        const published = dataset === 'mnist' ? PUBLISHED[method] ?? '' : '';
        rows.push(`| ${dataset} | ${methodPresets[method].label} | ${start === 'ia' ? 'z (IA)' : start} | ${results.map((r) => r.seed).join(', ')} | ` +
          `${accuracy.toFixed(2)} | ${f1.toFixed(2)} | ${(mean(results.map((r) => r.wallTimeSeconds)) / 60).toFixed(1)} | ${published} |`);
      }
    }
  }
  return ['| dataset | method | y_0 | seeds | test accuracy (%) | F1 (%) | minutes / run | published (Table 2) |', '|---|---|---|---|---:|---:|---:|---|', ...rows].join('\n');
}

/** The doc's paper-protocol section from the recorded runs: the table and how many runs are missing. */
function writeSection(runs: PaperRun[], p: Protocol): void {
  const records = readRecords();
  const missing = runs.filter((run) => recordOf(records, run, p) === undefined).length;
  const machines = machinesOf(records);
  const section = `Generated by \`npm run bench:hyper-cleaning -- --paper\` from bench/results/hyper-cleaning-paper.jsonl (one line per finished run,
with its commit, CPU and date; ${machines || 'no run recorded yet'}; one LibTorch thread per run). The minutes per run are wall times
on cores shared with other work (builds, tests): upper bounds, not speeds to compare; the accuracies do not depend on them.
Linear LL, K = ${p.K}, T = ${p.T}, x by Adam lr ${UPPER_LR}, y by gd lr ${LOWER_LR} (z by sgd lr ${LOWER_LR}); seeds ${p.seeds.join(', ')} (the split, the corruption and
the run). Methods without IA run from the fixed start y_0 = 0 and warm-started (y_0 = the last y_K); the paper does not state which.
${missing === 0 ? 'Every run of the protocol is recorded.' : `${runs.length - missing} of the protocol's ${runs.length} runs are recorded; the others run, seed by seed, in later invocations.`}

${table(runs, p, records)}`;
  const docFile = path.join(__dirname, '..', 'docs', 'hyper-cleaning.md');
  fs.writeFileSync(docFile, withPaperSection(fs.readFileSync(docFile, 'utf8'), section));
}

export async function paperProtocol(): Promise<void> {
  const p = protocolFromArguments();
  const runs = paperRuns(p);
  await runAll(runs, p);
  writeSection(runs, p);
  const unrecorded = runs.filter((run) => recordOf(readRecords(), run, p) === undefined).length;
  if (unrecorded > 0) {
    console.error(`paper protocol: ${unrecorded} runs are not recorded yet (run the command again to resume them)`);
    process.exitCode = 1;
  }
}

export const PAPER_SECTION_HEADING = "## The paper's protocol (Table 2)";

/** The doc with its paper-protocol section (from its heading to the end) replaced or appended. */
function withPaperSection(doc: string, content: string): string {
  const at = doc.indexOf(PAPER_SECTION_HEADING);
  return `${(at < 0 ? doc : doc.slice(0, at)).trimEnd()}\n\n${PAPER_SECTION_HEADING}\n\n${content}\n`;
}
