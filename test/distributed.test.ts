// Multi-process runs (bilevel run --nproc N; lib/distributed.ts, native/core/distributed): 2 local
// ranks on loopback, each on its half of every mini-batch, against 1 process on the whole batches
// (real MNIST files); a stop reaches both ranks at the same iteration and the run resumes with the
// same world size bit for bit; a rank that dies makes the run fail with a clear error, not hang; a
// few-shot meta-batch splits by tasks; a DARTS search normalizes by the whole batch on every rank;
// a retraining's ranks augment and drop paths of their images as one process does.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Solver, gd, problems, reverse } from '../lib';
import { ProcessGroup } from '../lib/distributed';
import { BilevelError } from '../lib/errors';
import { cliProcess, metricLinesOf, resultOf } from './cli-process';
import { writeIdxDataset } from './idx-files';

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-distributed-'));
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

const mnist = '/usr/share/datasets/mnist';
const config = {
  problem: { name: 'hyper-cleaning', dataset: 'mnist', root: mnist, trainSize: 300, validationSize: 100, testSize: 100, batchSize: 16 },
  solver: { dynamics: { type: 'gd', lr: 0.1, steps: 5 }, hypergradient: { type: 'reverse' }, upper: { optimizer: 'adam', lr: 0.01 } },
  iterations: 40,
  checkpointEvery: 3,
  seed: 4,
  dtype: 'float32',
};
const configFile = path.join(workDir, 'config.json');
fs.writeFileSync(configFile, JSON.stringify(config));

/** The CLI; once the run's metrics file has `afterLines` lines, `act` is called with the child's pid. */
const cli = (args: string[], act?: (pid: number) => void, afterLines = 10, outDir?: string) =>
  cliProcess(args, workDir, act && outDir ? { outDir, afterLines, act } : undefined);
const result = resultOf;
const metricLines = metricLinesOf;
const numbers = (r: Record<string, number>) => [r.iteration, r.upper, r.lower, r.steps, r.gradientNormX];

/** The pid of rank `rank` among the launcher's children (from /proc: their parent and environment). */
function rankPid(launcher: number, rank: number): number {
  const children = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name)).filter((pid) => {
    try {
      // The field after the parenthesized command name: state, then the parent's pid.
      return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(launcher);
    } catch {
      return false; // gone meanwhile
    }
  });
  const found = children.find((pid) => fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`RANK=${rank}`));
  if (found === undefined) throw new Error(`no rank ${rank} among ${children.join(', ')}`);
  return Number(found);
}

(fs.existsSync(mnist) ? describe : describe.skip)('bilevel run --nproc 2 (hyper-cleaning with mini-batches of 16, each rank 8 rows)', () => {
  const single = path.join(workDir, 'single');
  const straight = path.join(workDir, 'two-ranks');
  beforeAll(async () => {
    expect(await cli(['run', configFile, '--out', single, '--quiet'])).toMatchObject({ code: 0, stderr: '' });
    expect(await cli(['run', configFile, '--out', straight, '--quiet', '--nproc', '2'])).toMatchObject({ code: 0, stderr: '' });
  }, 180_000);

  test('2 ranks reach what 1 process reaches on the whole batches, to float32 rounding', () => {
    const one = metricLines(single);
    const two = metricLines(straight);
    expect(two).toHaveLength(40);
    // Each rank's half-batch mean, summed over the ranks and halved, rounds differently from the
    // mean of 16 rows: float32 sums (relative 1e-7 each) compounded over 40 UL iterations of 5 steps.
    two.forEach((line, i) => {
      expect(line.iteration).toBe(one[i].iteration);
      expect(line.upper).toBeCloseTo(one[i].upper, 4);
      expect(line.lower).toBeCloseTo(one[i].lower, 4);
      expect(line.gradientNormX).toBeCloseTo(one[i].gradientNormX, 5);
    });
    const [x1, x2] = [result(single).x[0] as number[], result(straight).x[0] as number[]];
    expect(x2).toHaveLength(300);
    expect(Math.max(...x2.map((v, i) => Math.abs(v - x1[i])))).toBeLessThan(1e-4);
    // The run moved x, so the comparison compares something.
    expect(Math.max(...x1.map(Math.abs))).toBeGreaterThan(1e-2);
    // Only rank 0 wrote: one metrics file, one result.
    expect(result(straight)).toMatchObject({ status: 'completed', iterations: 40 });
  });

  test('stopped (SIGINT to the launcher): both ranks stop after the same iteration; resumed with 2 ranks: bit for bit the straight run', async () => {
    const out = path.join(workDir, 'interrupted');
    const stopped = await cli(['run', configFile, '--out', out, '--quiet', '--nproc', '2'], (pid) => process.kill(pid, 'SIGINT'), 10, out);
    expect(stopped).toMatchObject({ code: 130, stderr: '' });
    expect(result(out).status).toBe('interrupted');
    const resumed = await cli(['run', configFile, '--out', out, '--quiet', '--resume', '--nproc', '2']);
    expect(resumed).toMatchObject({ code: 0, stderr: '' });
    expect(result(out).x).toEqual(result(straight).x);
    expect(result(out).y).toEqual(result(straight).y);
    expect(metricLines(out).map(numbers)).toEqual(metricLines(straight).map(numbers));
  }, 180_000);

  test('a rank that dies (SIGKILL) makes the run fail at once with a DISTRIBUTED error naming the ranks', async () => {
    const longer = path.join(workDir, 'longer.json');
    fs.writeFileSync(longer, JSON.stringify({ ...config, iterations: 100_000 }));
    const out = path.join(workDir, 'killed');
    const started = Date.now();
    const failed = await cli(['run', longer, '--out', out, '--quiet', '--nproc', '2'], (pid) => process.kill(rankPid(pid, 1), 'SIGKILL'), 5, out);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/rank 0 of 2: (a sum over the ranks|a broadcast from rank 0|an agreement of the ranks) failed; another rank has probably stopped or died/);
    expect(failed.stderr).toMatch(/bilevel: rank 0 exited with code 1; rank 1 was killed by SIGKILL\n$/);
    expect(result(out)).toMatchObject({ status: 'failed', error: { code: 'DISTRIBUTED' } });
  }, 120_000);
});

