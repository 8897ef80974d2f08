// npm run bench:few-shot -- --timing: one UL iteration of few-shot RHG (5-way 1-shot, 15 queries,
// meta-batch 4, K = 10 head steps, ConvNet-4 with 32 filters on 28 x 28 images, float32), in
// bilevel and in plain PyTorch (Debian's python3-torch, the same LibTorch build) two ways: the
// backbone recomputed at every inner step (the authors' code) and once per set (as bilevel
// does); the median seconds per iteration, their ratios, and the iteration's FLOPs against them.
// Prints a markdown table (recorded in docs/benchmarks.md). Without --timing: the method table on
// test episodes, docs/few-shot.md (bench/few-shot-methods.ts). --load: the load time of a dataset of
// image files, decoded and from the cache (bench/few-shot-load.ts).
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Solver, adam, gd, reverse, setNumThreads, tasks, versions } from '../lib';
import { fewShotLoadTable } from './few-shot-load';
import { fewShotMethodTable } from './few-shot-methods';

const { values } = parseArgs({
  options: { timing: { type: 'boolean' }, load: { type: 'boolean' }, iterations: { type: 'string' }, gpu: { type: 'boolean' }, doc: { type: 'boolean' } },
});
const threads = Math.min(2, os.cpus().length);
const settings = {
  ways: 5, shots: 1, queries: 15, metaBatch: 4, channels: 32, imageSize: 28, steps: 10, lr: 0.1,
  iterations: Number(values.iterations ?? 10), threads,
};

/** Multiply-adds x 2 of ConvNet-4's convolutions on one image (the rest is a few percent). */
function convFlopsPerImage(channels: number, size: number): number {
  let flops = 0;
  let side = size;
  for (let block = 0; block < 4; block++) {
    flops += 2 * side * side * channels * (block === 0 ? 1 : channels) * 9;
    side = Math.floor(side / 2);
  }
  return flops;
}

/** Median seconds per UL iteration of bilevel's RHG on the few-shot task (the first is a warm-up). */
async function bilevelSeconds(): Promise<number> {
  const { ways, shots, queries, metaBatch, channels, imageSize, steps, lr, iterations } = settings;
  using problem = await tasks.fewShot({ ways, shots, queries, metaBatch, channels, imageSize, evaluationEpisodes: 1 });
  const solver = Solver.builder().dynamics(gd({ lr, steps })).hypergradient(reverse()).upper(adam({ lr: 0.001 })).build();
  using run = solver.start(problem);
  const seconds: number[] = [];
  for (let i = 0; i <= iterations; i++) {
    const start = process.hrtime.bigint();
    run.step();
    if (i > 0) seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return seconds.sort((a, b) => a - b)[Math.floor(seconds.length / 2)];
}

function pytorchSeconds(): { recompute: number; once: number; torch: string } {
  const script = path.join(__dirname, 'few_shot_pytorch.py');
  const child = spawnSync('/usr/bin/python3', [script, JSON.stringify(settings)], { encoding: 'utf8' });
  if (child.status !== 0) {
    throw new Error(`${script} failed (plain PyTorch missing? sudo bash scripts/install-bench-deps.sh):\n${child.stderr}`);
  }
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!);
}

async function timing(): Promise<void> {
  setNumThreads(threads);
  const ours = await bilevelSeconds();
  const torch = pytorchSeconds();
  const { ways, shots, queries, metaBatch, channels, imageSize, steps } = settings;
  const images = metaBatch * ways * (shots + queries);
  // Forward and backward (about twice the forward) once per image when the features are computed once.
  const flopsOnce = 3 * images * convFlopsPerImage(channels, imageSize);
  // Recomputed: the support set's forward at each of the K steps, and their backward through the unroll.
  const flopsRecompute = flopsOnce + 3 * (steps - 1) * metaBatch * ways * shots * convFlopsPerImage(channels, imageSize);
  const gflops = (flops: number, seconds: number) => (flops / seconds / 1e9).toFixed(1);
  const v = versions();
  console.log(`few-shot RHG, one UL iteration: ${ways}-way ${shots}-shot, ${queries} queries, meta-batch ${metaBatch}, K = ${steps}, ` +
    `ConvNet-4 (${channels} filters) on ${imageSize} x ${imageSize}, float32, ${threads} threads; LibTorch ${v.libtorch}, PyTorch ${torch.torch}; ` +
    `median of ${settings.iterations} iterations after a warm-up\n`);
  console.log('| implementation | s / UL iteration | conv GFLOP / iteration | GFLOP/s | bilevel is faster by |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(`| bilevel (features once per iteration) | ${ours.toFixed(4)} | ${(flopsOnce / 1e9).toFixed(2)} | ${gflops(flopsOnce, ours)} | |`);
  console.log(`| PyTorch, backbone at every inner step (the authors' way) | ${torch.recompute.toFixed(4)} | ${(flopsRecompute / 1e9).toFixed(2)} | ` +
    `${gflops(flopsRecompute, torch.recompute)} | ${(torch.recompute / ours).toFixed(2)}x |`);
  console.log(`| PyTorch, features once | ${torch.once.toFixed(4)} | ${(flopsOnce / 1e9).toFixed(2)} | ${gflops(flopsOnce, torch.once)} | ` +
    `${(torch.once / ours).toFixed(2)}x |`);
}

void (values.timing ? timing() : values.load ? fewShotLoadTable() : fewShotMethodTable());
