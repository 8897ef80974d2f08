// The GAN task (docs/algorithms.md §12): built through the registry, its objectives against the
// same formulas written in TypeScript on the task's fixed evaluation data, a short alternating
// run that moves the generator onto the mixture, and a run folder (CLI) killed and resumed bit
// for bit with fresh batches every step, whose report draws the samples over the modes.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Solver, adam, firstOrder, gd, grad, tasks, type Tensor } from '../lib';
import { expectRejects } from './helpers';

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-gan-'));
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

// An MLP with ReLU between layers, from parameters [W1, b1, W2, b2, ...] (torch.nn.Linear's layout).
function mlp(params: Tensor[], input: Tensor): Tensor {
  let h = input;
  for (let i = 0; i < params.length; i += 2) {
    h = h.matmul(params[i].transpose(0, 1)).add(params[i + 1]);
    if (i + 2 < params.length) h = h.relu();
  }
  return h;
}
// softplus(t) = log(1 + e^t), written out: -log sigmoid(t) = softplus(-t).
const softplus = (t: Tensor) => t.exp().add(1).log();

test('options are validated; the networks have the documented layout', async () => {
  await expectRejects(() => tasks.gan({ hidden: 0 }), 'INVALID_ARGUMENT', /^gan\.hidden: must be an integer in \[1, 65536\]; got 0$/);
  await expectRejects(() => tasks.gan({ noise: 3 } as never), 'INVALID_ARGUMENT', /^gan\.noise: unknown field/);
  using problem = await tasks.gan({ noiseSize: 4, hidden: 8, evaluationSamples: 50 });
  const { x, y } = problem.initial();
  expect(x.map((t) => t.shape)).toEqual([[8, 4], [8], [8, 8], [8], [2, 8], [2]]);
  expect(y.map((t) => t.shape)).toEqual([[8, 2], [8], [1, 8], [1]]);
  const views = problem.views({ x, y });
  expect(views.samples.shape).toEqual([50, 2]);
  expect(views.modes.shape).toEqual([10, 2]);
});

test('f with the full data (the fixed evaluation batch) is the formula written in TypeScript: one gd step of the core against autograd', async () => {
  using problem = await tasks.gan({ noiseSize: 3, hidden: 5, evaluationSamples: 40, dtype: 'float64' });
  const { x, y } = problem.initial();
  const { evaluationNoise: v, evaluationReal: u } = problem.data();
  const values = (t: Tensor) => Array.from(t.toArray() as Float64Array);
  // The views' samples are G at the evaluation noise.
  expect(values(problem.views({ x, y }).samples)).toEqual(values(mlp(x, v)));
  expect(Object.keys(await problem.metrics({ x, y })).sort()).toEqual(['frechetDistance', 'highQualityShare', 'jensenShannon', 'modesCovered']);
  // pretrainLower takes gd steps on f with the full data: y - lr grad f after one.
  const stepped = await problem.pretrainLower({ steps: 1, lr: 0.5 });
  const leaves = y.map((t) => t.detach().requiresGrad_(true));
  const f = softplus(mlp(leaves, u).neg()).mean().add(softplus(mlp(leaves, mlp(x, v))).mean());
  const gradients = grad(f, leaves);
  stepped.forEach((t, i) => {
    const expected = values(leaves[i].detach().sub(gradients[i]!.mul(0.5)));
    values(t).forEach((value, j) => expect(value).toBeCloseTo(expected[j], 12));
  });
});

test('alternating gradient descent moves the generator onto the mixture', async () => {
  using problem = await tasks.gan({ seed: 1 });
  const before = await problem.metrics(problem.initial());
  const solver = Solver.builder().dynamics(gd({ lr: 0.05, steps: 1 })).hypergradient(firstOrder())
    .upper(adam({ lr: 0.001, beta1: 0.5 })).lowerStart('warm').build();
  const result = await solver.run(problem, { iterations: 800 });
  const after = await problem.metrics(result);
  // Measured (seeds 0, 1, 2 after 800 iterations): Frechet distance 0.61, 0.11, 0.07, from 30-50 at the start.
  expect(before.frechetDistance).toBeGreaterThan(20);
  expect(after.frechetDistance).toBeLessThan(2);
  expect(after.highQualityShare).toBeGreaterThan(before.highQualityShare);
});

const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
const cli = (args: string[], killAfterLines?: number, outDir?: string) => new Promise<{ code: number | null; signal: string | null }>((resolve) => {
  const child = spawn(process.execPath, ['--import', tsxLoader, path.join(__dirname, '..', 'lib', 'cli.ts'), ...args], { stdio: 'ignore' });
  if (killAfterLines !== undefined && outDir !== undefined) {
    const timer = setInterval(() => {
      const file = path.join(outDir, 'metrics.jsonl');
      if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').split('\n').length > killAfterLines) {
        clearInterval(timer);
        child.kill('SIGKILL');
      }
    }, 5);
    child.on('exit', () => clearInterval(timer));
  }
  child.on('exit', (code, signal) => resolve({ code, signal }));
});

test('a GAN run killed and resumed ends bit for bit where a run straight through ends; its report draws the samples', async () => {
  const config = {
    problem: { name: 'gan', hidden: 32, batchSize: 64, evaluationSamples: 500 },
    solver: { dynamics: { type: 'gd', lr: 0.05, steps: 3 }, hypergradient: { type: 'reverse' }, upper: { optimizer: 'adam', lr: 0.001 }, lowerStart: 'warm' },
    iterations: 120, checkpointEvery: 5, seed: 2, dtype: 'float32',
  };
  const file = path.join(workDir, 'gan.json');
  fs.writeFileSync(file, JSON.stringify(config));
  const straight = path.join(workDir, 'straight');
  expect((await cli(['run', file, '--out', straight, '--quiet'])).code).toBe(0);
  const resumed = path.join(workDir, 'resumed');
  expect((await cli(['run', file, '--out', resumed, '--quiet'], 30, resumed)).signal).toBe('SIGKILL');
  expect((await cli(['run', file, '--out', resumed, '--quiet', '--resume'])).code).toBe(0);
  const result = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
  expect(result(resumed).status).toBe('completed');
  expect(result(resumed).x).toEqual(result(straight).x);
  expect(result(resumed).metrics).toEqual(result(straight).metrics);
  expect(result(resumed).views.samples).toHaveLength(500);
  const svg = fs.readFileSync(path.join(straight, 'samples.svg'), 'utf8');
  // 500 generated samples and 10 modes, drawn as points.
  expect((svg.match(/aria-roledescription="point"/g) ?? []).length).toBe(510);
}, 180_000);

test('metrics() computes on a worker thread from copies: the problem and the tensors may be freed meanwhile', async () => {
  const problem = await tasks.gan({ seed: 0, evaluationSamples: 200 });
  const values = problem.initial();
  const expected = await problem.metrics(values);
  const pending = problem.metrics(values);
  problem.dispose();
  [...values.x, ...values.y].forEach((t) => t.dispose());
  expect(await pending).toEqual(expected);
  await expectRejects(() => problem.metrics({ x: [], y: [] }), 'DISPOSED', /problem was disposed/);
});
