// The few-shot task: its objectives against the same ones written here in TypeScript (a tiny
// ConvNet-4 in float64, on the task's own episodes), for every way of computing the hypergradient
// that the backbone's cached features must serve, with the heads' regularizers, and in MAML's
// layout; the episodes' reproducibility; the config entry; metrics and their settings.
import * as fs from 'node:fs';
import {
  Solver, adam, batchNorm, bda, cg, conv2d, crossEntropy, defineProblem, finiteDifference, forward, gd, linear, maxPool2d, reverse, sgd,
  problems, slice, tasks, truncated, where,
  type FewShotOptions, type Problem, type SolverBuilder, type Tensor,
} from '../lib';

const mnist = '/usr/share/datasets/mnist';
const haveMnist = fs.existsSync(`${mnist}/train-images-idx3-ubyte`);
if (!haveMnist) console.warn(`MNIST not found in ${mnist}: the few-shot tests are skipped (scripts/install-test-deps.sh)`);

const tiny = {
  root: mnist, imagesPerClass: 6, imageSize: 16, ways: 3, shots: 2, queries: 2, metaBatch: 2, channels: 2,
  evaluationEpisodes: 4, seed: 5, dtype: 'float64',
} as const;

/** ConvNet-4 without its head: conv 3x3 -> batch norm (this set's statistics) -> ReLU -> max pool 2, four times. */
function convNet4(x: Tensor[], images: Tensor): Tensor {
  let h = images;
  for (let block = 0; block < 4; block++) {
    const [weight, bias, normWeight, normBias] = x.slice(4 * block, 4 * block + 4);
    h = maxPool2d(batchNorm(conv2d(h, weight, { bias, padding: 1 }), normWeight, normBias).relu(), 2);
  }
  return h.reshape([h.shape[0], -1]);
}

const leakyRelu = (t: Tensor) => where(t.gt(0), t, t.mul(0.1));
/**
 * ResNet-12 without its head: per block, three conv 3x3 (no bias) -> batch norm, leaky ReLU after
 * the first two, plus a conv 1x1 -> batch norm shortcut; their sum -> leaky ReLU -> max pool 2.
 */
function resNet12(x: Tensor[], images: Tensor): Tensor {
  let h = images;
  for (let block = 0; block < 4; block++) {
    const p = x.slice(12 * block, 12 * block + 12);
    const normedConv = (input: Tensor, at: number, padding: number) => batchNorm(conv2d(input, p[at], { padding }), p[at + 1], p[at + 2]);
    const residual = normedConv(leakyRelu(normedConv(leakyRelu(normedConv(h, 0, 1)), 3, 1)), 6, 1);
    h = maxPool2d(leakyRelu(residual.add(normedConv(h, 9, 0))), 2);
  }
  return h.reshape([h.shape[0], -1]);
}

const sum = (terms: Tensor[]) => terms.reduce((a, b) => a.add(b));
/** Task j's slice of a tensor whose first dimension is the meta-batch. */
const pick = (t: Tensor, j: number) => slice(t, 0, j, j + 1).reshape(t.shape.slice(1));

/** Task j's network in a layout: backbone parameters and its head (W, b). */
type Network = { backbone: Tensor[]; W: Tensor; b: Tensor };
/** The heads layout: x = the backbone, y = {W [B, N, D], b [B, N]}. */
const headsNetwork = (x: Tensor[], [W, b]: Tensor[], j: number): Network => ({ backbone: x, W: pick(W, j), b: pick(b, j) });
/** MAML's layout: x = the whole network (backbone, head), y = each task's offsets [B, ...x's shapes]. */
function mamlNetwork(x: Tensor[], y: Tensor[], j: number): Network {
  const network = x.map((t, i) => t.add(pick(y[i], j)));
  return { backbone: network.slice(0, -2), W: network[network.length - 2], b: network[network.length - 1] };
}

/** t^p where t > 0, and 0 (with zero derivatives) where t = 0. */
const powerAwayFromZero = (t: Tensor, p: number) => where(t.eq(0), t.mul(0), where(t.eq(0), t.mul(0).add(1), t).pow(p));
/** The regularizers of one head, written from their formulas. */
const regularizers = {
  none: () => undefined,
  lq: (W: Tensor, b: Tensor, { regularizerQ: q = 0.5 }: FewShotOptions) =>
    powerAwayFromZero(powerAwayFromZero(W.abs(), q).sum().add(powerAwayFromZero(b.abs(), q).sum()), 1 / q),
  'smoothed-lq': (W: Tensor, b: Tensor, { regularizerQ: q = 0.5, regularizerEpsilon: epsilon = 0.1 }: FewShotOptions) =>
    sum([W, b].map((w) => powerAwayFromZero(w.mul(w).sum(), 0.5).add(epsilon * Math.sqrt(w.shape.reduce((a, n) => a * n, 1))).pow(q / 2))),
};

