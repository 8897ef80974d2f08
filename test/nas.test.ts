// The NAS task (docs/algorithms.md §14.6) on a generated IDX dataset: the splits, the 32 x 32
// padding and the normalization against a computation written here, the variables' layout, the
// refusals, reproducibility from the seed; and a short first-order search on real Fashion-MNIST.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Solver, adam, deriveGenotype, evaluationNetworkSize, firstOrder, heavyBall, skipConnections, tasks, tensor, zeros, type Genotype,
  type NasOptions, type Tensor,
} from '../lib';
import { PNG } from 'pngjs';
import { expectCode, expectRejects } from './helpers';
import { writeIdxDataset } from './idx-files';

const values = (t: Tensor): number[] => Array.from(t.toArray() as ArrayLike<number>, Number);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-nas-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const root = path.join(tmp, 'idx');
// 28 x 28 images as Fashion-MNIST's: training image i is all i, test image i all 100 + i.
writeIdxDataset(root, false, {}, { train: 60, test: 20, side: 28 });

const tiny: NasOptions = { root, channels: 2, cells: 3, nodes: 2, trainSize: 30, validationSize: 20, testSize: 10, batchSize: 4, seed: 5 };
const edges = 2 + 3; // node 0 takes the 2 cell inputs, node 1 those and node 0
const search = (steps = 1) => Solver.builder().dynamics(heavyBall({ steps, lr: 0.025, momentum: 0.9, weightDecay: 3e-4, gradientClip: 5 }))
  .hypergradient(firstOrder()).lowerStart('warm').upper(adam({ lr: 3e-3, beta1: 0.5 })).build();

