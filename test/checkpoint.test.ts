// Checkpoints: a run interrupted at any iteration and resumed ends bit-for-bit equal to an
// uninterrupted one; bad files are refused and change nothing; a write killed midway leaves the
// previous checkpoint readable.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Solver, adam, defineProblem, gd, heavyBall, manualSeed, problems, rand, reverse, tensor, type IterationRecord, type SolverRun,
} from '../lib';
import { aitRunScript, expectRejects } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-ckpt-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = (name: string) => path.join(tmp, name);

const ait = Solver.builder().dynamics(gd({ lr: 0.1, steps: 20 })).initAuxiliary({ optimizer: adam({ lr: 0.05 }) })
  .pessimisticTruncation().upper(adam({ lr: 0.02 })).build();
const warm = Solver.builder().dynamics(gd({ lr: 0.1, steps: 5 })).hypergradient(reverse()).lowerStart('warm')
  .upper(adam({ lr: 0.02 })).build();
// The velocity is carried between UL iterations: the checkpoint must keep it.
const warmHeavyBall = Solver.builder().dynamics(heavyBall({ lr: 0.05, steps: 3, weightDecay: 0.01, gradientClip: 1 }))
  .hypergradient(reverse()).lowerStart('warm').upper(adam({ lr: 0.02 })).build();
const problem = () => problems.toy.nonconvex({ n: 3 });
const flat = (run: SolverRun) => {
  const v = run.values();
  return [...v.x, ...v.y, ...v.z].map((t) => Array.from(t.toArray() as Float64Array));
};
// Timings and memory differ between runs; everything else must be identical.
const numbersOf = ({ iteration, upper, lower, steps: k, gradientNormX, gradientNormZ }: IterationRecord) =>
  ({ iteration, upper, lower, k, gradientNormX, gradientNormZ });
const steps = (run: SolverRun, n: number): IterationRecord[] => Array.from({ length: n }, () => run.step());

describe.each([
  ['IA + PTT, Adam for x and z', ait],
  ['warm-started reverse', warm],
  ['warm-started heavyBall (y and its velocity)', warmHeavyBall],
  ['sl-BAMM', Solver.bamm()],
])('%s', (_name, solver) => {
  test('interrupted after 8 iterations and resumed: the same 20 records and variables, bit for bit', async () => {
    using straight = solver.start(problem());
    const expected = steps(straight, 20);
    using first = solver.start(problem());
    steps(first, 8);
    await first.save(file('run.ckpt'), 'meta: the config');
    using resumed = solver.start(problem());
    expect(await resumed.load(file('run.ckpt'))).toBe('meta: the config');
    expect(steps(resumed, 12).map(numbersOf)).toEqual(expected.slice(8).map(numbersOf));
    expect(flat(resumed)).toEqual(flat(straight));
  });
});


test('objectives that draw random numbers resume identically: the checkpoint keeps the generator', async () => {
  const noisy = () => defineProblem({
    x: tensor([1, -1], [2], { dtype: 'float64' }),
    y: tensor([0, 0], [2], { dtype: 'float64' }),
    upper: ([x], [y]) => y.sub(1).pow(2).sum().add(x.pow(2).sum().mul(0.1)),
    // A stochastic LL objective: a fresh random weight on every evaluation.
    lower: ([x], [y]) => y.sub(x).pow(2).mul(rand([2], { dtype: 'float64' }).add(0.5)).sum(),
  });
  const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 4 })).upper(adam({ lr: 0.05 })).build();
  manualSeed(3);
  using straight = solver.start(noisy());
  const expected = steps(straight, 12).map(numbersOf);
  manualSeed(3);
  using first = solver.start(noisy());
  steps(first, 5);
  await first.save(file('noisy.ckpt'));
  manualSeed(99); // the generator moves on elsewhere; the checkpoint restores it
  using resumed = solver.start(noisy());
  await resumed.load(file('noisy.ckpt'));
  expect(steps(resumed, 7).map(numbersOf)).toEqual(expected.slice(5));
});

describe('bad checkpoints change nothing', () => {
  test('truncated, corrupt, missing, or of another problem or solver', async () => {
    using source = ait.start(problem());
    steps(source, 3);
    await source.save(file('good.ckpt'));
    const bytes = fs.readFileSync(file('good.ckpt'));
    fs.writeFileSync(file('truncated.ckpt'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    const corrupt = Buffer.from(bytes);
    corrupt.fill(0x41, 200, 400);
    fs.writeFileSync(file('corrupt.ckpt'), corrupt);
    fs.writeFileSync(file('text.ckpt'), 'not a checkpoint');

    using target = ait.start(problem());
    steps(target, 1);
    const before = flat(target);
    await expectRejects(() => target.load(file('truncated.ckpt')), 'INVALID_ARGUMENT', /truncated\.ckpt: (not a readable checkpoint|corrupt checkpoint)/);
    await expectRejects(() => target.load(file('corrupt.ckpt')), 'INVALID_ARGUMENT', /corrupt\.ckpt: (not a readable checkpoint|corrupt checkpoint)/);
    await expectRejects(() => target.load(file('text.ckpt')), 'INVALID_ARGUMENT', /text\.ckpt: not a readable checkpoint/);
    await expectRejects(() => target.load(file('missing.ckpt')), 'INVALID_ARGUMENT', /missing\.ckpt: not a readable checkpoint/);
    using larger = ait.start(problems.toy.nonconvex({ n: 4 }));
    await expectRejects(() => larger.load(file('good.ckpt')), 'SHAPE_MISMATCH', /'y\.0' is Double\[3\], this solver has Double\[4\]/);
    using bamm = Solver.bamm().start(problem());
    await expectRejects(() => bamm.load(file('good.ckpt')), 'INVALID_ARGUMENT', /written by a solver with another configuration/);
    expect(flat(target)).toEqual(before);
    expect(target.step().iteration).toBe(1);
  });

  test('a writer killed midway leaves the last complete checkpoint readable', async () => {
    const target = file('killed.ckpt');
    using seed = ait.start(problem());
    await seed.save(target, 'first');
    // A child that rewrites the checkpoint as fast as it can, killed with SIGKILL at a random point.
    const script = `${aitRunScript(20)}
      process.stdout.write('ready\\n');
      (async () => { for (let i = 0; ; i++) { run.step(); await run.save(${JSON.stringify(target)}, 'iteration ' + i); } })();
    `;
    for (let attempt = 0; attempt < 3; attempt++) {
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 100 + 150 * attempt));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      using reader = ait.start(problem());
      expect(await reader.load(target)).toMatch(/^(first|iteration \d+)$/);
    }
  }, 60_000);
});
