// Retraining a genotype (docs/algorithms.md §14.9): the nas-retrain task under the training
// solver, run by nas.retrain with DARTS's recipe. On generated IDX images: one record per epoch
// with the test metrics and the network's size (against evaluationNetworkSize), a retraining
// stopped after its first epoch and resumed ends bit for bit where a straight one does, and
// solvers that learn x refuse the task. On real Fashion-MNIST: a short retraining learns.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Solver, evaluationNetworkSize, gd, nas, reverse, sgd, tasks, type Genotype, type NasRetrainOptions } from '../lib';
import { main } from '../lib/cli';
import { genotypeText } from '../lib/tasks/nas-retrain';
import { writeIdxDataset } from './idx-files';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-nas-retrain-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const root = path.join(tmp, 'idx');
writeIdxDataset(root, false, {}, { train: 60, test: 20, side: 28 });
const folder = (name: string) => path.join(tmp, name);

// Two nodes per cell: every operation kind appears, a skip connection and a pooling in each cell.
const genotype: Genotype = {
  normal: [['sep_conv_3x3', 0], ['skip_connect', 1], ['dil_conv_3x3', 0], ['max_pool_3x3', 2]],
  normal_concat: [2, 3],
  reduce: [['avg_pool_3x3', 0], ['sep_conv_5x5', 1], ['dil_conv_5x5', 2], ['skip_connect', 1]],
  reduce_concat: [2, 3],
};
const task: Omit<NasRetrainOptions, 'epochs' | 'dtype' | 'device'> = {
  root, genotype, channels: 2, cells: 3, trainSize: 24, testSize: 10, batchSize: 8, statisticsSize: 16, seed: 5,
};

test('the genotype travels to the native task as DARTS\'s fields in order, edge by edge', () => {
  expect(genotypeText(genotype)).toBe('normal=sep_conv_3x3:0,skip_connect:1,dil_conv_3x3:0,max_pool_3x3:2;normal_concat=2,3;'
    + 'reduce=avg_pool_3x3:0,sep_conv_5x5:1,dil_conv_5x5:2,skip_connect:1;reduce_concat=2,3');
});

describe('a retraining of 2 epochs (3 steps each)', () => {
  let straight: Awaited<ReturnType<typeof nas.retrain>>;
  const seen: unknown[] = [];
  beforeAll(async () => {
    straight = await nas.retrain({ out: folder('straight'), task, epochs: 2, onEpoch: (record) => seen.push(record) });
  }, 120_000);

  test('one record per epoch with the test metrics; the size is the evaluation network\'s without its head', () => {
    expect(straight.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(seen).toEqual(straight.epochs);
    expect(straight.parameters).toBe(evaluationNetworkSize(genotype, { channels: 2, cells: 3, inChannels: 1, classes: 10 }));
    for (const { metrics, lower, upper } of straight.epochs) {
      expect(Object.keys(metrics).sort()).toEqual(['parameters', 'testAccuracy', 'testLoss']);
      expect(metrics.testAccuracy * 10).toBeCloseTo(Math.round(metrics.testAccuracy * 10), 9);  // k of 10 test images
      expect(Number.isFinite(lower) && Number.isFinite(upper)).toBe(true);
    }
    expect(straight.testAccuracy).toBe(straight.epochs[1].metrics.testAccuracy);
    const lines = fs.readFileSync(path.join(folder('straight'), 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.steps)).toEqual([3, 3]);  // ceil(24 / 8) steps an epoch
    expect(straight.result.x).toEqual([]);
  });

  test('stopped after its first epoch and resumed, it ends bit for bit where the straight one does', async () => {
    const stop = new AbortController();
    const options = { out: folder('resumed'), task, epochs: 2 };
    const stopped = await nas.retrain({ ...options, signal: stop.signal, onEpoch: () => stop.abort() });
    expect(stopped.result.status).toBe('interrupted');
    const resumed = await nas.retrain({ ...options, resume: true });
    expect(resumed.result.y).toEqual(straight.result.y);
    const withoutTime = (records: typeof straight.epochs) => records.map(({ seconds: _seconds, ...rest }) => rest);
    expect(withoutTime(resumed.epochs)).toEqual(withoutTime(straight.epochs));
  }, 120_000);
});

test('solvers that learn x refuse a problem without UL variables; settings are validated', async () => {
  using problem = await tasks.nasRetrain({ ...task, epochs: 1 });
  expect(problem.initial().x).toEqual([]);
  const trajectory = Solver.builder().dynamics(gd({ steps: 1 })).hypergradient(reverse()).upper(sgd()).build();
  expect(() => trajectory.start(problem)).toThrow(/a trajectory solver learns x, and this problem has no UL variables .*use the training solver/);
  expect(() => Solver.bamm().start(problem)).toThrow(/sl-BAMM learns x/);
  await expect(nas.retrain({ out: folder('bad'), task: { ...task, dropPath: 1 }, epochs: 1 })).rejects.toThrow(/dropPath/);
  await expect(tasks.nasRetrain({ ...task, statisticsSize: 30 })).rejects.toThrow(/statisticsSize must be <= trainSize = 24/);
});

test('bilevel nas retrain: the genotype from a file beside the settings, a line per epoch, then the summary', async () => {
  const { root: _root, genotype: _genotype, ...rest } = task;
  const file = path.join(tmp, 'retrain.json');
  fs.writeFileSync(file, JSON.stringify({ task: { ...rest, root: 'idx' }, epochs: 2 }));
  fs.writeFileSync(path.join(tmp, 'genotype.json'), JSON.stringify(genotype));
  let stdout = '';
  const terminal = { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: () => true } };
  const code = await main(['nas', 'retrain', file, '--genotype', path.join(tmp, 'genotype.json'), '--out', folder('cli')], terminal);
  expect(code).toBe(0);
  const lines = stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^epoch 1: test \d+\.\d\d%, f [0-9.]+, [0-9.]+ s$/);
  expect(lines[2]).toMatch(/^completed 2 iterations in .*; test accuracy \d+\.\d\d%, \d+ parameters$/);
  // The same run as nas.retrain's straight one: the file's settings are the same.
  expect(JSON.parse(fs.readFileSync(path.join(folder('cli'), 'result.json'), 'utf8')).y)
    .toEqual(JSON.parse(fs.readFileSync(path.join(folder('straight'), 'result.json'), 'utf8')).y);
}, 120_000);

const fashion = '/usr/share/datasets/fashion-mnist';
const haveFashion = fs.existsSync(path.join(fashion, 'train-images-idx3-ubyte.gz'));
(haveFashion ? test : test.skip)('real Fashion-MNIST: 2 epochs of 1024 images (C = 4, 3 cells) test far above chance (10%)', async () => {
  const { epochs } = await nas.retrain({
    out: folder('fashion'), epochs: 2,
    task: { genotype, channels: 4, cells: 3, trainSize: 1024, testSize: 500, batchSize: 32, statisticsSize: 512, seed: 0 },
  });
  // Measured: 36.2% after the first epoch, 49.0% after the second.
  expect(epochs[1].metrics.testAccuracy).toBeGreaterThan(0.4);
}, 300_000);