/** `bilevel COMMAND FILE` with `settings` in FILE, by 1 process and by 2 ranks: their output folders and metric lines. */
async function onceAndOnTwoRanks(name: string, settings: object, command = ['run']) {
  const file = path.join(workDir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(settings));
  const [one, two] = [path.join(workDir, `${name}-single`), path.join(workDir, `${name}-two-ranks`)];
  expect(await cli([...command, file, '--out', one, '--quiet'])).toMatchObject({ code: 0, stderr: '' });
  expect(await cli([...command, file, '--out', two, '--quiet', '--nproc', '2'])).toMatchObject({ code: 0, stderr: '' });
  return { one, two, single: metricLines(one), ranks: metricLines(two) };
}

const largestDifference = (a: number[], b: number[]) => a.reduce((largest, v, i) => Math.max(largest, Math.abs(v - b[i])), 0);

(fs.existsSync(mnist) ? test : test.skip)('a few-shot meta-batch split by tasks over 2 ranks (each with its tasks\' heads) reaches what 1 process reaches', async () => {
  const { one, two, single, ranks } = await onceAndOnTwoRanks('few-shot', {
    problem: {
      name: 'few-shot', dataset: 'double-mnist', root: mnist, imagesPerClass: 8, ways: 2, shots: 1, queries: 2, metaBatch: 4, channels: 4,
      evaluationEpisodes: 2, regularizer: 'smoothed-lq',
    },
    solver: { dynamics: { type: 'gd', lr: 0.1, steps: 3 }, hypergradient: { type: 'reverse' }, upper: { optimizer: 'adam', lr: 0.01 } },
    iterations: 6,
    seed: 2,
    dtype: 'float32',
  });
  expect(ranks).toHaveLength(6);
  // float32 sums over the tasks in another order, compounded over 6 UL iterations.
  ranks.forEach((line, i) => {
    expect(line.upper).toBeCloseTo(single[i].upper, 4);
    expect(line.gradientNormX).toBeCloseTo(single[i].gradientNormX, 4);
  });
  // Every task's head: rank 1's tasks were computed by rank 1 alone, and reached rank 0 through the sums.
  const heads = (out: string) => (result(out).y[0] as number[][][]).flat(2);
  const [h1, h2] = [heads(one), heads(two)];
  expect(h2).toHaveLength(4 * 2 * 4 * 1 * 1);
  expect(largestDifference(h2, h1)).toBeLessThan(1e-4);
  expect(Math.min(...[0, 1, 2, 3].map((task) => Math.max(...h1.slice(task * 8, task * 8 + 8).map(Math.abs))))).toBeGreaterThan(1e-4);
}, 180_000);

