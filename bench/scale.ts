// npm run bench:scale [-- --iterations N --model linear|mlp --batch B --task few-shot] — multi-process
// runs (lib/distributed.ts): seconds per UL iteration of data hyper-cleaning with mini-batches
// (Fashion-MNIST, 5000 training rows, batches of B = 1024, K = 20 gd steps, RHG), or with
// --task few-shot of 5-way 1-shot learning (double-MNIST, ConvNet-4 of 32 filters, one head per
// task, meta-batches of B = 4 tasks, K = 20 gd steps on the heads, RHG) in one process
// using every core, and in 1 and 2 ranks of a process group on loopback (each rank the cores
// divided by the ranks, each on its share of every batch), with the collectives per iteration and
// their wall time (waiting for the other rank included). The ranks are this script again,
// started with torchrun's variables. Prints a table; docs/benchmarks.md records it.
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { ProcessGroup, Solver, adam, gd, reverse, tasks } from '../lib';

const K = 20;
const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '20' }, model: { type: 'string', default: 'linear' }, batch: { type: 'string' },
    task: { type: 'string', default: 'hyper-cleaning' },
  },
  strict: false,
});
const ITERATIONS = Number(values.iterations);
const MODEL = values.model === 'mlp' ? 'mlp' : 'linear';
const FEW_SHOT = values.task === 'few-shot';
const BATCH = Number(values.batch ?? (FEW_SHOT ? 4 : 1024));
const WARMUP = 2;

interface RankReport { rank: number; secondsPerIteration: number; collectivesPerIteration: number; communicationMsPerIteration: number }

/** One rank (or the single process, without a group): its timings as one JSON line on stdout. */
async function rank(): Promise<void> {
  const group = process.env.WORLD_SIZE === undefined ? undefined : await ProcessGroup.join();
  const problem = FEW_SHOT
    ? await tasks.fewShot({ ways: 5, shots: 1, queries: 15, metaBatch: BATCH, evaluationEpisodes: 1 })
    : await tasks.hyperCleaning({ dataset: 'fashion-mnist', model: MODEL, trainSize: 5000, batchSize: BATCH, seed: 0 });
  const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: K })).hypergradient(reverse()).upper(adam({ lr: 0.01 })).build();
  using run = solver.start(problem, { processGroup: group });
  await run.advance(WARMUP, () => undefined);
  const before = group?.communication() ?? { collectives: 0, milliseconds: 0 };
  const started = process.hrtime.bigint();
  await run.advance(ITERATIONS, () => undefined);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const after = group?.communication() ?? before;
  const report: RankReport = {
    rank: group?.rank ?? 0,
    secondsPerIteration: seconds / ITERATIONS,
    collectivesPerIteration: (after.collectives - before.collectives) / ITERATIONS,
    communicationMsPerIteration: (after.milliseconds - before.milliseconds) / ITERATIONS,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  group?.dispose();
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** `ranks` processes of this script (0: one process without a group), each with `threads` threads. */
async function measure(ranks: number, threads: number): Promise<RankReport[]> {
  const port = await freePort();
  const count = Math.max(1, ranks);
  return Promise.all(Array.from({ length: count }, (_, r) => new Promise<RankReport>((resolve, reject) => {
    const group = ranks === 0 ? {} : { RANK: String(r), WORLD_SIZE: String(ranks), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) };
    const child = spawn(process.execPath, [...process.execArgv, __filename, '--rank', '--iterations', String(ITERATIONS), '--model', MODEL, '--batch', String(BATCH), '--task', FEW_SHOT ? 'few-shot' : 'hyper-cleaning'], {
      env: { ...process.env, ...group, OMP_NUM_THREADS: String(threads) }, stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as RankReport) : reject(new Error(`rank ${r} exited with ${code}`))));
  })));
}

async function main(): Promise<void> {
  const cores = os.availableParallelism();
  const rows: string[] = [];
  for (const [label, ranks] of [['1 process, no group', 0], ['1 rank', 1], ['2 ranks', 2]] as const) {
    const threads = Math.max(1, Math.floor(cores / Math.max(1, ranks)));
    const reports = await measure(ranks, threads);
    const slowest = Math.max(...reports.map((r) => r.secondsPerIteration));
    const communication = Math.max(...reports.map((r) => r.communicationMsPerIteration));
    rows.push(`| ${label} | ${threads} | ${BATCH / Math.max(1, ranks)} | ${slowest.toFixed(3)} | ${reports[0].collectivesPerIteration.toFixed(0)} | ${communication.toFixed(1)} |`);
    console.error(`${label}: ${slowest.toFixed(3)} s per iteration`);
  }
  const task = FEW_SHOT
    ? `few-shot, 5-way 1-shot double-MNIST, ConvNet-4 (32 filters), a head per task, meta-batches of ${BATCH} tasks`
    : `hyper-cleaning, ${MODEL} LL, Fashion-MNIST (5000 training rows), batches of ${BATCH}`;
  console.log(`${task}, K = ${K} gd steps, RHG; ${ITERATIONS} UL iterations timed after ${WARMUP}; ${cores} cores (${os.cpus()[0]?.model ?? 'unknown CPU'})`);
  console.log(`| run | threads per rank | ${FEW_SHOT ? 'tasks' : 'rows'} per rank and step | s per UL iteration | collectives per iteration | their ms per iteration (slowest rank) |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  rows.forEach((row) => console.log(row));
}

if (process.argv.includes('--rank')) void rank();
else void main();
