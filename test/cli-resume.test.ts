// bilevel run --resume: a run interrupted (Ctrl-C, or SIGKILL at any moment) and resumed ends bit
// for bit where an uninterrupted run ends, also when metrics lines were lost with the machine (the
// checkpoint is the truth); checkpoints of another config are refused.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configHash } from '../lib/engine/checkpoint';
import { parseRunConfig } from '../lib/run-config';
import { cliProcess, metricLinesOf, resultOf } from './cli-process';

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-resume-'));
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

const config = {
  problem: { name: 'toy/nonconvex', n: 200 },
  solver: {
    dynamics: { type: 'gd', lr: 0.1, steps: 100 },
    hypergradient: { type: 'reverse' },
    initAuxiliary: { optimizer: 'adam', lr: 0.05 },
    truncation: 'pessimistic',
    upper: { optimizer: 'adam', lr: 0.01 },
  },
  iterations: 300,
  checkpointEvery: 7,
  seed: 0,
  dtype: 'float64',
};
const configFile = path.join(workDir, 'config.json');
fs.writeFileSync(configFile, JSON.stringify(config));

// Runs the CLI; `stopAfterLines` metrics lines later it sends `stopWith`.
const cli = (args: string[], stopWith?: NodeJS.Signals, stopAfterLines = 20, outDir?: string) => cliProcess(args, workDir,
  stopWith && outDir ? { outDir, afterLines: stopAfterLines, act: (pid) => process.kill(pid, stopWith) } : undefined);
const result = resultOf;
const metricLines = metricLinesOf;
const numbers = (r: Record<string, number>) => [r.iteration, r.upper, r.lower, r.steps, r.gradientNormX, r.gradientNormZ];

describe('bilevel run --resume', () => {
  const straight = path.join(workDir, 'straight');
  beforeAll(async () => {
    expect((await cli(['run', configFile, '--out', straight, '--quiet'])).code).toBe(0);
  }, 120_000);

  test.each([['SIGINT'], ['SIGKILL']] as const)('interrupted by %s and resumed: the same result, bit for bit', async (signal) => {
    const out = path.join(workDir, `resumed-${signal}`);
    const stopped = await cli(['run', configFile, '--out', out, '--quiet'], signal, 40, out);
    if (signal === 'SIGINT') expect(stopped.code).toBe(130);
    else expect(stopped.signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(out, 'checkpoint.bin'))).toBe(true);
    const resumed = await cli(['run', configFile, '--out', out, '--quiet', '--resume']);
    expect(resumed).toMatchObject({ code: 0, stderr: '' });
    const expected = result(straight);
    const actual = result(out);
    expect(actual.status).toBe('completed');
    expect(actual.x).toEqual(expected.x);
    expect(actual.y).toEqual(expected.y);
    expect(actual.z).toEqual(expected.z);
    expect(metricLines(out).map(numbers)).toEqual(metricLines(straight).map(numbers));
  }, 120_000);

  // The last metrics lines are not fsynced, the checkpoint is: after a power loss the file can end
  // before the checkpoint's iteration, and its last line can be cut short.
  test.each([['whole', ''], ['with the last one cut short', '{"iteration":90,"upper":']])(
    'metrics lines lost before the checkpoint (%s): the run continues from the checkpoint and says how many are lost',
    async (name, cutShort) => {
      const out = path.join(workDir, `lost-lines-${name.replace(/\W+/g, '-')}`);
      expect(await cli(['run', configFile, '--out', out, '--quiet', '--iterations', '100'])).toMatchObject({ code: 0, stderr: '' });
      const metricsFile = path.join(out, 'metrics.jsonl');
      const lines = fs.readFileSync(metricsFile, 'utf8').split('\n');
      fs.writeFileSync(metricsFile, `${lines.slice(0, 90).join('\n')}\n${cutShort}`);
      const resumed = await cli(['run', configFile, '--out', out, '--quiet', '--resume']);
      expect(resumed).toEqual({
        code: 0, signal: null,
        stderr: `${metricsFile}: 10 of the 100 lines before the checkpoint's iteration 100 are missing ` +
          '(not on disk when the run stopped); they are lost, and the run continues from the checkpoint\n',
      });
      const expected = result(straight);
      const actual = result(out);
      expect(actual).toMatchObject({ status: 'completed', iterations: 300, upper: expected.upper, lower: expected.lower });
      expect(actual.x).toEqual(expected.x);
      expect(actual.y).toEqual(expected.y);
      expect(actual.z).toEqual(expected.z);
      const straightLines = metricLines(straight).map(numbers);
      expect(metricLines(out).map(numbers)).toEqual([...straightLines.slice(0, 90), ...straightLines.slice(100)]);
    },
    120_000,
  );

  test('a checkpoint of another config is refused and nothing is run', async () => {
    const out = path.join(workDir, 'other');
    fs.mkdirSync(out);
    fs.copyFileSync(path.join(straight, 'checkpoint.bin'), path.join(out, 'checkpoint.bin'));
    const other = path.join(workDir, 'other.json');
    fs.writeFileSync(other, JSON.stringify({ ...config, seed: 1 }));
    const refused = await cli(['run', other, '--out', out, '--quiet', '--resume']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/checkpoint\.bin: the checkpoint belongs to another config/);
    expect(fs.existsSync(path.join(out, 'result.json'))).toBe(false);
    fs.writeFileSync(path.join(out, 'checkpoint.bin'), 'garbage');
    const corrupt = await cli(['run', configFile, '--out', out, '--quiet', '--resume']);
    expect(corrupt.code).not.toBe(0);
    expect(corrupt.stderr).toMatch(/checkpoint\.bin: not a readable checkpoint/);
  }, 60_000);

  test('the config hash a checkpoint records: the same whatever the field order and the recording fields', () => {
    const hashOf = (value: unknown) => configHash(parseRunConfig(JSON.stringify(value), 'config.json'));
    const reversed = (value: Record<string, unknown>) => Object.fromEntries(Object.entries(value).reverse());
    const reordered = { ...reversed(config), solver: reversed(config.solver), problem: reversed(config.problem) };
    expect(hashOf(reordered)).toBe(hashOf(config));
    expect(hashOf({ ...config, iterations: 5, checkpointEvery: 1, metricsEvery: 2 })).toBe(hashOf(config));
    expect(hashOf({ ...config, seed: 1 })).not.toBe(hashOf(config));
    expect(hashOf({ ...config, solver: { ...config.solver, upper: { optimizer: 'adam', lr: 0.02 } } })).not.toBe(hashOf(config));
  });
});

