// npm run bench:nas [-- --iterations N] [--heavy-iterations N] [--methods a,b] [--no-doc]
//                   [--pipeline-only] [--gpu [--gpu-epochs SEARCH,RETRAIN]]: one
// architecture-search step (one UL iteration) of the NAS task (docs/algorithms.md §14.6) for every
// method of lib/nas/search.ts, beside DARTS's first- and second-order steps written in plain
// PyTorch (bench/nas_pytorch.py; Debian's python3-torch, the same LibTorch build:
// `sudo bash scripts/install-bench-deps.sh`), on a supernet small enough for 2 cores. Median
// seconds per step after a warm-up, the split of bilevel's step (unroll, hypergradient, update)
// and its peak tensor memory; checks that both sides' networks have as many weights. Then the
// DARTS steps again by solver.run() (off the JS thread, as nas.search runs), which must take as
// long as run.step(): both compute on the addon's one compute thread (native/binding/compute_thread.h).
// Then each method's whole pipeline at CPU scale: search, derive, retrain (bench/nas-smoke.ts).
// Prints markdown tables and writes docs/nas.md. --pipeline-only: the pipelines alone, printed;
// --gpu: the pipelines at the paper's protocol on CUDA (a lent GPU; CIFAR-10 in $BILEVEL_CIFAR10).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { setNumThreads, tasks, versions, type IterationRecord } from '../lib';
import { nasMethods, nasSolver, type NasMethod } from '../lib/nas/search';
import type { Problem } from '../lib/problem';
import { gpuProtocol, pipelineTable, runPipelines, smokeProtocol } from './nas-smoke';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string' }, 'heavy-iterations': { type: 'string' }, methods: { type: 'string' }, 'no-doc': { type: 'boolean' },
    'pipeline-only': { type: 'boolean' }, gpu: { type: 'boolean' }, 'gpu-epochs': { type: 'string' },
  },
});
const threads = Math.min(2, os.cpus().length);
const lowerSteps = 3;
// Timed steps after the warm-up: DARTS's one-step methods, and the K-step ones (several times slower).
const iterations = Number(values.iterations ?? 5);
const heavyIterations = Number(values['heavy-iterations'] ?? 3);
const runIterations = 3;
const methods = (values.methods?.split(',') ?? [...nasMethods]) as NasMethod[];
const isDarts = (method: NasMethod) => method === 'darts-first-order' || method === 'darts-second-order';
// The supernet: C = 8, 5 cells (reductions at cells 1 and 3), 4 nodes, batches of 32 images of 32 x 32.
const task = {
  dataset: 'fashion-mnist' as const, channels: 8, cells: 5, nodes: 4, batchSize: 32,
  trainSize: 2000, validationSize: 2000, testSize: 100, metricsSize: 100, seed: 0,
};
// DARTS's counterpart of each method, where it has one.
const pytorchStep: Partial<Record<NasMethod, 'first' | 'second'>> = { 'darts-first-order': 'first', 'darts-second-order': 'second' };

interface Timing {
  method: NasMethod;
  steps: number;
  seconds: number;
  unrollMs: number;
  hypergradientMs: number;
  updateMs: number;
  peakMiB: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function summary(method: NasMethod, seconds: number[], records: IterationRecord[]): Timing {
  return {
    method,
    steps: seconds.length,
    seconds: median(seconds),
    unrollMs: median(records.map((r) => r.unrollMs)),
    hypergradientMs: median(records.map((r) => r.hypergradientMs)),
    updateMs: median(records.map((r) => r.updateMs)),
    peakMiB: Math.max(...records.map((r) => r.peakBytes)) / 2 ** 20,
  };
}

/** `steps` UL iterations of a method by run.step() after a warm-up: the median wall time and the record's split. */
function stepTiming(problem: Problem, method: NasMethod, steps: number): Timing & { weights: number } {
  using run = nasSolver(method, lowerSteps).start(problem);
  const { y } = run.values();
  const weights = y.reduce((total, t) => total + t.shape.reduce((a, b) => a * b, 1), 0);
  y.forEach((t) => t.dispose());
  const seconds: number[] = [];
  const records: IterationRecord[] = [];
  for (let i = 0; i <= steps; i++) {
    const start = process.hrtime.bigint();
    const record = run.step();
    if (i === 0) continue;  // the warm-up
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
    records.push(record);
  }
  return { ...summary(method, seconds, records), weights };
}

/** The same through solver.run() (the engine's worker thread, as nas.search runs): the records' own times. */
async function runTiming(problem: Problem, method: NasMethod, steps: number): Promise<Timing> {
  const { records } = await nasSolver(method, lowerSteps).run(problem, { iterations: steps + 1 });
  const timed = records.slice(1);
  return summary(method, timed.map((r) => (r.unrollMs + r.hypergradientMs + r.updateMs) / 1000), timed);
}

interface PytorchTiming { first: number; second: number; parameters: number; torch: string; threads: number }

function pytorchTiming(): PytorchTiming {
  const script = path.join(__dirname, 'nas_pytorch.py');
  const settings = {
    channels: task.channels, cells: task.cells, nodes: task.nodes, batch: task.batchSize, imageSize: 32, inChannels: 1, classes: 10,
    iterations, threads,
  };
  const child = spawnSync('/usr/bin/python3', [script, JSON.stringify(settings)], { encoding: 'utf8' });
  if (child.status !== 0) {
    throw new Error(`${script} failed (plain PyTorch missing? sudo bash scripts/install-bench-deps.sh):\n${child.stderr}`);
  }
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as PytorchTiming;
}

/** Seconds the hypervisor gave this VM's CPUs to others (steal), from /proc/stat; 0 where unreadable. */
function stealSeconds(): number {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    return Number(cpu[8] ?? 0) / 100;
  } catch {
    return 0;
  }
}