describe('the data', () => {
  test('disjoint train and validation halves of the training images, padded to 32 x 32 and normalized by the train half', async () => {
    const problem = await tasks.nas(tiny);
    const data = problem.data();
    expect(data.trainImages.shape).toEqual([30, 1, 32, 32]);
    expect(data.validationImages.shape).toEqual([20, 1, 32, 32]);
    expect(data.testImages.shape).toEqual([10, 1, 32, 32]);
    // Image i's 28 x 28 pixels are all i, so after the padding and the normalization
    // v = (raw - mean) / std, its border is b = -mean / std and its centre b + i / (255 std):
    // ids follow from the differences d = centre - b, whose smallest gap is 1 / (255 std).
    const size = 32 * 32;
    const train = values(data.trainImages);
    const b = train[0];
    const differences = (v: number[], n: number) => Array.from({ length: n }, (_, k) => {
      v.slice(k * size, (k + 1) * size).forEach((p, j) => {
        const r = Math.floor(j / 32);
        const c = j % 32;
        if (r < 2 || r >= 30 || c < 2 || c >= 30) expect(p).toBe(b);
      });
      return v[k * size + 16 * 32 + 16] - b;
    });
    const trainDifferences = differences(train, 30);
    const validationDifferences = differences(values(data.validationImages), 20);
    const sorted = [...trainDifferences, ...validationDifferences].sort((p, q) => p - q);
    const unit = Math.min(...sorted.slice(1).map((d, k) => d - sorted[k]).filter((gap) => gap > 1e-6));
    const ids = (d: number[]) => d.map((v) => {
      expect(Math.abs(v / unit - Math.round(v / unit))).toBeLessThan(1e-3);
      return Math.round(v / unit);
    });
    const trainIds = ids(trainDifferences);
    const validationIds = ids(validationDifferences);
    const labels = values(data.trainLabels);
    const std = 1 / (255 * unit);
    const mean = -b * std;
    // Every image once, labels i % 10, no image in both halves.
    expect(new Set([...trainIds, ...validationIds]).size).toBe(50);
    trainIds.forEach((i, k) => expect(labels[k]).toBe(i % 10));
    // mean and std are the train half's, over every pixel including the padding.
    const raw = trainIds.flatMap((i) => Array.from({ length: size }, (_, p) => {
      const r = Math.floor(p / 32);
      const col = p % 32;
      return r < 2 || r >= 30 || col < 2 || col >= 30 ? 0 : i / 255;
    }));
    const rawMean = raw.reduce((s, v) => s + v, 0) / raw.length;
    const rawStd = Math.sqrt(raw.reduce((s, v) => s + (v - rawMean) ** 2, 0) / (raw.length - 1));
    expect(mean).toBeCloseTo(rawMean, 5);
    expect(std).toBeCloseTo(rawStd, 5);
    // The test images are the held-out file's (pixels 100 + i).
    ids(differences(values(data.testImages), 10)).forEach((i) => expect(i).toBeGreaterThanOrEqual(100));
  });

  test('x = alpha.normal and alpha.reduce near zero (every operation alike), y = the weights', async () => {
    const problem = await tasks.nas(tiny);
    const solver = search();
    using run = solver.start(problem);
    const { x, y } = run.values();
    expect(x.map((t) => t.shape)).toEqual([[edges, 8], [edges, 8]]);
    x.forEach((t) => values(t).forEach((a) => expect(Math.abs(a)).toBeLessThan(0.01)));
    expect(y.length).toBeGreaterThan(10);
    const metrics = await problem.metrics(run.values());
    expect(metrics.normalAlphaEntropy).toBeCloseTo(Math.log(8), 4);
    expect(metrics.reduceAlphaEntropy).toBeCloseTo(Math.log(8), 4);
    expect(metrics.normalSkipConnections).toBeGreaterThanOrEqual(0);
    expect(metrics.normalSkipConnections).toBeLessThanOrEqual(4);
    // Each accuracy is a count of its split's images: a multiple of 1 / n.
    for (const [accuracy, n] of [[metrics.trainAccuracy, 30], [metrics.validationAccuracy, 20], [metrics.testAccuracy, 10]]) {
      expect(accuracy).toBeGreaterThanOrEqual(0);
      expect(accuracy).toBeLessThanOrEqual(1);
      expect(Math.abs(accuracy * n - Math.round(accuracy * n))).toBeLessThan(1e-9);
    }
    // Ten classes, near-uniform outputs at the start: every cross-entropy near ln 10.
    for (const loss of [metrics.trainLoss, metrics.validationLoss, metrics.testLoss]) expect(Math.abs(loss - Math.log(10))).toBeLessThan(0.5);
  });

  test('refusals name the option', async () => {
    await expectRejects(() => tasks.nas({ ...tiny, trainSize: 50, validationSize: 20 }), 'INVALID_ARGUMENT', /trainSize \+ validationSize = 70 exceeds the 60 training images/);
    await expectRejects(() => tasks.nas({ ...tiny, testSize: 21 }), 'INVALID_ARGUMENT', /testSize 21 exceeds the 20 test images/);
    await expectRejects(() => tasks.nas({ ...tiny, cells: 0 }), 'INVALID_ARGUMENT', /nas\.cells/);
    await expectRejects(() => tasks.nas({ ...tiny, root: path.join(tmp, 'missing') }), 'INVALID_ARGUMENT', /no data folder/);
  });
});