// Mini-batches come from the task's sampler, whose generator state the checkpoint holds: a run
// killed mid-way and resumed draws the batches an uninterrupted run draws (real MNIST files).
describe('bilevel run --resume with mini-batches', () => {
  const mnist = '/usr/share/datasets/mnist';
  const miniBatchConfig = {
    problem: { name: 'hyper-cleaning', dataset: 'mnist', root: mnist, trainSize: 300, validationSize: 100, testSize: 100, batchSize: 16 },
    solver: { dynamics: { type: 'gd', lr: 0.1, steps: 5 }, hypergradient: { type: 'reverse' }, upper: { optimizer: 'adam', lr: 0.01 } },
    iterations: 80,
    checkpointEvery: 3,
    seed: 4,
    dtype: 'float32',
  };
  const file = path.join(workDir, 'mini-batch.json');
  fs.writeFileSync(file, JSON.stringify(miniBatchConfig));

  (fs.existsSync(mnist) ? test : test.skip)('killed and resumed: the same result as a run straight through, bit for bit', async () => {
    const straight = path.join(workDir, 'mini-batch-straight');
    expect(await cli(['run', file, '--out', straight, '--quiet'])).toMatchObject({ code: 0, stderr: '' });
    const out = path.join(workDir, 'mini-batch-resumed');
    expect((await cli(['run', file, '--out', out, '--quiet'], 'SIGKILL', 20, out)).signal).toBe('SIGKILL');
    expect(await cli(['run', file, '--out', out, '--quiet', '--resume'])).toMatchObject({ code: 0, stderr: '' });
    expect(result(out).status).toBe('completed');
    expect(result(out).y).toEqual(result(straight).y);
    expect(result(out).x).toEqual(result(straight).x);
    expect(metricLines(out).map(numbers)).toEqual(metricLines(straight).map(numbers));
    // The batches matter: the full batch ends elsewhere.
    const fullBatch = path.join(workDir, 'full-batch.json');
    fs.writeFileSync(fullBatch, JSON.stringify({ ...miniBatchConfig, problem: { ...miniBatchConfig.problem, batchSize: 0 } }));
    const full = path.join(workDir, 'full-batch');
    expect(await cli(['run', fullBatch, '--out', full, '--quiet'])).toMatchObject({ code: 0, stderr: '' });
    expect(result(full).lower).not.toBe(result(straight).lower);
  }, 120_000);
});
