// npm run bench:nas [-- --iterations N] [--methods a,b] [--no-doc]: one architecture-search step
// (one UL iteration) of the NAS task (docs/algorithms.md §14.6) for every method of lib/nas/search.ts,
// beside DARTS's first- and second-order steps written in plain PyTorch (bench/nas_pytorch.py;
// Debian's python3-torch, the same LibTorch build: `sudo bash scripts/install-bench-deps.sh`) on a
// supernet small enough for 2 cores. Median seconds per step after a warm-up, the split of
// bilevel's step (unroll, hypergradient, update) and its peak tensor memory; checks that both
// sides' networks have as many weights. Prints a markdown table and writes docs/nas.md.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Solver, setNumThreads, tasks, versions, type IterationRecord } from '../lib';
import { nasMethods, nasSolverConfig, type NasMethod } from '../lib/nas/search';
import { validateRunConfig } from '../lib/run-config';

const { values } = parseArgs({
  options: { iterations: { type: 'string' }, methods: { type: 'string' }, 'no-doc': { type: 'boolean' } },
});
const threads = Math.min(2, os.cpus().length);
const lowerSteps = 3;
const iterations = Number(values.iterations ?? 5);
const methods = (values.methods?.split(',') ?? [...nasMethods]) as NasMethod[];
// The supernet: C = 8, 5 cells (reductions at cells 1 and 3), 4 nodes, batches of 32 images of 32 x 32.
const task = {
  dataset: 'fashion-mnist' as const, channels: 8, cells: 5, nodes: 4, batchSize: 32,
  trainSize: 2000, validationSize: 2000, testSize: 100, metricsSize: 100, seed: 0,
};
// DARTS's counterpart of each method, where it has one.
const pytorchStep: Partial<Record<NasMethod, 'first' | 'second'>> = { 'darts-first-order': 'first', 'darts-second-order': 'second' };