describe('image folders', () => {
  // 32 x 32 PNGs of one colour each: class c's image i is (10 c + i, 100 + 7 i, 200 - 5 c).
  const folders = path.join(tmp, 'folders');
  const classes = ['ant', 'bee', 'cat'];
  const writePng = (file: string, rgb: number[]) => {
    const png = new PNG({ width: 32, height: 32 });
    for (let p = 0; p < 32 * 32; p++) png.data.set([...rgb, 255], 4 * p);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, PNG.sync.write(png, { colorType: 2 }));
  };
  classes.forEach((name, c) => {
    for (let i = 0; i < 4; i++) writePng(path.join(folders, 'train', name, `${i}.png`), [10 * c + i, 100 + 7 * i, 200 - 5 * c]);
    for (let i = 0; i < 2; i++) writePng(path.join(folders, 'test', name, `${i}.png`), [10 * c + i, 100 + 7 * i, 200 - 5 * c]);
  });
  const options: NasOptions = { ...tiny, dataset: 'folders', root: folders, trainSize: 8, validationSize: 4, testSize: 6 };

  test('classes in sorted folder order, RGB at 32 x 32, the classifier sized by the class count', async () => {
    const problem = await tasks.nas(options);
    const data = problem.data();
    expect(data.trainImages.shape).toEqual([8, 3, 32, 32]);
    expect(data.testImages.shape).toEqual([6, 3, 32, 32]);
    const labels = values(data.trainLabels);
    const images = values(data.trainImages);
    const blueOf = (k: number) => images[(3 * k + 2) * 1024 + 517];
    // Each image is one colour, and its blue (200 - 5 c, normalized increasingly) falls as its label rises.
    labels.forEach((c, k) => {
      expect(images.slice((3 * k + 2) * 1024, (3 * k + 3) * 1024).every((v) => v === blueOf(k))).toBe(true);
      labels.forEach((d, j) => {
        if (c === d) expect(blueOf(j)).toBeCloseTo(blueOf(k), 6);
        if (c < d) expect(blueOf(j)).toBeLessThan(blueOf(k));
      });
    });
    expect(new Set([...labels, ...values(data.validationLabels), ...values(data.testLabels)])).toEqual(new Set([0, 1, 2]));
    using run = search().start(problem);
    expect(run.values().y.at(-1)!.shape).toEqual([3]); // the classifier's bias: one per class
    run.step();
  });

  test('train/ and test/ with other class folders are refused, naming the root', async () => {
    const other = path.join(tmp, 'folders-other');
    writePng(path.join(other, 'train', 'ant', '0.png'), [1, 2, 3]);
    writePng(path.join(other, 'test', 'bee', '0.png'), [1, 2, 3]);
    await expectRejects(() => tasks.nas({ ...options, root: other, trainSize: 1, validationSize: 1, testSize: 1 }),
      'INVALID_ARGUMENT', /folders-other: train\/ and test\/ must hold the same class folders/);
    await expectRejects(() => tasks.nas({ ...options, root: undefined }), 'INVALID_ARGUMENT', /folders: no data folder; pass root/);
  });
});

describe('genotypes', () => {
  test('evaluationNetworkSize: DARTS_V2 has the 3,349,342 parameters DARTS reports; a tiny one worked by hand', () => {
    const dartsV2: Genotype = {
      normal: [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 1],
        ['skip_connect', 0], ['skip_connect', 0], ['dil_conv_3x3', 2]],
      normal_concat: [2, 3, 4, 5],
      reduce: [['max_pool_3x3', 0], ['max_pool_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 1], ['max_pool_3x3', 0],
        ['skip_connect', 2], ['skip_connect', 2], ['max_pool_3x3', 1]],
      reduce_concat: [2, 3, 4, 5],
    };
    expect(evaluationNetworkSize(dartsV2)).toBe(3349342);
    // 1 channel, 8 x 8, 3 classes, C = 2, 3 cells (reductions at cells 1 and 2): stem 6 * 9 + 2 * 6;
    // cell 0 two preprocessings 2 (6 * 2 + 4) and sep_conv_3x3 2 (9 * 2 + 4 + 4); cell 1
    // preprocessings 6 * 4 + 8 and 2 * 4 + 8, dil_conv_3x3 9 * 4 + 16 + 8; cell 2 a factorized
    // reduction 2 (2 * 4) + 16, 4 * 8 + 16, dil_conv_3x3 9 * 8 + 64 + 16; classifier 8 * 3 + 3.
    const tiny: Genotype = { normal: [['sep_conv_3x3', 0], ['skip_connect', 1]], normal_concat: [2], reduce: [['max_pool_3x3', 0], ['dil_conv_3x3', 1]], reduce_concat: [2] };
    const sizes = { inChannels: 1, imageSize: 8, classes: 3, channels: 2, cells: 3 };
    expect(evaluationNetworkSize(tiny, sizes)).toBe(66 + 84 + 108 + 232 + 27);
    expect(() => evaluationNetworkSize({ ...tiny, normal: [['sep_conv_9x9' as never, 0], ['skip_connect', 1]] }, sizes)).toThrow(/evaluationNetworkSize\.genotype\.normal/);
    expect(() => evaluationNetworkSize({ ...tiny, normal: [['skip_connect', 5], ['skip_connect', 1]] }, sizes)).toThrow(/genotype\.normal/);
  });

  // 2 nodes: rows 0, 1 enter node 0 (from states 0, 1), rows 2, 3, 4 node 1 (from states 0, 1, 2).
  // Columns: none, max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5.
  const row = (entries: Record<number, number>) => Array.from({ length: 8 }, (_, k) => entries[k] ?? 0);
  const normal = tensor([
    ...row({ 4: 3 }), // softmax weight of sep_conv_3x3: e^3 / (e^3 + 7) = 0.74
    ...row({ 3: 2 }), // skip_connect: e^2 / (e^2 + 7) = 0.51
    ...row({ 0: 10, 1: 1 }), // none dominates: max_pool_3x3 only 1.2e-4, the weakest edge of node 1
    ...row({ 7: 4 }), // dil_conv_5x5: 0.886
    ...row({ 2: 0.5 }), // avg_pool_3x3: 0.19
  ], [5, 8], { dtype: 'float32' });

  test('by hand: each node keeps its two strongest edges, strongest first, each with its best operation other than none', () => {
    const genotype = deriveGenotype([normal, zeros([5, 8])], { nodes: 2 });
    expect(genotype).toEqual({
      normal: [['sep_conv_3x3', 0], ['skip_connect', 1], ['dil_conv_5x5', 1], ['avg_pool_3x3', 2]],
      normal_concat: [2, 3],
      // A uniform alpha: ties go to the lower edge and the earlier operation.
      reduce: [['max_pool_3x3', 0], ['max_pool_3x3', 1], ['max_pool_3x3', 0], ['max_pool_3x3', 1]],
      reduce_concat: [2, 3],
    });
    expect(skipConnections(genotype.normal)).toBe(1);
    // DARTS's structure survives JSON.
    expect(JSON.parse(JSON.stringify(genotype))).toEqual(genotype);
  });

  test('the task\'s metric counts the skip connections of the genotype its alphas derive', async () => {
    const problem = await tasks.nas(tiny);
    using run = search().start(problem);
    for (let i = 0; i < 3; i++) run.step();
    const { x } = run.values();
    const metrics = await problem.metrics(run.values());
    expect(metrics.normalSkipConnections).toBe(skipConnections(deriveGenotype(x, { nodes: 2 }).normal));
  });

  test('refusals', () => {
    expectCode(() => deriveGenotype([normal]), 'INVALID_ARGUMENT', /deriveGenotype\.alphas/);
    expectCode(() => deriveGenotype([normal, normal]), 'SHAPE_MISMATCH');
    expectCode(() => deriveGenotype([normal, normal], { nodes: 2, multiplier: 3 }), 'INVALID_ARGUMENT');
  });
});

