// npm run bench:hyper-cleaning -- --paper [--iterations T] [--steps K] [--seeds 0,1,2] [--jobs N] [--out DIR]
// Table 2's protocol of the AIT paper: linear LL on MNIST and Fashion-MNIST, K = 100 gd steps,
// T = 3000 UL iterations, x by Adam lr 0.01, y (and z) by gd / sgd lr 0.03, every method of
// `bilevel compare`, the baselines (no IA) both from the fixed start y_0 = 0 and warm-started,
// 3 seeds. Each run is `bilevel run` in its own folder under DIR (default runs/paper),
// checkpointed every 100 iterations: running the command again resumes unfinished runs and skips
// finished ones. Runs go in parallel, one per core, each on one LibTorch thread. Once every run
// has finished, the table (mean over the seeds that ran) goes into docs/hyper-cleaning.md beside
// the published rows.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { methodConfig } from '../lib/engine/compare';
import { methodNames, methodPresets, type MethodName } from '../lib/method-presets';
import { validateRunConfig, type RunConfig } from '../lib/run-config';

const LOWER_LR = 0.03; // the authors' step for y (and z)
const UPPER_LR = 0.01; // the authors' Adam step for x
const DATASETS = ['mnist', 'fashion-mnist'] as const;
// Table 2 of the paper (linear LL), MNIST: accuracy / F1. It has no Fashion-MNIST column.
const PUBLISHED: Partial<Record<MethodName, string>> = {
  cg: '89.12 / 87.51', neumann: '88.90 / 89.90', rhg: '88.96 / 90.49', bda: '88.55 / 90.99', ait: '89.58 / 91.35', aitp: '89.63 / 91.98',
};

interface Protocol { T: number; K: number; seeds: number[]; jobs: number; out: string }
interface PaperRun { dataset: string; method: MethodName; start: 'fixed' | 'warm' | 'ia'; seed: number; dir: string; config: RunConfig }

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

/** Every run of the protocol with its config; AIT keeps accelerated dynamics of the same step (L = 1 / (2 lr)). */
function paperRuns(p: Protocol): PaperRun[] {
  return DATASETS.flatMap((dataset) => p.seeds.flatMap((seed) => methodNames.flatMap((method) => {
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
    const withIa = methodSolver.type !== 'bamm' && methodSolver.initAuxiliary !== false && methodSolver.initAuxiliary !== undefined;
    const starts = withIa ? (['ia'] as const) : (['fixed', 'warm'] as const);
    return starts.map((start) => {
      const solver = start === 'ia' || methodSolver.type === 'bamm' ? methodSolver : { ...methodSolver, lowerStart: start };
      return { dataset, method, start, seed, dir: path.join(p.out, `${dataset}-${method}-${start}-seed${seed}`), config: validateRunConfig({ ...config, solver }) };
    });
  })));
}

interface Result { status: string; iterations: number; metrics?: { testAccuracy: number; f1: number }; wallTimeSeconds: number }
const resultOf = (run: PaperRun): Result | undefined => {
  const file = path.join(run.dir, 'result.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Result) : undefined;
};
const finished = (run: PaperRun, T: number) => { const r = resultOf(run); return r?.status === 'completed' && r.iterations === T; };

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
  const pending = runs.filter((run) => !finished(run, p.T));
  console.error(`paper protocol: ${runs.length} runs, ${runs.length - pending.length} finished, ${pending.length} to run on ${p.jobs} cores`);
  let next = 0;
  const worker = async () => {
    while (next < pending.length) {
      const run = pending[next++];
      const started = Date.now();
      const code = await execute(run);
      console.error(`  ${path.basename(run.dir)}: exit ${code} after ${((Date.now() - started) / 60000).toFixed(1)} min`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, p.jobs) }, worker));
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function table(runs: PaperRun[], p: Protocol): string {
  const rows: string[] = [];
  for (const dataset of DATASETS) {
    for (const method of methodNames) {
      for (const start of ['fixed', 'warm', 'ia'] as const) {
        const group = runs.filter((r) => r.dataset === dataset && r.method === method && r.start === start);
        const results = group.map(resultOf).filter((r): r is Result => r?.status === 'completed' && r.iterations === p.T && r.metrics !== undefined);
        if (group.length === 0 || results.length === 0) continue;
        const accuracy = mean(results.map((r) => 100 * r.metrics!.testAccuracy));
        const f1 = mean(results.map((r) => 100 * r.metrics!.f1));
        const published = dataset === 'mnist' ? PUBLISHED[method] ?? '' : '';
        rows.push(`| ${dataset} | ${methodPresets[method].label} | ${start === 'ia' ? 'z (IA)' : start} | ${results.length} | ` +
          `${accuracy.toFixed(2)} | ${f1.toFixed(2)} | ${(mean(results.map((r) => r.wallTimeSeconds)) / 60).toFixed(1)} | ${published} |`);
      }
    }
  }
  return ['| dataset | method | y_0 | seeds | test accuracy (%) | F1 (%) | minutes / run | published (Table 2) |', '|---|---|---|---:|---:|---:|---:|---|', ...rows].join('\n');
}

export async function paperProtocol(): Promise<void> {
  const p = protocolFromArguments();
  const runs = paperRuns(p);
  const started = Date.now();
  await runAll(runs, p);
  const unfinished = runs.filter((run) => !finished(run, p.T));
  if (unfinished.length > 0) {
    console.error(`paper protocol: ${unfinished.length} runs did not finish (run the command again to resume them); no table written`);
    process.exitCode = 1;
    return;
  }
  const section = `Generated by \`npm run bench:hyper-cleaning -- --paper\` (${new Date().toISOString().slice(0, 10)}; ${os.cpus().length} cores of ` +
    `${os.cpus()[0]?.model ?? 'an unknown CPU'}, one LibTorch thread per run; ${((Date.now() - started) / 60000).toFixed(0)} minutes in this invocation).
Linear LL, K = ${p.K}, T = ${p.T}, x by Adam lr ${UPPER_LR}, y by gd lr ${LOWER_LR} (z by sgd lr ${LOWER_LR}); seeds ${p.seeds.join(', ')} (the split, the corruption and
the run). Methods without IA run from the fixed start y_0 = 0 and warm-started (y_0 = the last y_K); the paper does not state which.

${table(runs, p)}`;
  const docFile = path.join(__dirname, '..', 'docs', 'hyper-cleaning.md');
  fs.writeFileSync(docFile, withPaperSection(fs.readFileSync(docFile, 'utf8'), section));
  console.log(table(runs, p));
}

export const PAPER_SECTION_HEADING = "## The paper's protocol (Table 2)";

/** The doc with its paper-protocol section (from its heading to the end) replaced or appended. */
function withPaperSection(doc: string, content: string): string {
  const at = doc.indexOf(PAPER_SECTION_HEADING);
  return `${(at < 0 ? doc : doc.slice(0, at)).trimEnd()}\n\n${PAPER_SECTION_HEADING}\n\n${content}\n`;
}
