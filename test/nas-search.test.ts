// nas.search (docs/algorithms.md §14.7) on a generated IDX dataset: one record per epoch with
// the metrics, the genotype and the alphas' softmax of that epoch's end, each consistent with the
// run's own files; a search stopped after its first epoch and resumed ends where a straight one
// does; every method of the paper runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deriveGenotype, nas, nasMethods, tensor, type NasEpochRecord, type NasOptions } from '../lib';
import { main } from '../lib/cli';
import { validate } from '../lib/config';
import { nasRetrainRunConfig } from '../lib/nas/retrain';
import { nasRunConfig } from '../lib/nas/search';
import { NasSweepSchema } from '../lib/nas/sweep';
import { writeIdxDataset } from './idx-files';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-nas-search-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const root = path.join(tmp, 'idx');
writeIdxDataset(root, false, {}, { train: 60, test: 20, side: 28 });
const task: NasOptions = { root, channels: 2, cells: 3, nodes: 2, trainSize: 30, validationSize: 20, testSize: 10, batchSize: 4, seed: 3 };
const folder = (name: string) => path.join(tmp, name);
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

const softmax = (row: number[]) => {
  const e = row.map(Math.exp);
  const total = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / total);
};

describe('a second-order search of 2 epochs of 3 UL iterations', () => {
  const epochsSeen: NasEpochRecord[] = [];
  let searched: Awaited<ReturnType<typeof nas.search>>;
  beforeAll(async () => {
    searched = await nas.search({
      out: folder('straight'), task, method: 'darts-second-order', epochs: 2, iterationsPerEpoch: 3,
      onEpoch: (record) => epochsSeen.push(record),
    });
  }, 120_000);

  test('one record per epoch, told as each ended and read back from metrics.jsonl alike', () => {
    expect(searched.epochs.map((e) => [e.epoch, e.iterations])).toEqual([[1, 3], [2, 3]]);
    expect(epochsSeen).toEqual(searched.epochs);
    const lines = fs.readFileSync(path.join(folder('straight'), 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    const [first] = searched.epochs;
    const firstLines = lines.slice(0, 3);
    expect(first.upper).toBeCloseTo(firstLines.reduce((s, l) => s + l.upper, 0) / 3, 12);
    expect(first.seconds).toBeCloseTo(firstLines.reduce((s, l) => s + l.unrollMs + l.hypergradientMs + l.updateMs, 0) / 1000, 12);
    expect(first.kBar).toBe(1);
    expect(lines[2].metrics).toEqual(first.metrics);
    for (const e of searched.epochs) {
      expect(Object.keys(e.metrics).sort()).toEqual([
        'normalAlphaEntropy', 'normalSkipConnections', 'reduceAlphaEntropy', 'testAccuracy', 'testLoss',
        'trainAccuracy', 'trainLoss', 'validationAccuracy', 'validationLoss',
      ]);
    }
  });

  test('the last epoch\'s genotype and softmax are those of the final alphas in result.json', () => {
    const result = readJson(path.join(folder('straight'), 'result.json'));
    expect(result.status).toBe('completed');
    const [normal, reduce] = result.x as number[][][];
    const last = searched.epochs[1];
    last.alphaSoftmax.normal.forEach((row, i) => row.forEach((p, j) => expect(p).toBeCloseTo(softmax(normal[i])[j], 12)));
    last.alphaSoftmax.reduce.forEach((row, i) => row.forEach((p, j) => expect(p).toBeCloseTo(softmax(reduce[i])[j], 12)));
    const x = [tensor(normal.flat(), [normal.length, 8]), tensor(reduce.flat(), [reduce.length, 8])];
    expect(deriveGenotype(x, { nodes: 2 })).toEqual(searched.genotype);
    expect(last.genotype).toEqual(searched.genotype);
    expect(result.solution.genotype).toEqual(searched.genotype);
    // The alphas moved: the two epochs end at different softmaxes.
    expect(searched.epochs[0].alphaSoftmax).not.toEqual(last.alphaSoftmax);
  });

  test('stopped after its first epoch and resumed, it ends bit for bit where the straight search ends', async () => {
    const out = folder('resumed');
    const stop = new AbortController();
    const options = { out, task, method: 'darts-second-order' as const, epochs: 2, iterationsPerEpoch: 3 };
    const stopped = await nas.search({ ...options, signal: stop.signal, onEpoch: () => stop.abort() });
    expect(stopped.result.status).toBe('interrupted');
    expect(stopped.epochs).toHaveLength(1);
    const resumed = await nas.search({ ...options, resume: true });
    expect(resumed.result.status).toBe('completed');
    expect(resumed.result.x).toEqual(searched.result.x);
    expect(resumed.result.y).toEqual(searched.result.y);
    const withoutTime = (records: NasEpochRecord[]) => records.map(({ seconds: _seconds, ...rest }) => rest);
    expect(withoutTime(resumed.epochs)).toEqual(withoutTime(searched.epochs));
  }, 120_000);
});

test.each(nasMethods)('%s runs an epoch of 2 UL iterations', async (method) => {
  const { epochs } = await nas.search({ out: folder(method), task, method, lowerSteps: 2, iterationsPerEpoch: 2 });
  expect(epochs).toHaveLength(1);
  expect(Number.isFinite(epochs[0].upper)).toBe(true);
  expect(epochs[0].kBar).toBeLessThanOrEqual(method.startsWith('darts') ? 1 : 2);
}, 60_000);

test('a folder in use is refused unless the search resumes there', async () => {
  await expect(nas.search({ out: folder('straight'), task, iterationsPerEpoch: 1 })).rejects.toThrow(/not empty; pass resume: true/);
});

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } });
  return { code, stdout, stderr };
}