test('bilevel nas search --nproc 2: the ranks\' batch norms take the whole batch\'s statistics, and the search ends where 1 process\'s does', async () => {
  const root = path.join(workDir, 'idx');
  writeIdxDataset(root, false, {}, { train: 40, test: 10, side: 28 });
  const { one, two, single, ranks } = await onceAndOnTwoRanks('nas', {
    task: { root, channels: 2, cells: 3, nodes: 2, trainSize: 24, validationSize: 12, testSize: 8, batchSize: 4, seed: 5 },
    epochs: 1, iterationsPerEpoch: 4, dtype: 'float64',
  }, ['nas', 'search']);
  expect(ranks).toHaveLength(4);
  // float64: each rank normalizes its 2 images by the statistics of all 4, as one process does.
  ranks.forEach((line, i) => {
    expect(line.upper).toBeCloseTo(single[i].upper, 10);
    expect(line.gradientNormX).toBeCloseTo(single[i].gradientNormX, 10);
  });
  const alphas = (out: string) => (result(out).x as number[][][]).flat(2);
  const [a1, a2] = [alphas(one), alphas(two)];
  expect(largestDifference(a2, a1)).toBeLessThan(1e-10);
  expect(Math.max(...a1.map(Math.abs))).toBeGreaterThan(1e-4);  // the alphas moved
  // Rank 0 wrote the genotype, the one process's.
  const genotype = (out: string) => fs.readFileSync(path.join(out, 'genotype.json'), 'utf8');
  expect(genotype(two)).toBe(genotype(one));
}, 300_000);

test('bilevel nas retrain --nproc 2: each rank\'s images are augmented and their paths dropped as in 1 process, which the training ends at', async () => {
  const root = path.join(workDir, 'idx-retrain');
  writeIdxDataset(root, false, {}, { train: 40, test: 10, side: 28 });
  const genotype = {
    normal: [['sep_conv_3x3', 0], ['skip_connect', 1], ['dil_conv_3x3', 0], ['max_pool_3x3', 2]], normal_concat: [2, 3],
    reduce: [['avg_pool_3x3', 0], ['sep_conv_5x5', 1], ['dil_conv_5x5', 2], ['skip_connect', 1]], reduce_concat: [2, 3],
  };
  // Crops, flips and cutouts of 8 pixels from the first step; drop path 0.6 * epoch / 2 in the second epoch.
  const { one, two, single, ranks } = await onceAndOnTwoRanks('nas-retrain', {
    task: { root, genotype, channels: 2, cells: 3, trainSize: 24, testSize: 10, batchSize: 4, statisticsSize: 16, cutout: 8, dropPath: 0.6, seed: 5 },
    epochs: 2, dtype: 'float64',
  }, ['nas', 'retrain']);
  expect(ranks).toHaveLength(2);
  // float64: per epoch, f at the last mini-batch and F at a test one (each rank's 2 images of 4);
  // sums in another order differ by up to 5e-10 after 12 steps through batch norms of 2 to 8 channels.
  ranks.forEach((line, i) => {
    expect(line.lower).toBeCloseTo(single[i].lower, 8);
    expect(line.upper).toBeCloseTo(single[i].upper, 8);
    expect(line.metrics.testAccuracy).toBe(single[i].metrics.testAccuracy);
    expect(line.metrics.testLoss).toBeCloseTo(single[i].metrics.testLoss, 8);
  });
  const weights = (out: string) => (result(out).y as unknown[]).flat(Infinity) as number[];
  const [w1, w2] = [weights(one), weights(two)];
  expect(w2).toHaveLength(w1.length);
  expect(largestDifference(w2, w1)).toBeLessThan(1e-9);
}, 300_000);

test('ProcessGroup.join refuses malformed variables by name, before any rendezvous', async () => {
  await expect(ProcessGroup.join({ WORLD_SIZE: '2', RANK: '5', MASTER_PORT: '29500' }))
    .rejects.toThrow(new BilevelError('INVALID_ARGUMENT', 'joinProcessGroup: RANK must be an integer in [0, 1]; got \'5\''));
  await expect(ProcessGroup.join({ WORLD_SIZE: '2' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  const alone = await ProcessGroup.join({});
  expect([alone.rank, alone.worldSize]).toEqual([0, 1]);
  alone.dispose();
});

test('a run in a process group advances together: step() is refused, startFromRankZero() says where it starts', async () => {
  using group = await ProcessGroup.join({});
  const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 3 })).hypergradient(reverse()).build();
  using run = solver.start(problems.toy.nonconvex({ n: 2 }), { processGroup: group });
  expect(() => run.step()).toThrow(new BilevelError('INVALID_ARGUMENT',
    'step: a solver in a process group advances with run(), where its ranks agree on every iteration'));
  await expect(run.startFromRankZero()).resolves.toBe(0);
  await expect(run.advance(2, () => undefined)).resolves.toBe(2);
  await expect(run.startFromRankZero()).resolves.toBe(2);
});
