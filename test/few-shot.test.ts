// The few-shot task: its objectives against the same ones written here in TypeScript (a tiny
// ConvNet-4 in float64, on the task's own episodes), for every way of computing the hypergradient
// that the backbone's cached features must serve; the episodes' reproducibility; the config entry.
import * as fs from 'node:fs';
import {
  Solver, adam, batchNorm, bda, cg, conv2d, crossEntropy, defineProblem, finiteDifference, forward, gd, linear, maxPool2d, reverse, sgd,
  slice, tasks, truncated,
  type Problem, type SolverBuilder, type Tensor,
} from '../lib';

const mnist = '/usr/share/datasets/mnist';
const haveMnist = fs.existsSync(`${mnist}/train-images-idx3-ubyte`);
if (!haveMnist) console.warn(`MNIST not found in ${mnist}: the few-shot tests are skipped (scripts/install-test-deps.sh)`);

const tiny = {
  root: mnist, imagesPerClass: 6, imageSize: 16, ways: 3, shots: 2, queries: 2, metaBatch: 2, channels: 2,
  evaluationEpisodes: 4, seed: 5, dtype: 'float64',
} as const;

/** ConvNet-4 without its head: conv 3x3 -> batch norm (this set's statistics) -> ReLU -> max pool 2, four times. */
function backbone(x: Tensor[], images: Tensor): Tensor {
  let h = images;
  for (let block = 0; block < 4; block++) {
    const [weight, bias, normWeight, normBias] = x.slice(4 * block, 4 * block + 4);
    h = maxPool2d(batchNorm(conv2d(h, weight, { bias, padding: 1 }), normWeight, normBias).relu(), 2);
  }
  return h.reshape([h.shape[0], -1]);
}

/** Sum over tasks j of the mean cross-entropy of head j on the backbone's features of images[j]. */
function headLosses(x: Tensor[], [W, b]: Tensor[], images: Tensor, labels: Tensor): Tensor {
  const tasks = images.shape[0];
  let total: Tensor | undefined;
  for (let j = 0; j < tasks; j++) {
    const pick = (t: Tensor) => slice(t, 0, j, j + 1).reshape(t.shape.slice(1));
    const loss = crossEntropy(linear(backbone(x, pick(images)), pick(W), pick(b)), pick(labels));
    total = total === undefined ? loss : total.add(loss);
  }
  return total!;
}

/** The task's F and f on its first meta-batch of training episodes, written independently. */
function reference(task: Problem): Problem {
  const data = task.data();
  const { x, y } = task.initial();
  return defineProblem({
    x, y,
    upper: (xs, ys) => headLosses(xs, ys, data.episodeQueryImages, data.episodeQueryLabels),
    lower: (xs, ys) => headLosses(xs, ys, data.episodeSupportImages, data.episodeSupportLabels),
  });
}

const flat = (tensors: Tensor[]) => tensors.flatMap((t) => Array.from(t.toArray() as Float64Array));
const K = 4;
const builders: [string, () => SolverBuilder][] = [
  ['reverse', () => Solver.builder().dynamics(gd({ lr: 0.5, steps: K })).hypergradient(reverse())],
  ['truncated (2 of 4 steps)', () => Solver.builder().dynamics(gd({ lr: 0.5, steps: K })).hypergradient(truncated({ steps: 2 }))],
  ['IA + PTT', () => Solver.builder().dynamics(gd({ lr: 0.5, steps: K })).initAuxiliary({ optimizer: sgd({ lr: 0.1 }) })
    .pessimisticTruncation()],
  ['IA + PTT re-unrolled', () => Solver.builder().dynamics(gd({ lr: 0.5, steps: K })).initAuxiliary({ optimizer: sgd({ lr: 0.1 }) })
    .pessimisticTruncation({ recompute: true })],
  ['forward', () => Solver.builder().dynamics(gd({ lr: 0.5, steps: K })).hypergradient(forward())],
  ['cg', () => Solver.builder().dynamics(gd({ lr: 0.5, steps: K })).hypergradient(cg({ iterations: 3 }))],
  ['finiteDifference', () => Solver.builder().dynamics(gd({ lr: 0.5, steps: K })).hypergradient(finiteDifference())],
  ['bda + reverse', () => Solver.builder().dynamics(bda({ lr: 0.5, upperLr: 0.5, steps: K })).hypergradient(reverse())],
];

