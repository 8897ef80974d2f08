// The addon in worker_threads: each thread's environment loads it with its own class references
// and error class, so solvers run in two workers and the main thread at once, give the same
// numbers, and refuse bad input with BilevelError everywhere. A worker terminated while a run is
// in flight ends promptly (its environment's cleanup hook stops the run).
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BilevelError, Solver, gd, problems, reverse, sgd, tensor } from '../lib';

// Workers compile the TypeScript sources through tsx's CommonJS hook, as the tests do.
const prelude = `
  require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register();
  const { parentPort } = require('node:worker_threads');
  const { BilevelError, Solver, gd, problems, reverse, sgd, tensor } = require(${JSON.stringify(path.join(__dirname, '..', 'lib'))});
  const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 20 })).hypergradient(reverse()).upper(sgd({ lr: 0.01 })).build();
`;

interface Outcome {
  x: number[];
  refusal: { isBilevelError: boolean; code: string };
}

const solveAndRefuse = `
  (async () => {
    const result = await solver.run(problems.toy.nonconvex({ n: 3 }), { iterations: 40 });
    let refusal;
    try { tensor([1, 2], [3]); } catch (err) { refusal = { isBilevelError: err instanceof BilevelError, code: err.code }; }
    parentPort.postMessage({ x: Array.from(result.x[0].toArray()), refusal });
  })();
`;

function inWorker<T>(body: string): { worker: Worker; result: Promise<T> } {
  const worker = new Worker(prelude + body, { eval: true });
  const result = new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before answering`)));
  });
  return { worker, result };
}

test('two workers and the main thread solve at once: the same numbers, BilevelError in each', async () => {
  const workers = [inWorker<Outcome>(solveAndRefuse), inWorker<Outcome>(solveAndRefuse)];
  const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 20 })).hypergradient(reverse()).upper(sgd({ lr: 0.01 })).build();
  const main = await solver.run(problems.toy.nonconvex({ n: 3 }), { iterations: 40 });
  const outcomes = await Promise.all(workers.map((w) => w.result));
  for (const outcome of outcomes) {
    expect(outcome.x).toEqual(Array.from(main.x[0].toArray() as Float64Array));
    expect(outcome.refusal).toEqual({ isBilevelError: true, code: 'SHAPE_MISMATCH' });
  }
  await Promise.all(workers.map((w) => w.worker.terminate()));
  expect(() => tensor([1, 2], [3])).toThrow(BilevelError); // the main thread's error class is still its own
}, 60_000);

test('terminating a worker with a run in flight ends it within seconds', async () => {
  // 100000 UL iterations of K = 200 on n = 2000: minutes if the termination waited for the run.
  const { worker, result } = inWorker<string>(`
    const long = Solver.builder().dynamics(gd({ lr: 0.1, steps: 200 })).hypergradient(reverse()).upper(sgd({ lr: 0.01 })).build();
    let first = true;
    void long.start(problems.toy.nonconvex({ n: 2000 })).advance(100000, () => {
      if (first) parentPort.postMessage('running');
      first = false;
    });
  `);
  expect(await result).toBe('running');
  const started = Date.now();
  await worker.terminate();
  expect(Date.now() - started).toBeLessThan(10_000);
}, 60_000);