const s = (ms: number) => (ms / 1000).toFixed(2);

async function main(): Promise<void> {
  setNumThreads(threads);
  const started = Date.now();
  const stealAtStart = stealSeconds();
  const loads: number[] = [];
  const sampleLoad = () => loads.push(os.loadavg()[0]);
  const log = (line: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`);
  if (values.gpu || values['pipeline-only']) {
    const [search, retrain] = values['gpu-epochs']?.split(',').map(Number) ?? [];
    const protocol = values.gpu ? gpuProtocol(search === undefined ? undefined : { search, retrain }) : smokeProtocol;
    console.log(`${protocol.description}\n\n${pipelineTable(await runPipelines(protocol, methods, log))}`);
    return;
  }

  // 1. Every method by run.step().
  const timings: (Timing & { weights: number })[] = [];
  using problem = await tasks.nas(task);
  for (const method of methods) {
    timings.push(stepTiming(problem, method, isDarts(method) ? iterations : heavyIterations));
    sampleLoad();
    log(`${method}: ${timings.at(-1)!.seconds.toFixed(2)} s / step`);
  }
  // 2. DARTS's steps in plain PyTorch.
  const torch = pytorchTiming();
  sampleLoad();
  log(`PyTorch: first order ${torch.first.toFixed(2)} s, second order ${torch.second.toFixed(2)} s`);
  const weights = timings[0].weights;
  if (!timings.every((t) => t.weights === torch.parameters)) {
    throw new Error(`the networks differ: bilevel's y has ${timings.map((t) => t.weights).join(' / ')} numbers, PyTorch's weights ${torch.parameters}`);
  }
  // 3. DARTS's steps by solver.run().
  const runRows: Timing[] = [];
  for (const method of methods.filter(isDarts)) {
    runRows.push(await runTiming(problem, method, runIterations));
    sampleLoad();
    log(`${method} by solver.run(): ${runRows.at(-1)!.seconds.toFixed(2)} s / step`);
  }
  // 4. Each method's pipeline: search, derive, retrain.
  const pipelines = pipelineTable(await runPipelines(smokeProtocol, methods, log));
  const minutes = (Date.now() - started) / 60000;
  const steal = stealSeconds() - stealAtStart;

  const cpu = `${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores)`;
  const load = loads.reduce((sum, v) => sum + v, 0) / loads.length;
  const setting = `C = ${task.channels}, ${task.cells} cells (reductions at cells ${Math.floor(task.cells / 3)} and ` +
    `${Math.floor((2 * task.cells) / 3)}), ${task.nodes} nodes, batch ${task.batchSize}, Fashion-MNIST at 32 x 32 (1 channel, ` +
    `10 classes), float32; rhg, cg and ait with K = ${lowerSteps}; ${weights.toLocaleString('en-US')} weights on both sides (checked)`;
  const machine = `${cpu}, ${threads} threads on each side; LibTorch ${versions().libtorch}, PyTorch ${torch.torch}; ` +
    `1-minute load average ${load.toFixed(1)} while it ran (${threads}: the bench alone), ${steal.toFixed(0)} s of CPU stolen by ` +
    `the hypervisor over the ${minutes.toFixed(1)} minutes`;
  const table = [
    '| method | bilevel s / step | PyTorch s / step | bilevel / PyTorch | unroll s | hypergradient s | update s | peak MiB | steps timed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...timings.map((t) => {
      const reference = pytorchStep[t.method];
      const theirs = reference === undefined ? undefined : torch[reference];
      return `| ${t.method} | ${t.seconds.toFixed(2)} | ${theirs === undefined ? '' : theirs.toFixed(2)} | ` +
        `${theirs === undefined ? '' : `${(t.seconds / theirs).toFixed(2)}x`} | ${s(t.unrollMs)} | ${s(t.hypergradientMs)} | ` +
        `${s(t.updateMs)} | ${t.peakMiB.toFixed(0)} | ${t.steps} |`;
    }),
  ].join('\n');
  const runTable = [
    '| method | solver.run() s / step | against run.step() | PyTorch s / step | unroll s | hypergradient s | update s |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...runRows.map((t) => {
      const stepped = timings.find((m) => m.method === t.method)!;
      const theirs = torch[pytorchStep[t.method]!];
      return `| ${t.method} | ${t.seconds.toFixed(2)} | ${(t.seconds / stepped.seconds).toFixed(2)}x | ${theirs.toFixed(2)} | ` +
        `${s(t.unrollMs)} | ${s(t.hypergradientMs)} | ${s(t.updateMs)} |`;
    }),
  ].join('\n');
  console.log(`${setting}\n${machine}\n\n${table}\n\n${runTable}\n\n${pipelines}`);
  if (values['no-doc'] || methods.length !== nasMethods.length) return;

  const doc = `# Architecture search: one step against plain PyTorch, and the whole pipeline

Generated by \`npm run bench:nas\` (bench/nas.ts, bench/nas_pytorch.py), ${new Date().toISOString().slice(0, 10)};
[benchmarks.md](benchmarks.md) says what the numbers mean.

    npm run bench:nas

What is measured: the wall time of one UL iteration of the NAS task ([algorithms.md](algorithms.md)
§14.6) for each search method of §14.7, with the solver of \`nas.solver(method, ${lowerSteps})\` (DARTS's
optimizers: heavyBall on the weights, lr 0.025, momentum 0.9, weight decay 3e-4, clipping at 5;
Adam on the alphas), warm-started from the previous iteration as a search runs. Beside it the same
step of DARTS's first and second order in plain PyTorch, written the way DARTS's reference code is
organized (nn.Modules, a MixedOp summing the softmax-weighted operations, batch norm without scale
or shift in the cells): first order, the alphas' gradient of the validation loss at the current
weights (the whole backward, as DARTS's loop takes it), an Adam step, then the weights' SGD step on
a training batch; second order, the virtual step, the validation gradient there, the
finite-difference Hessian-vector product at w +- eps v, the alpha update, then the weights' step.
The PyTorch script feeds random images (the time does not depend on them); bilevel draws its
batches from Fashion-MNIST. Medians of the steps timed after a warm-up; unroll, hypergradient and
update are the medians of bilevel's iteration record (update: the Adam step, and F and f at y_K
for the record), peak MiB its \`peakBytes\` (the largest).

Setting: ${setting}.

Machine: ${machine}.

## Every method (tasks.nas(), then run.step())

${table}

rhg, cg and ait have no counterpart in DARTS's code.

## Off the JS thread

\`nas.search\` steps by \`solver.run()\`, off the JS thread; the same steps there (the record's own
times, so without the JS round trip). Both paths compute on the addon's one compute thread, so that
LibTorch keeps a single OpenMP team (a team per calling thread made these steps 2-3x slower before
2026-12-03: [benchmarks.md](benchmarks.md)):

${runTable}

## Search, derive, retrain

Each method's whole pipeline at a scale these 2 cores finish in minutes: \`nas.search\`, the
genotype derived from its final alphas, then \`nas.retrain\` of that genotype from scratch
([algorithms.md](algorithms.md) §14.7, §14.9). ${smokeProtocol.description}. A smoke run: it shows
the pipeline working end to end and what each stage costs, not which method is best (one seed, a
search far too short to separate them). Seconds are solver time (metrics excluded). The paper's
protocol on a GPU: \`npm run bench:nas -- --gpu\` (${gpuProtocol().description}).

${pipelines}
`;
  fs.writeFileSync(path.join(__dirname, '..', 'docs', 'nas.md'), doc);
}

void main();