(haveMnist ? describe : describe.skip)('few-shot on the pair-composite benchmark', () => {
  test.each(builders)('one UL iteration with %s equals autograd of the same objectives written in TypeScript', async (_name, builder) => {
    using task = await tasks.fewShot(tiny);
    const solver = builder().upper(sgd({ lr: 0.1 })).build();
    // The task's first meta-batch is the reference's data: the same F, f and so the same step.
    const step = (problem: Problem) => {
      using run = solver.start(problem);
      const record = run.step();
      return { upper: record.upper, lower: record.lower, kBar: record.steps, x: flat(run.values().x) };
    };
    const native = step(task);
    const expected = step(reference(task));
    const start = flat(task.initial().x);
    expect(Math.max(...expected.x.map((v, i) => Math.abs(v - start[i])))).toBeGreaterThan(1e-6); // x moved
    expect(native.upper).toBeCloseTo(expected.upper, 10);
    expect(native.lower).toBeCloseTo(expected.lower, 10);
    expect(native.kBar).toBe(expected.kBar);
    native.x.forEach((v, i) => expect(v).toBeCloseTo(expected.x[i], 10));
  });
});

(haveMnist ? describe : describe.skip)('episodes and runs', () => {
  test('the benchmark and the episodes are a function of the seed', async () => {
    using a = await tasks.fewShot(tiny);
    using b = await tasks.fewShot(tiny);
    using other = await tasks.fewShot({ ...tiny, seed: 6 });
    const [da, db, dOther] = [a.data(), b.data(), other.data()];
    expect(flat([da.trainImages, da.episodeQueryImages])).toEqual(flat([db.trainImages, db.episodeQueryImages]));
    expect(flat([da.episodeQueryImages])).not.toEqual(flat([dOther.episodeQueryImages]));
    // Support and query of an episode: labels 0..N-1, class-major, images of [B, n, 1, S, S].
    expect(da.episodeSupportImages.shape).toEqual([2, 6, 1, 16, 16]);
    expect(Array.from(da.episodeSupportLabels.toArray() as BigInt64Array, Number)).toEqual([0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2]);
    expect(da.episodeQueryImages.shape).toEqual([2, 6, 1, 16, 16]);
  });

  test('a run saved after 3 iterations and resumed sees the episodes a straight run sees, bit for bit', async () => {
    using task = await tasks.fewShot(tiny);
    const solver = builders[0][1]().upper(sgd({ lr: 0.1 })).build();
    const numbers = (run: ReturnType<typeof solver.start>, n: number) => Array.from({ length: n }, () => {
      const { upper, lower } = run.step();
      return [upper, lower];
    });
    using straight = solver.start(task);
    const expected = numbers(straight, 6);
    using first = solver.start(task);
    numbers(first, 3);
    const file = `${fs.mkdtempSync('/tmp/bilevel-few-shot-')}/run.ckpt`;
    await first.save(file);
    using resumed = solver.start(task);
    await resumed.load(file);
    expect(numbers(resumed, 3)).toEqual(expected.slice(3));
    expect(flat(resumed.values().x)).toEqual(flat(straight.values().x));
  });

  test('metrics: accuracy on test episodes with its 95% interval, from a run config through the engine', async () => {
    const { loadRunConfig } = await import('../lib/run-config');
    const config = { problem: { name: 'few-shot', ...tiny, dtype: undefined }, dtype: 'float64', iterations: 2, seed: 5,
      solver: { dynamics: { type: 'gd', lr: 0.5, steps: 3 }, hypergradient: { type: 'reverse' }, upper: { optimizer: 'sgd', lr: 0.1 } } };
    const loaded = await loadRunConfig(JSON.stringify(config), '/tmp/few-shot.json');
    const metrics = await loaded.problem.metrics(loaded.problem.initial());
    expect(Object.keys(metrics).sort()).toEqual(['testAccuracy', 'testConfidence95', 'testEpisodes']);
    expect(metrics.testEpisodes).toBe(4);
    expect(metrics.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(metrics.testAccuracy).toBeLessThanOrEqual(1);
    // A few-shot run config without its own seed takes the run's.
    expect((loaded.config.problem as { seed?: number }).seed).toBe(5);
  });
});

(haveMnist ? test : test.skip)('learning: a short AIT run (IA + PTT, K = 10, T = 100) lifts 5-way 1-shot test accuracy far above chance', async () => {
  using task = await tasks.fewShot({ root: mnist, seed: 0, evaluationEpisodes: 200, adaptSteps: 10, adaptLr: 0.1 });
  const before = await task.metrics(task.initial());
  const ait = Solver.builder().dynamics(gd({ lr: 0.1, steps: 10 })).initAuxiliary({ optimizer: sgd({ lr: 0.1 }) })
    .pessimisticTruncation().upper(adam({ lr: 0.001 })).build();
  const after = await task.metrics(await ait.run(task, { iterations: 100 }));
  // Measured (seed 0): 42.3% +- 1.3 before, 84.7% +- 1.6 after (0.25 s per UL iteration on 2 cores).
  expect(after.testEpisodes).toBe(200);
  expect(after.testAccuracy).toBeGreaterThan(0.6); // chance: 0.2
  expect(after.testAccuracy - after.testConfidence95).toBeGreaterThan(before.testAccuracy + before.testConfidence95);
}, 300_000);
