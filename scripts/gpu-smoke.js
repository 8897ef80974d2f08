#!/usr/bin/env node
// The CUDA part of scripts/gpu-check.sh (docs/benchmarks.md, "GPU check"), on the compiled library
// (dist/): (1) the same toy solve on the CPU and on CUDA, their largest difference; (2) seconds per
// UL iteration and peak memory of hyper-cleaning (K = 100 gd steps, reverse) on CUDA, with the
// CPU's for reference; (3) on CUDA, seconds per search step and peak memory of each NAS method at
// the paper's search size (C = 16, 8 cells, batch 64). Without CUDA, its parts say so and the CPU
// parts still run.
//   node scripts/gpu-smoke.js [OUT.json]      (the data folder: $BILEVEL_FASHION_MNIST)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Solver, adam, gd, nas, problems, reverse, sgd, tasks, versions } = require(path.join(__dirname, '..', 'dist'));

const toySettings = { n: 10, steps: 50, upperLr: 0.01, iterations: 200 };
// A split that the bundled Fashion-MNIST subset (10000 training images) can hold.
const cleaningSettings = { trainSize: 5000, validationSize: 5000, testSize: 2000, seed: 0, steps: 100 };
// DARTS's search network on Fashion-MNIST padded to 32 x 32; K = 3 for rhg, cg and ait.
const nasSettings = { channels: 16, cells: 8, nodes: 4, trainSize: 2000, validationSize: 2000, testSize: 500, batchSize: 64, seed: 0, lowerSteps: 3, iterations: 4 };
// Iterations per case: the first of each is a warm-up (allocations, CUDA's kernel loading).
const iterationsOn = { cuda: 6, cpu: 2 };

const cudaAvailable = versions().cuda;
const say = (text) => console.log(`gpu-smoke: ${text}`);
const arrayOf = (tensor) => Array.from(tensor.toArray(), Number);
const maxAbsDifference = (a, b) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
const failures = [];

/** Runs `iterations` UL iterations by hand; returns the records and the final values. */
function solve(solver, problem, iterations) {
  const run = solver.start(problem);
  try {
    const records = [];
    const seconds = [];
    for (let t = 0; t < iterations; t++) {
      const start = process.hrtime.bigint();
      records.push(run.step());
      seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
    }
    return { records, seconds, values: run.values() };
  } finally {
    run.dispose();
  }
}

function toySolve(device) {
  const { n, steps, upperLr, iterations } = toySettings;
  const problem = problems.toy.nonconvex({ n, dtype: 'float64', device });
  const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps })).hypergradient(reverse()).upper(sgd({ lr: upperLr })).build();
  const { records, seconds, values } = solve(solver, problem, iterations);
  return { x: arrayOf(values.x[0]), y: arrayOf(values.y[0]), upper: records.at(-1).upper, seconds: seconds.reduce((a, b) => a + b, 0) };
}

/** What the report shows of a toy solve: y (n values) only as its difference between devices. */
const summaryOf = ({ y: _perVariable, ...shown }) => shown;

/** Eq. 20 with RHG (reverse), float64, solved on the CPU and on CUDA from the same start. */
function toyCpuVersusCuda() {
  const cpu = toySolve('cpu');
  if (!cudaAvailable) return { settings: toySettings, cpu: summaryOf(cpu), cuda: 'CUDA not available' };
  const cuda = toySolve('cuda');
  return {
    settings: toySettings,
    cpu: summaryOf(cpu),
    cuda: summaryOf(cuda),
    maxAbsDifferenceX: maxAbsDifference(cpu.x, cuda.x),
    maxAbsDifferenceY: maxAbsDifference(cpu.y, cuda.y),
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Hyper-cleaning on one device with one LL model: time per UL iteration after the warm-up. */
async function hyperCleaning(model, device) {
  const { steps, ...split } = cleaningSettings;
  const problem = await tasks.hyperCleaning({ ...split, model, device, root: process.env.BILEVEL_FASHION_MNIST });
  const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps })).hypergradient(reverse()).upper(adam({ lr: 0.1 })).build();
  const { records, seconds, values } = solve(solver, problem, iterationsOn[device]);
  const timed = records.slice(1);
  const metrics = await problem.metrics(values);
  return {
    model,
    device,
    timedIterations: timed.length,
    secondsPerIteration: median(seconds.slice(1)),
    warmUpSeconds: seconds[0],
    unrollMs: median(timed.map((r) => r.unrollMs)),
    hypergradientMs: median(timed.map((r) => r.hypergradientMs)),
    peakBytes: Math.max(...timed.map((r) => r.peakBytes)),
    firstUpper: records[0].upper,
    lastUpper: records.at(-1).upper,
    testAccuracy: metrics.testAccuracy,
    f1: metrics.f1,
  };
}

/** One NAS method's search steps on CUDA: seconds per step after the warm-up, peak memory. */
async function nasStep(method) {
  const { lowerSteps, iterations, ...task } = nasSettings;
  const problem = await tasks.nas({ ...task, device: 'cuda', root: process.env.BILEVEL_FASHION_MNIST });
  const { records, seconds } = solve(nas.solver(method, lowerSteps), problem, iterations);
  const timed = records.slice(1);
  return {
    method,
    secondsPerStep: median(seconds.slice(1)),
    warmUpSeconds: seconds[0],
    peakBytes: Math.max(...timed.map((r) => r.peakBytes)),
    kBar: timed.map((r) => r.steps),
  };
}

/** The part's result, or its error (recorded, so that the other parts still run). */
async function guarded(label, part) {
  const start = Date.now();
  try {
    const result = await part();
    say(`${label}: done in ${((Date.now() - start) / 1000).toFixed(1)} s`);
    return result;
  } catch (err) {
    say(`${label}: FAILED: ${err.stack ?? err}`);
    failures.push(label);
    return { error: `${err.code ?? err.name}: ${err.message}` };
  }
}

async function main() {
  const outFile = process.argv[2];
  const report = { versions: versions(), cudaAvailable, toy: await guarded('toy, CPU versus CUDA', toyCpuVersusCuda), hyperCleaning: {} };
  for (const device of ['cuda', 'cpu']) {
    for (const model of ['mlp', 'linear']) {
      const label = `hyper-cleaning ${model} on ${device}`;
      report.hyperCleaning[`${model}-${device}`] = device === 'cuda' && !cudaAvailable
        ? 'CUDA not available'
        : await guarded(label, () => hyperCleaning(model, device));
    }
  }
  report.nas = { settings: nasSettings, methods: {} };
  for (const method of nas.methods) {
    report.nas.methods[method] = cudaAvailable ? await guarded(`nas ${method} on cuda`, () => nasStep(method)) : 'CUDA not available';
  }
  const text = JSON.stringify(report, null, 2);
  console.log(text);
  if (outFile) fs.writeFileSync(outFile, `${text}\n`);
  if (failures.length > 0) {
    say(`failed: ${failures.join('; ')}`);
    process.exitCode = 1;
  }
}

main();
