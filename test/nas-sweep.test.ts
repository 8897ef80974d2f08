// nas.sweep (docs/algorithms.md §14.8) on a generated IDX dataset: two searches as processes of
// their own; a sweep killed (SIGKILL, with its running search) in the middle of a search and then
// continued ends with the summary of a sweep run straight through; the summary against the
// searches' own result files; each genotype retrained briefly and the method's selected by the
// held-out accuracy; another sweep's folder is refused.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { evaluationNetworkSize, nas, type NasSweepSettings, type NasSweepSummary, type SweepRun } from '../lib';
import { writeIdxDataset } from './idx-files';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-nas-sweep-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const root = path.join(tmp, 'idx');
writeIdxDataset(root, false, {}, { train: 60, test: 20, side: 28 });
const settings: NasSweepSettings = {
  methods: ['darts-first-order'],
  seeds: [1, 2],
  search: {
    task: { root, channels: 2, cells: 3, nodes: 2, trainSize: 30, validationSize: 20, testSize: 10, batchSize: 4 },
    epochs: 2, iterationsPerEpoch: 3,
  },
  shortRetrain: { epochs: 1, task: { channels: 2, cells: 3, trainSize: 24, validationSize: 12, testSize: 10, batchSize: 8, statisticsSize: 16 } },
};
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let straight: NasSweepSummary;
beforeAll(async () => {
  straight = await nas.sweep({ ...settings, out: path.join(tmp, 'straight') });
}, 240_000);

test('every search completes; the summary is the mean and std of their own results', () => {
  const out = path.join(tmp, 'straight');
  const manifest = readJson(path.join(out, 'sweep.json'));
  expect(manifest.runs.map((r: SweepRun) => [r.name, r.status, r.retrain?.status])).toEqual([
    ['darts-first-order-seed1', 'completed', 'completed'], ['darts-first-order-seed2', 'completed', 'completed'],
  ]);
  expect({ ...readJson(path.join(out, 'summary.json')), stopped: false }).toEqual(straight);
  expect(fs.existsSync(path.join(out, 'report.html'))).toBe(true);
  const [first] = straight.methods;
  const accuracies = [1, 2].map((seed) => readJson(path.join(out, 'runs', `darts-first-order-seed${seed}`, 'result.json')).metrics.testAccuracy);
  const mean = (accuracies[0] + accuracies[1]) / 2;
  expect(first.testAccuracy.mean).toBeCloseTo(mean, 12);
  expect(first.testAccuracy.std).toBeCloseTo(Math.abs(accuracies[0] - accuracies[1]) / Math.SQRT2, 12);
  expect(first.genotypes.map((g) => g.seed)).toEqual([1, 2]);
  expect(first.genotypes[0].genotype).toEqual(readJson(path.join(out, 'runs', 'darts-first-order-seed1', 'genotype.json')));
  // Sizes at DARTS's evaluation network, with Fashion-MNIST's one channel.
  expect(first.genotypes[1].parameters).toBe(evaluationNetworkSize(first.genotypes[1].genotype, { inChannels: 1 }));
  expect(first.parameters.mean).toBe((first.genotypes[0].parameters + first.genotypes[1].parameters) / 2);
  // The seed reaches the search: two seeds, two different searches.
  expect(accuracies[0] === accuracies[1] && first.genotypes[0].genotype === first.genotypes[1].genotype).toBe(false);
  expect(straight.failed).toEqual([]);
});

test('each genotype is retrained briefly from its search\'s genotype.json, and the best held-out accuracy selects', () => {
  const out = path.join(tmp, 'straight');
  const [first] = straight.methods;
  const retrained = [1, 2].map((seed) => readJson(path.join(out, 'runs', `darts-first-order-seed${seed}-retrain`, 'result.json')));
  retrained.forEach((result, i) => {
    expect(result.config.problem.genotype).toEqual(first.genotypes[i].genotype);
    expect(result.config.problem.seed).toBe(i + 1);
    expect(first.genotypes[i].shortRetrain).toEqual(result.metrics);
    expect(Object.keys(result.metrics).sort()).toEqual(['parameters', 'testAccuracy', 'testLoss', 'validationAccuracy', 'validationLoss']);
  });
  const [a, b] = retrained.map((r) => r.metrics.validationAccuracy);
  const best = b > a ? 1 : 0;
  expect(first.selected).toEqual({
    seed: best + 1, genotype: first.genotypes[best].genotype, validationAccuracy: retrained[best].metrics.validationAccuracy,
    testAccuracy: retrained[best].metrics.testAccuracy,
  });
});

test('a short retraining without held-out images is refused before anything runs', async () => {
  const out = path.join(tmp, 'no-validation');
  const shortRetrain = { epochs: 1, task: { trainSize: 24 } };
  await expect(nas.sweep({ ...settings, shortRetrain, out })).rejects.toThrow(/shortRetrain\.task\.validationSize: .* give it >= 1/);
  expect(fs.existsSync(out)).toBe(false);
});

test('killed in the middle of a search and continued, it ends with the straight sweep\'s summary', async () => {
  const out = path.join(tmp, 'killed');
  const file = path.join(tmp, 'sweep.json');
  fs.writeFileSync(file, JSON.stringify(settings));
  const cli = path.join(__dirname, '..', 'lib', 'cli.ts');
  const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, cli, 'nas', 'sweep', file, '--out', out],
    { detached: true, stdio: 'ignore' });
  // Wait for one search done and the next one past its first epoch's checkpoint, for as long as
  // the sweep runs (a loaded machine is slow; the test's timeout bounds the wait).
  let exited = false;
  child.on('exit', () => { exited = true; });
  let midway = false;
  while (!midway && !exited) {
    await sleep(50);
    const manifestFile = path.join(out, 'sweep.json');
    if (!fs.existsSync(manifestFile)) continue;
    const runs: SweepRun[] = readJson(manifestFile).runs;
    const running = runs.find((r) => r.status === 'running');
    midway = runs.some((r) => r.status === 'completed') && running !== undefined
      && fs.existsSync(path.join(out, 'runs', running.name, 'checkpoint.bin'));
  }
  expect(midway).toBe(true);
  process.kill(-child.pid!, 'SIGKILL'); // the sweep and its search, as a closed terminal's group
  await new Promise((resolve) => child.on('close', resolve));
  const before: SweepRun[] = readJson(path.join(out, 'sweep.json')).runs;
  expect(before.filter((r) => r.status === 'completed').length).toBeGreaterThanOrEqual(1);
  expect(before.filter((r) => r.status !== 'completed').length).toBeGreaterThanOrEqual(1);
  const continued = await nas.sweep({ ...settings, out });
  expect(continued).toEqual({ ...straight, stopped: false });
}, 360_000);

test('a folder holding another sweep is refused', async () => {
  await expect(nas.sweep({ ...settings, seeds: [7], out: path.join(tmp, 'straight') })).rejects.toThrow(/the sweep there has other settings/);
});