describe('bilevel nas search | derive', () => {
  // The search file sits beside the data: its task.root is relative to the file.
  const file = path.join(tmp, 'search.json');
  const { root: _root, ...rest } = task;
  fs.writeFileSync(file, JSON.stringify({ task: { ...rest, root: 'idx' }, method: 'darts-first-order', epochs: 2, iterationsPerEpoch: 2 }));

  test('a line per epoch, genotype.json, and derive prints the same genotype from result.json', async () => {
    const out = folder('cli');
    const searched = await cli(['nas', 'search', file, '--out', out]);
    expect(searched.code).toBe(0);
    const lines = searched.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^epoch 1: train \d+\.\d\d% valid \d+\.\d\d% test \d+\.\d\d%, skip \d, Kbar 1, F [0-9.]+, [0-9.]+ s$/);
    expect(lines[1]).toMatch(/^epoch 2: /);
    expect(lines[2]).toMatch(/^completed 4 iterations in .*; genotype in .*genotype\.json$/);
    const genotype = readJson(path.join(out, 'genotype.json'));
    expect(genotype.normal).toHaveLength(4); // 2 nodes, 2 edges each
    const derived = await cli(['nas', 'derive', out]);
    expect(derived).toEqual({ code: 0, stdout: `${JSON.stringify(genotype)}\n`, stderr: '' });
  }, 60_000);

  test('refusals exit with 2 and name what is at fault', async () => {
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ method: 'darts-third-order' }));
    const refused = await cli(['nas', 'search', bad, '--out', folder('bad')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^.*bad\.json: search\.method: must be /);
    expect((await cli(['nas', 'derive', tmp])).stderr).toMatch(/result\.json: cannot read the run's result \(ENOENT\)/);
    expect((await cli(['nas', 'evaluate'])).stderr).toMatch(/nas: expected search, derive, retrain or sweep; got "evaluate"/);
  });
});

const examples = path.join(__dirname, '..', 'examples', 'searches');
test.each(fs.readdirSync(examples))('examples/searches/%s is a valid search, sweep or retraining file', (name) => {
  const settings = readJson(path.join(examples, name));
  if ('methods' in settings) expect(validate(NasSweepSchema, settings, name).methods.length).toBeGreaterThan(0);
  else if (settings.task?.genotype !== undefined) expect(nasRetrainRunConfig(settings, name).iterations).toBeGreaterThan(0);
  else expect(nasRunConfig(settings, name).iterations).toBeGreaterThan(0);
});