interface Timing {
  method: NasMethod;
  seconds: number;
  unrollMs: number;
  hypergradientMs: number;
  updateMs: number;
  peakMiB: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** bilevel's UL iterations of one method: the median wall time of `iterations` after a warm-up, and its record's split. */
async function bilevelTiming(method: NasMethod): Promise<Timing & { weights: number }> {
  using problem = await tasks.nas(task);
  const { solver: config } = validateRunConfig({ problem: { name: 'nas', ...task }, solver: nasSolverConfig(method, lowerSteps), iterations: 1 });
  using run = new Solver(config).start(problem);
  const { y } = run.values();
  const weights = y.reduce((total, t) => total + t.shape.reduce((a, b) => a * b, 1), 0);
  y.forEach((t) => t.dispose());
  const seconds: number[] = [];
  const records: IterationRecord[] = [];
  for (let i = 0; i <= iterations; i++) {
    const start = process.hrtime.bigint();
    const record = run.step();
    if (i === 0) continue;  // the warm-up
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
    records.push(record);
  }
  return {
    method,
    seconds: median(seconds),
    unrollMs: median(records.map((r) => r.unrollMs)),
    hypergradientMs: median(records.map((r) => r.hypergradientMs)),
    updateMs: median(records.map((r) => r.updateMs)),
    peakMiB: Math.max(...records.map((r) => r.peakBytes)) / 2 ** 20,
    weights,
  };
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

async function main(): Promise<void> {
  setNumThreads(threads);
  const started = Date.now();
  const loads: number[] = [];
  const sampleLoad = () => loads.push(os.loadavg()[0]);
  const timings: (Timing & { weights: number })[] = [];
  for (const method of methods) {
    timings.push(await bilevelTiming(method));
    sampleLoad();
    const t = timings.at(-1)!;
    console.error(`${method}: ${t.seconds.toFixed(2)} s / step`);
  }
  const torch = pytorchTiming();
  sampleLoad();
  const weights = timings[0].weights;
  const agree = timings.every((t) => t.weights === torch.parameters);
  if (!agree) {
    throw new Error(`the networks differ: bilevel's y has ${timings.map((t) => t.weights).join(' / ')} numbers, PyTorch's weights ${torch.parameters}`);
  }

  const cpu = `${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores)`;
  const load = loads.reduce((s, v) => s + v, 0) / loads.length;
  const header = `C = ${task.channels}, ${task.cells} cells, ${task.nodes} nodes, batch ${task.batchSize}, Fashion-MNIST 32 x 32 ` +
    `(1 channel, 10 classes), float32, ${threads} threads; rhg, cg and ait with K = ${lowerSteps}; ` +
    `${weights.toLocaleString('en-US')} weights on both sides; LibTorch ${versions().libtorch}, PyTorch ${torch.torch}; ` +
    `median of ${iterations} steps after a warm-up; ${cpu}, load average ${load.toFixed(1)} while it ran`;
  const rows = [
    '| method | bilevel s / step | PyTorch s / step | bilevel / PyTorch | unroll s | hypergradient s | update s | peak MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...timings.map((t) => {
      const reference = pytorchStep[t.method];
      const theirs = reference === undefined ? undefined : torch[reference];
      return `| ${t.method} | ${t.seconds.toFixed(2)} | ${theirs === undefined ? '' : theirs.toFixed(2)} | ` +
        `${theirs === undefined ? '' : `${(t.seconds / theirs).toFixed(2)}x`} | ${(t.unrollMs / 1000).toFixed(2)} | ` +
        `${(t.hypergradientMs / 1000).toFixed(2)} | ${(t.updateMs / 1000).toFixed(2)} | ${t.peakMiB.toFixed(0)} |`;
    }),
  ];
  const table = rows.join('\n');
  console.log(`${header}\n\n${table}`);
  console.error(`(${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
  if (values['no-doc'] || methods.length !== nasMethods.length) return;

  const doc = `# Architecture search: one step, bilevel against plain PyTorch

Generated by \`npm run bench:nas\` (bench/nas.ts, bench/nas_pytorch.py) on ${new Date().toISOString().slice(0, 10)}.

What is measured: the wall time of one UL iteration of the NAS task ([algorithms.md](algorithms.md)
§14.6) for each search method of §14.7, built by \`nasSolverConfig(method, ${lowerSteps})\` (DARTS's
optimizers: heavyBall on the weights, lr 0.025, momentum 0.9, weight decay 3e-4, clipping at 5; Adam
on the alphas), warm-started from the previous iteration as a search runs; beside it the same step
of DARTS's first and second order written in plain PyTorch the way DARTS's reference code is
organized (nn.Modules, a MixedOp summing the softmax-weighted operations, batch norm without
scale or shift in the cells): first order, the alphas' gradient of the validation loss at the
current weights, an Adam step, then the weights' SGD step on a training batch; second order, the
virtual step, the validation gradient there, the finite-difference Hessian-vector product at
w +- eps v, the alpha update, then the weights' step. The PyTorch script feeds random images (the
time does not depend on them); bilevel draws its batches from Fashion-MNIST. Both networks are the
same (${weights.toLocaleString('en-US')} weights, checked). The median of ${iterations} steps after a warm-up;
unroll, hypergradient and update are the medians of bilevel's own iteration record (update: the
Adam step and the record's F and f at y_K), peak MiB its \`peakBytes\` (the largest).

    npm run bench:nas

Machine: ${cpu}, ${threads} LibTorch threads on each side (\`setNumThreads(${threads})\`,
\`torch.set_num_threads(${threads})\`), LibTorch ${versions().libtorch}, PyTorch ${torch.torch};
the 1-minute load average while it ran was ${load.toFixed(1)} (${threads} is the bench alone).
Setting: ${header.split('; ').slice(0, 3).join('; ')}.

${table}

rhg, cg and ait have no counterpart in DARTS's code. See [benchmarks.md](benchmarks.md) for what the
numbers say.
`;
  fs.writeFileSync(path.join(__dirname, '..', 'docs', 'nas.md'), doc);
}

void main();