/** The task's F and f on its first meta-batch of training episodes, written independently. */
function reference(task: Problem, options: FewShotOptions = {}): Problem {
  const data = task.data();
  const { x, y } = task.initial();
  const network = options.layout === 'maml' ? mamlNetwork : headsNetwork;
  const backbone = options.backbone === 'resnet12' ? resNet12 : convNet4;
  const tasksOf = (images: Tensor) => Array.from({ length: images.shape[0] }, (_, j) => j);
  const losses = (xs: Tensor[], ys: Tensor[], images: Tensor, labels: Tensor) => tasksOf(images).map((j) => {
    const { backbone: params, W, b } = network(xs, ys, j);
    return crossEntropy(linear(backbone(params, pick(images, j)), W, b), pick(labels, j));
  });
  const regularizer = (xs: Tensor[], ys: Tensor[], j: number) => {
    const { W, b } = network(xs, ys, j);
    const value = regularizers[options.regularizer ?? 'none'](W, b, options);
    return value?.mul(options.regularizerWeight ?? 0.25);
  };
  return defineProblem({
    x, y,
    upper: (xs, ys) => sum(losses(xs, ys, data.episodeQueryImages, data.episodeQueryLabels)),
    lower: (xs, ys) => sum([
      ...losses(xs, ys, data.episodeSupportImages, data.episodeSupportLabels),
      ...tasksOf(data.episodeSupportImages).flatMap((j) => regularizer(xs, ys, j) ?? []),
    ]),
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

/** One UL iteration of builder's solver on the task and on its reference: both records and x after it. */
async function bothSteps(builder: () => SolverBuilder, options: FewShotOptions) {
  using task = await tasks.fewShot({ ...tiny, ...options });
  const solver = builder().upper(sgd({ lr: 0.1 })).build();
  // The task's first meta-batch is the reference's data: the same F, f and so the same step.
  const step = (problem: Problem) => {
    using run = solver.start(problem);
    const record = run.step();
    return { upper: record.upper, lower: record.lower, kBar: record.steps, x: flat(run.values().x) };
  };
  return { native: step(task), expected: step(reference(task, options)), start: flat(task.initial().x) };
}

function expectSameStep({ native, expected, start }: Awaited<ReturnType<typeof bothSteps>>): void {
  expect(Math.max(...expected.x.map((v, i) => Math.abs(v - start[i])))).toBeGreaterThan(1e-6); // x moved
  expect(native.upper).toBeCloseTo(expected.upper, 10);
  expect(native.lower).toBeCloseTo(expected.lower, 10);
  expect(native.kBar).toBe(expected.kBar);
  native.x.forEach((v, i) => expect(v).toBeCloseTo(expected.x[i], 10));
}

(haveMnist ? describe : describe.skip)('few-shot on the pair-composite benchmark', () => {
  test.each(builders)('one UL iteration with %s equals autograd of the same objectives written in TypeScript', async (_name, builder) => {
    expectSameStep(await bothSteps(builder, {}));
  });

  const regularized: [string, FewShotOptions, () => SolverBuilder][] = [
    ['lq regularizer, reverse', { regularizer: 'lq', regularizerQ: 0.5, regularizerWeight: 0.1 }, builders[0][1]],
    ['lq regularizer (q = 0.7), IA + PTT', { regularizer: 'lq', regularizerQ: 0.7, regularizerWeight: 0.1 }, builders[2][1]],
    ['smoothed-lq regularizer, reverse', { regularizer: 'smoothed-lq', regularizerQ: 0.5, regularizerEpsilon: 0.1 }, builders[0][1]],
    ['smoothed-lq regularizer, IA + PTT', { regularizer: 'smoothed-lq', regularizerQ: 0.5, regularizerEpsilon: 0.2 }, builders[2][1]],
  ];
  test.each(regularized)('%s: the same step as TypeScript\'s autograd of the formula', async (_name, options, builder) => {
    expectSameStep(await bothSteps(builder, options));
  });

  const maml: [string, () => SolverBuilder][] = [
    ['reverse (MAML)', builders[0][1]],
    ['truncated', builders[1][1]],
    ['IA + PTT', builders[2][1]],
  ];
  test.each(maml)('MAML\'s layout with %s: the same step as TypeScript\'s autograd of x + y_j\'s network', async (_name, builder) => {
    expectSameStep(await bothSteps(builder, { layout: 'maml' }));
  });

  // channels 2: widths 2, 5, 10, 20; 16 x 16 images -> 20 features.
  const resNet: [string, FewShotOptions, () => SolverBuilder][] = [
    ['heads, reverse', { backbone: 'resnet12' }, builders[0][1]],
    ['heads, IA + PTT', { backbone: 'resnet12' }, builders[2][1]],
    ['MAML, reverse', { backbone: 'resnet12', layout: 'maml' }, builders[0][1]],
  ];
  test.each(resNet)('ResNet-12 backbone, %s: the same step as TypeScript\'s autograd of the network written here', async (_name, options, builder) => {
    expectSameStep(await bothSteps(builder, options));
  });

  test('ResNet-12\'s widths follow channels x (1, 2.5, 5, 10)', async () => {
    using task = await tasks.fewShot({ ...tiny, backbone: 'resnet12', channels: 4 });
    const { x, y } = task.initial();
    expect(x.map((t) => t.shape[0]).filter((_, i) => i % 12 === 0)).toEqual([4, 10, 20, 40]);
    expect(y[0].shape).toEqual([tiny.metaBatch, tiny.ways, 40]); // 16 -> 8 -> 4 -> 2 -> 1
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
    expect(Object.keys(metrics).sort()).toEqual(['testAccuracy', 'testConfidence95', 'testEpisodes', 'testStd']);
    expect(metrics.testConfidence95).toBeCloseTo(1.96 * metrics.testStd / 2, 12);
    expect(metrics.testEpisodes).toBe(4);
    expect(metrics.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(metrics.testAccuracy).toBeLessThanOrEqual(1);
    // A few-shot run config without its own seed takes the run's.
    expect((loaded.config.problem as { seed?: number }).seed).toBe(5);
  });
});

(haveMnist ? describe : describe.skip)('metrics settings', () => {
  test('settings change the episodes and their adaptation for one call; the task\'s own stay its default', async () => {
    using task = await tasks.fewShot(tiny);
    const values = task.initial();
    const byDefault = await task.metrics(values);
    expect(byDefault.testEpisodes).toBe(4);
    // The first 3 of the same 4 episodes: their mean is within what the 4th can move it.
    const three = await task.metrics(values, { episodes: 3 });
    expect(three.testEpisodes).toBe(3);
    expect(await task.metrics(values, { episodes: 4, adaptSteps: 10, adaptLr: 0.1 })).toEqual(byDefault);
    expect(await task.metrics(values)).toEqual(byDefault);
    // No adaptation: a zero head predicts class 0 for every query, right for 1 in 3 (3 ways).
    const unadapted = await task.metrics(values, { adaptSteps: 0 });
    expect(unadapted.testAccuracy).toBeCloseTo(1 / 3, 12);
    expect(unadapted.testStd).toBe(0);
  });

  test('bad settings, and settings for a task that takes none, are refused naming the field', async () => {
    using task = await tasks.fewShot(tiny);
    const values = task.initial();
    await expect(task.metrics(values, { episodes: 0 })).rejects.toThrow(/metrics\.episodes must be an integer in \[1, 1e\+06\]; got 0/);
    await expect(task.metrics(values, { episode: 3 } as never)).rejects.toThrow(/metrics\.episode: unknown field \(metrics takes episodes, adaptSteps, adaptLr\)/);
    await expect(task.metrics(values, { adaptLr: 'fast' } as never)).rejects.toThrow(/metrics\.adaptLr must be a number/);
    using toy = problems.toy.nonconvex();
    await expect(toy.metrics(toy.initial(), { episodes: 3 } as never)).rejects.toThrow(/metrics\.episodes: unknown field \(metrics takes none\)/);
  });

  test('MAML\'s layout: y holds an offset per task and tensor of x; metrics adapt the whole network from x', async () => {
    using task = await tasks.fewShot({ ...tiny, layout: 'maml' });
    const { x, y } = task.initial();
    expect(y.map((t) => t.shape)).toEqual(x.map((t) => [tiny.metaBatch, ...t.shape])); // an offset per task and tensor of x
    const metrics = await task.metrics({ x, y }, { adaptSteps: 3 });
    expect(metrics.testEpisodes).toBe(4);
    expect(metrics.testAccuracy).toBeGreaterThanOrEqual(0);
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