test('the same seed gives the same search, another seed another', async () => {
  const records = async (seed: number) => {
    const problem = await tasks.nas({ ...tiny, seed });
    using run = search(2).start(problem);
    return [run.step(), run.step(), run.step()].map(({ upper, lower }) => [upper, lower]);
  };
  const first = await records(5);
  expect(await records(5)).toEqual(first);
  expect(await records(6)).not.toEqual(first);
});

const fashion = '/usr/share/datasets/fashion-mnist';
const haveFashion = fs.existsSync(path.join(fashion, 'train-images-idx3-ubyte.gz'));
if (!haveFashion) console.warn(`Fashion-MNIST not found in ${fashion}: the NAS learning test is skipped (apt-get install dataset-fashion-mnist)`);

(haveFashion ? test : test.skip)('real Fashion-MNIST: 60 first-order DARTS steps (C = 4, 3 cells of 2 nodes) beat chance (10%) threefold', async () => {
  const problem = await tasks.nas({ channels: 4, cells: 3, nodes: 2, trainSize: 2000, validationSize: 2000, testSize: 500, metricsSize: 500, batchSize: 32 });
  using run = search().start(problem);
  const before = await problem.metrics(run.values());
  for (let i = 0; i < 60; i++) run.step();
  const after = await problem.metrics(run.values());
  // Measured: 0.098 -> 0.414, test loss 2.304 -> 1.482 (chance: 0.1).
  expect(before.testAccuracy).toBeLessThan(0.2);
  expect(after.testAccuracy).toBeGreaterThan(0.3);
  expect(after.testLoss).toBeLessThan(before.testLoss - 0.3);
  // The network learned the task, not its training half: all three splits agree.
  expect(after.trainAccuracy).toBeGreaterThan(0.3);
  expect(after.validationAccuracy).toBeGreaterThan(0.3);
  expect(Math.abs(after.validationAccuracy - after.testAccuracy)).toBeLessThan(0.1);
  // The alphas moved away from uniform.
  expect(after.normalAlphaEntropy).toBeLessThan(Math.log(8));
}, 120_000);
