// `bilevel compare` on the toy problems and on few-shot (MAML's own layout beside the heads'), and
// hyper-cleaning run configs (metricsEvery, priorAnchor, malformed problem members) on small
// generated IDX files. Everything calls main() of lib/cli.ts
// in this process: each child process would load LibTorch again.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../lib/cli';
import { methodNames, methodsFor } from '../lib/method-presets';
import { writeIdxDataset } from './idx-files';

interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

let workDir: string;
let dataDir: string;
beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-cli-compare-'));
  dataDir = path.join(workDir, 'idx');
  writeIdxDataset(dataDir);
});
afterAll(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } });
  return { code, stdout, stderr };
}

function writeConfig(name: string, config: unknown): string {
  const file = path.join(workDir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

const readJson = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
const readMetrics = (dir: string) =>
  fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const METRIC_NAMES = ['f1', 'precision', 'recall', 'testAccuracy', 'validationLoss'];

const hyperCleaning = (extra: Record<string, unknown> = {}) => ({
  problem: { name: 'hyper-cleaning', dataset: 'mnist', root: dataDir, trainSize: 20, validationSize: 10, testSize: 15, ...extra },
  solver: {
    dynamics: { type: 'gd', lr: 0.1, steps: 3 },
    hypergradient: { type: 'reverse' },
    initAuxiliary: { optimizer: 'sgd', lr: 0.1 },
    truncation: 'pessimistic',
    upper: { optimizer: 'adam', lr: 0.1 },
  },
  iterations: 7,
  dtype: 'float32',
});

describe('compare', () => {
  const nonconvex = {
    problem: { name: 'toy/nonconvex', x0: [-6], y0: [0] },
    solver: { dynamics: { type: 'gd', lr: 0.1, steps: 50 }, hypergradient: { type: 'reverse' }, upper: { optimizer: 'sgd', lr: 0.01 } },
    iterations: 600,
  };

  test('rhg, iaptt and ait on Eq. 20 from (-6, 0): outputs per method, compare.json, the table; IA + PTT ends nearer x*', async () => {
    const out = path.join(workDir, 'compare-nonconvex');
    const { code, stdout, stderr } = await cli(['compare', writeConfig('nonconvex', nonconvex), '--methods', 'rhg,iaptt,ait', '--out', out]);
    expect(code).toBe(0);
    // Not a terminal: each method's progress as plain lines on stderr, every 10%, named by the method.
    const progress = stderr.trim().split('\n');
    expect(progress.map((line) => line.split(' ').slice(0, 3).join(' '))).toEqual(['rhg', 'iaptt', 'ait'].flatMap((method) =>
      Array.from({ length: 10 }, (_, i) => `${method}: iteration ${60 * (i + 1)}/600`)));
    // stdout: the results only, a summary line per method, then the table (columns padded to their width).
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(3 + 2 + 3);
    expect(lines.slice(0, 3).map((line) => line.split(':')[0])).toEqual(['rhg', 'iaptt', 'ait']);
    const cells = (line: string) => line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
    expect(cells(lines[3])).toEqual(['method', 'final F', 'Kbar (last)', 'ms / iteration', 'peak MiB', '\\|\\|x - x*\\|\\| / \\|\\|x*\\|\\|']);
    expect(cells(lines[4])).toEqual([expect.stringMatching(/^:-+$/), ...Array(5).fill(expect.stringMatching(/^-+:$/))]);
    expect(lines.slice(3).map((line) => line.length)).toEqual(Array(5).fill(lines[3].length));
    expect(lines.slice(5).map((line) => cells(line)[0])).toEqual(['rhg', 'iaptt', 'ait']);
    const compare = readJson(path.join(out, 'compare.json')) as unknown as {
      methods: { method: string; status: string; iterations: number; upper: number; kBarLast: number; msPerIteration: number;
        peakBytes: number; distanceToOptimum: number; outDir: string; solver: Record<string, unknown> }[];
    };
    expect(compare.methods.map((m) => m.method)).toEqual(['rhg', 'iaptt', 'ait']);
    for (const m of compare.methods) {
      expect(m).toMatchObject({ status: 'completed', iterations: 600, outDir: m.method });
      expect(m.msPerIteration).toBeGreaterThan(0);
      expect(m.peakBytes).toBeGreaterThan(0);
      const dir = path.join(out, m.method);
      const records = readMetrics(dir);
      expect(records).toHaveLength(600);
      const result = readJson(path.join(dir, 'result.json'));
      expect(result).toMatchObject({ status: 'completed', upper: records[599].upper, distanceToOptimum: m.distanceToOptimum });
      expect(result.metrics).toBeUndefined(); // a toy has no task metrics
      expect(m.kBarLast).toBe((result.kBar as { last: number }).last);
    }
    const [rhg, iaptt, ait] = compare.methods;
    // Only the method-specific parts differ: K, the LL step and the UL optimizer are the config's.
    expect(rhg.solver).toMatchObject({ dynamics: { type: 'gd', lr: 0.1, steps: 50 }, hypergradient: { type: 'reverse' }, initAuxiliary: false });
    expect(iaptt.solver).toMatchObject({ dynamics: { type: 'gd', lr: 0.1, steps: 50 }, truncation: 'pessimistic', initAuxiliary: { optimizer: 'sgd', lr: 0.1 } });
    // AIT keeps the config's own dynamics (gd here), so it is IAPTT-GM on this config.
    expect(ait.solver).toMatchObject({ dynamics: { type: 'gd', lr: 0.1, steps: 50 }, truncation: 'pessimistic' });
    // RHG stalls in a local basin (about 2.6); IA + PTT with gd reaches 3 pi / 4.
    expect(rhg.distanceToOptimum).toBeGreaterThan(1);
    expect(iaptt.distanceToOptimum).toBeLessThan(0.01);
    expect(ait.distanceToOptimum).toBe(iaptt.distanceToOptimum);
  });

  test('every method preset that applies builds a valid solver from one config; aitp with priorAnchor runs', async () => {
    const out = path.join(workDir, 'compare-all');
    const config = { ...nonconvex, iterations: 3, priorAnchor: { pretrainSteps: 5, lr: 0.1 } };
    const methods = methodsFor('toy/nonconvex');
    expect(methods).not.toContain('maml');
    const { code, stdout, stderr } = await cli(['compare', writeConfig('all', config), '--methods', methods.join(','), '--out', out, '--quiet']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout.trim().split('\n')).toHaveLength(2 + methods.length); // the table only
    const compare = readJson(path.join(out, 'compare.json')) as { methods: { method: string; status: string; solver: { prior: unknown } }[] };
    expect(compare.methods.map((m) => [m.method, m.status])).toEqual(methods.map((name) => [name, 'completed']));
    expect(compare.methods.find((m) => m.method === 'aitp')?.solver.prior).toEqual({ weight: 1, iterations: 0 });
  });

  test('a method that needs a task of its own (maml: few-shot) is refused on another problem, naming those that apply', async () => {
    const { code, stderr } = await cli(['compare', writeConfig('maml-toy', nonconvex), '--methods', 'rhg,maml', '--out', path.join(workDir, 'maml-toy')]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/maml does not apply to toy\/nonconvex \(it does: rhg, trhg, /);
  });

  const mnist = '/usr/share/datasets/mnist';
  (fs.existsSync(`${mnist}/train-images-idx3-ubyte`) ? test : test.skip)('few-shot: RHG on the heads and MAML on its own layout, side by side', async () => {
    const out = path.join(workDir, 'few-shot-compare');
    const config = {
      problem: { name: 'few-shot', root: mnist, imagesPerClass: 6, imageSize: 16, ways: 3, shots: 1, queries: 2, metaBatch: 2, channels: 2, evaluationEpisodes: 3 },
      solver: { dynamics: { type: 'gd', lr: 0.1, steps: 2 }, hypergradient: { type: 'reverse' }, upper: { optimizer: 'adam', lr: 0.001 } },
      iterations: 2, seed: 1,
    };
    const { code, stderr } = await cli(['compare', writeConfig('few-shot', config), '--methods', 'rhg,maml', '--out', out, '--quiet']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const compare = readJson(path.join(out, 'compare.json')) as { methods: { method: string; status: string; metrics: Record<string, number> }[] };
    expect(compare.methods.map((m) => [m.method, m.status])).toEqual([['rhg', 'completed'], ['maml', 'completed']]);
    expect(compare.methods.every((m) => m.metrics.testEpisodes === 3)).toBe(true);
    // MAML's run config has its layout; RHG's the heads (the default).
    const layoutOf = (method: string) => (readJson(path.join(out, method, 'result.json')) as { config: { problem: { layout?: string } } }).config.problem.layout;
    expect(layoutOf('maml')).toBe('maml');
    expect(layoutOf('rhg')).toBe('heads');
  });

  test('a method that fails: its result.json and compare.json say why; the others still run; exit 1', async () => {
    const out = path.join(workDir, 'compare-failing');
    // F overflows at this start: rhg fails, iaptt still runs (and fails too).
    const config = { ...nonconvex, problem: { name: 'toy/nonconvex', x0: [1e200], y0: [0] }, iterations: 3 };
    const { code, stdout, stderr } = await cli(['compare', writeConfig('failing', config), '--methods', 'rhg,iaptt', '--out', out, '--quiet']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^rhg: [^\n]*not finite[^\n]*\niaptt: [^\n]*not finite[^\n]*\n$/);
    expect(stdout).toMatch(/\| rhg \(failed\) /);
    const compare = readJson(path.join(out, 'compare.json')) as { methods: { method: string; status: string; error: unknown }[] };
    for (const m of compare.methods) {
      expect(m).toMatchObject({ status: 'failed', error: { code: 'NON_FINITE', message: expect.stringMatching(/not finite/) } });
      expect(readJson(path.join(out, m.method, 'result.json'))).toMatchObject({ status: 'failed', error: m.error });
    }
  });

  test('refusals: unknown or repeated methods, no --methods, a bamm solver (exit 2)', async () => {
    const file = writeConfig('refusals', nonconvex);
    const known = methodNames.join(', ');
    const cases: { args: string[]; stderr: string }[] = [
      { args: ['compare', file, '--methods', 'rhg,magic'], stderr: `--methods: unknown method "magic" (known: ${known})\n` },
      { args: ['compare', file, '--methods', 'rhg,rhg'], stderr: '--methods: "rhg" is given twice\n' },
      { args: ['compare', file], stderr: `compare: --methods is required (known: ${known})\n` },
      { args: ['compare', writeConfig('bamm', { ...nonconvex, solver: { type: 'bamm' } }), '--methods', 'rhg'],
        stderr: 'solver: compare takes K and the LL step size from a trajectory solver, not bamm\n' },
    ];
    for (const c of cases) {
      expect({ args: c.args, ...(await cli(c.args)) }).toEqual({ args: c.args, code: 2, stdout: '', stderr: c.stderr });
    }
  });
});

describe('hyper-cleaning run configs', () => {
  test('run with metricsEvery: metrics on every 3rd record and the last, and in result.json', async () => {
    const out = path.join(workDir, 'hc-run');
    const { code, stderr } = await cli(['run', writeConfig('hc', { ...hyperCleaning(), metricsEvery: 3 }), '--out', out, '--quiet']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const records = readMetrics(out);
    expect(records).toHaveLength(7);
    const withMetrics = records.filter((r) => r.metrics !== undefined).map((r) => r.iteration);
    expect(withMetrics).toEqual([2, 5, 6]);
    for (const i of withMetrics as number[]) expect(Object.keys(records[i].metrics as object).sort()).toEqual(METRIC_NAMES);
    const result = readJson(path.join(out, 'result.json'));
    expect(result.metrics).toEqual(records[6].metrics);
    expect(result.distanceToOptimum).toBeNull();
    expect((result.config as { problem: { root: string } }).problem.root).toBe(dataDir);
    // The report charts each recorded series (||g_z||: the solver has initAuxiliary) and each task
    // metric (no distance: the task has no known optimum).
    const charts = fs.readdirSync(out).filter((f) => f.endsWith('.svg')).sort();
    expect(charts).toEqual([
      'upper.svg', 'lower.svg', 'gradient-norm-x.svg', 'gradient-norm-z.svg', 'kbar.svg', 'unroll-ms.svg', 'hypergradient-ms.svg',
      'update-ms.svg', ...METRIC_NAMES.map((m) => `metric-${m}.svg`),
    ].sort());
  });

  test('without metricsEvery the metrics come at the end only; the task seed defaults to the run seed', async () => {
    const outA = path.join(workDir, 'hc-end');
    const outB = path.join(workDir, 'hc-seeded');
    expect((await cli(['run', writeConfig('hc-end', { ...hyperCleaning(), seed: 4 }), '--out', outA, '--quiet'])).code).toBe(0);
    expect((await cli(['run', writeConfig('hc-seeded', hyperCleaning({ seed: 4 })), '--out', outB, '--quiet'])).code).toBe(0);
    const records = readMetrics(outA);
    expect(records.map((r) => r.metrics !== undefined)).toEqual([false, false, false, false, false, false, true]);
    // The same split (seed 4 for the task either way) and the same run: the same metrics.
    expect(readJson(path.join(outA, 'result.json')).metrics).toEqual(readJson(path.join(outB, 'result.json')).metrics);
  });

  test('priorAnchor: the prior anchors at the pretrained model (a different run from anchoring at z_0)', async () => {
    const withPrior = { ...hyperCleaning(), solver: { ...hyperCleaning().solver, prior: { weight: 10 } } };
    const outZ0 = path.join(workDir, 'hc-prior-z0');
    const outPretrained = path.join(workDir, 'hc-prior-pretrained');
    expect(await cli(['run', writeConfig('hc-prior-z0', withPrior), '--out', outZ0, '--quiet'])).toMatchObject({ code: 0, stderr: '' });
    const anchored = { ...withPrior, priorAnchor: { pretrainSteps: 20, lr: 0.5 } };
    expect(await cli(['run', writeConfig('hc-prior', anchored), '--out', outPretrained, '--quiet'])).toMatchObject({ code: 0, stderr: '' });
    const zOf = (dir: string) => readJson(path.join(dir, 'result.json')).z;
    expect(zOf(outPretrained)).not.toEqual(zOf(outZ0));
    expect(readJson(path.join(outPretrained, 'result.json')).config).toMatchObject({ priorAnchor: { pretrainSteps: 20, lr: 0.5 } });
  });

  test('malformed hyper-cleaning configs: exit 2 and the JSON path at fault', async () => {
    const cases: { name: string; config: unknown; message: RegExp }[] = [
      { name: 'unknown dataset', config: hyperCleaning({ dataset: 'imagenet' }),
        message: /^problem\.dataset: must be one of "fashion-mnist", "mnist", "cifar10"; got "imagenet"$/ },
      { name: 'missing root folder', config: hyperCleaning({ root: path.join(workDir, 'nowhere') }),
        message: /^problem\.root: no such folder: \S*nowhere$/ },
      { name: 'bad model', config: hyperCleaning({ model: 'resnet' }), message: /^problem\.model: must be one of "linear", "mlp"; got "resnet"$/ },
      { name: 'hidden 0', config: hyperCleaning({ hidden: 0 }), message: /^problem\.hidden: must be an integer in \[1, 65536\]; got 0$/ },
      { name: 'corruption above 1', config: hyperCleaning({ corruption: 1.5 }), message: /^problem\.corruption: .*got 1\.5$/ },
      { name: 'unknown field', config: hyperCleaning({ x0: [1] }), message: /^problem\.x0: unknown field \(allowed: name, dataset, root, model, hidden, / },
      { name: 'split larger than the data', config: hyperCleaning({ trainSize: 500 }), message: /^problem: trainSize \+ validationSize = 510/ },
      { name: 'metricsEvery 0', config: { ...hyperCleaning(), metricsEvery: 0 }, message: /^metricsEvery: must be an integer in \[1, 1000000\]; got 0$/ },
      { name: 'priorAnchor without lr', config: { ...hyperCleaning(), priorAnchor: { pretrainSteps: 3 } }, message: /^priorAnchor\.lr: required field is missing$/ },
      { name: 'priorAnchor lr 0', config: { ...hyperCleaning(), priorAnchor: { pretrainSteps: 3, lr: 0 } }, message: /^priorAnchor\.lr: must be a number > 0; got 0$/ },
    ];
    for (const c of cases) {
      const { code, stdout, stderr } = await cli(['validate', writeConfig(c.name.replace(/\W+/g, '-'), c.config)]);
      expect({ name: c.name, code, stdout }).toEqual({ name: c.name, code: 2, stdout: '' });
      expect({ name: c.name, message: stderr.trimEnd() }).toEqual({ name: c.name, message: expect.stringMatching(c.message) });
    }
  });

  test('validate accepts the hyper-cleaning example, its root relative to the config file', async () => {
    const example = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'examples', 'configs', 'hyper-cleaning-fashion-mnist.json'), 'utf8')) as
      { problem: Record<string, unknown> };
    const local = { ...example, $schema: undefined, problem: { ...example.problem, dataset: 'mnist', root: 'idx', trainSize: 20, validationSize: 10, testSize: 15 } };
    const { code, stdout, stderr } = await cli(['validate', writeConfig('hc-example', local)]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/hc-example\.json: valid \(hyper-cleaning, accelerated \+ reverse \+ initAuxiliary \+ pessimistic truncation \+ prior, \d+ iterations\)\n$/);
  });
});
