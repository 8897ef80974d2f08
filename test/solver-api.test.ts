// The solver facade: validation messages, refused combinations, bad problems, NaN mid-run,
// records, abort and the event loop.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  BilevelError, Solver, adam, bda, cg, defineProblem, finiteDifference, firstOrder, gd, momentum, nesterov, neumann,
  problems, reverse, sgd, tensor, truncated, zeros, type ProblemDefinition,
} from '../lib';
import { expectCode, expectRejects } from './helpers';

const f64 = (data: number[]) => tensor(data, [data.length], { dtype: 'float64' });

// Eq. 20 written in TypeScript.
const nonconvex = (overrides: Partial<ProblemDefinition> = {}) => defineProblem({
  x: f64([-6]),
  y: f64([0]),
  ySet: { min: -10, max: 10 },
  upper: ([x], [y]) => x.sub(2).pow(2).sum().add(y.sub(4).pow(2).sum()),
  lower: ([x], [y]) => x.add(y).sub(2).sin().sum(),
  ...overrides,
});

describe('option validation names the field and the allowed range', () => {
  test('factories', () => {
    expectCode(() => gd({ lr: -1 }), 'INVALID_ARGUMENT', /dynamics\(gd\)\.lr: must be a number > 0; got -1/);
    expectCode(() => gd({ steps: 2.5 }), 'INVALID_ARGUMENT', /steps: must be an integer in \[1, 100000\]; got 2.5/);
    expectCode(() => truncated({ steps: 0 }), 'INVALID_ARGUMENT', /steps: must be an integer in \[1, 100000\]/);
    expectCode(() => cg({ tolerance: -1 }), 'INVALID_ARGUMENT', /tolerance: must be a number >= 0/);
    expectCode(() => sgd({ lr: 0 }), 'INVALID_ARGUMENT', /optimizer\(sgd\)\.lr: must be a number > 0; got 0/);
    expectCode(() => gd({ lr: 0.1, rate: 1 } as never), 'INVALID_ARGUMENT', /dynamics\(gd\)\.rate: unknown field \(allowed: type, steps, lr\)/);
    expectCode(() => Solver.bamm({ mu0: 1 }), 'INVALID_ARGUMENT', /bamm\.mu0: must be a number in \(0, 1\); got 1/);
  });

  test('builder members and combinations that make no sense are refused at build()', () => {
    expectCode(() => Solver.builder().dynamics({ type: 'newton' } as never).build(), 'INVALID_ARGUMENT',
      /dynamics\.type: must be one of gd, bda, nesterov, accelerated, heavyBall; got "newton"/);
    expectCode(() => Solver.builder().hypergradient(cg()).pessimisticTruncation().build(), 'INVALID_ARGUMENT',
      /pessimisticTruncation .* needs the reverse or forward hypergradient, not cg/);
    expectCode(() => Solver.builder().hypergradient(neumann()).initAuxiliary().build(), 'INVALID_ARGUMENT',
      /initAuxiliary .* neumann does not differentiate w\.r\.t\. y_0/);
    expectCode(() => Solver.builder().hypergradient(firstOrder()).initAuxiliary().build(), 'INVALID_ARGUMENT', /firstOrder/);
    expectCode(() => Solver.builder().prior({ weight: 1 }).build(), 'INVALID_ARGUMENT', /prior .* needs initAuxiliary/);
    expectCode(() => Solver.builder().dynamics(nesterov()).hypergradient(finiteDifference()).build(),
      'INVALID_ARGUMENT', /finiteDifference .* needs gd or heavyBall dynamics/);
    expectCode(() => Solver.builder().dynamics(gd({ steps: 5 })).hypergradient(truncated({ steps: 6 })).build(),
      'INVALID_ARGUMENT', /truncate must be in \[1, dynamics\.steps = 5\], got 6/);
    expectCode(() => Solver.builder().dynamics(gd({ steps: 5 })).hypergradient(truncated({ steps: 2 })).initAuxiliary().build(),
      'INVALID_ARGUMENT', /detaches y_0 = z/);
    expectCode(() => Solver.builder().initAuxiliary().lowerStart('warm').build(), 'INVALID_ARGUMENT', /pick one/);
    expectCode(() => Solver.builder().initAuxiliary({ set: { min: 1, max: 0 } }).build(), 'INVALID_ARGUMENT', /min must not exceed max/);
  });
});

describe('bad problems', () => {
  test('a non-scalar objective names the objective and its shape', () => {
    const problem = nonconvex({ upper: ([x], [y]) => x.add(y) .mul(tensor([1, 1], [2], { dtype: 'float64' })) });
    using run = Solver.builder().build().start(problem);
    expectCode(() => run.step(), 'SHAPE_MISMATCH', /upper objective must return a scalar, got shape \[2\]/);
  });

  test('an objective that returns no tensor, or throws, fails with that error', () => {
    const noTensor = nonconvex({ lower: () => 3 as never });
    expectCode(() => Solver.builder().build().start(noTensor).step(), 'INVALID_ARGUMENT', /lower objective must return a Tensor/);
    const boom = new Error('boom');
    const throwing = nonconvex({ lower: () => { throw boom; } });
    expect(() => Solver.builder().build().start(throwing).step()).toThrow(boom);
  });

  test('disposed tensors and mismatched shapes are refused', () => {
    const x = f64([1]);
    x.dispose();
    expectCode(() => nonconvex({ x }), 'DISPOSED');
    const problem = nonconvex();
    const wrongZ = Solver.builder().initAuxiliary({ initial: [f64([0, 0])] }).build();
    expectCode(() => wrongZ.start(problem), 'SHAPE_MISMATCH', /initAuxiliary\.initial\[0\] has shape \[2\], the LL variable has \[1\]/);
    const wrongAnchor = Solver.builder().initAuxiliary().prior({ anchor: [f64([0]), f64([0])] }).build();
    expectCode(() => wrongAnchor.start(problem), 'SHAPE_MISMATCH', /prior\.anchor: 2 tensors for 1 LL variables/);
    expectCode(() => problems.toy.nonconvex({ n: 0 }), 'INVALID_ARGUMENT', /n: must be an integer in \[1, 1000000\]/);
    // A size that would allocate gigabytes is refused before anything is built.
    expectCode(() => problems.toy.nonconvex({ n: 1e9 }), 'INVALID_ARGUMENT', /n: must be an integer in \[1, 1000000\]; got 1000000000/);
    // A bound must broadcast to its variable without enlarging it: a [3] bound on a [1] y is refused.
    const boxes: [Parameters<typeof nonconvex>[0], RegExp][] = [
      [{ ySet: { max: f64([1, 2, 3]) } }, /lower variables sets\[0\]\.max has shape \[3\], which does not broadcast to the variable's shape \[1\]/],
      [{ xSet: { min: tensor([0], [1, 1], { dtype: 'float64' }) } }, /upper variables sets\[0\]\.min has shape \[1,1\]/],
    ];
    for (const [definition, message] of boxes) expectCode(() => nonconvex(definition), 'SHAPE_MISMATCH', message);
    expectCode(() => problems.toy.convex({ x0: [zeros([3], { dtype: 'float64' })] }), 'SHAPE_MISMATCH', /x0\[0\]: expected 20 elements, got 3/);
  });

  test('a NaN mid-run names the iteration and the variables keep their last good values', () => {
    // F = sum log(x) with x shrinking by a fixed step: x = 1, 0.6, 0.2, then -0.2 gives NaN.
    const problem = defineProblem({
      x: f64([1]),
      y: f64([0]),
      upper: ([x], [y]) => x.log().sum().add(y.pow(2).sum()),
      lower: ([x], [y]) => y.sub(x).pow(2).sum(),
    });
    const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 2 })).hypergradient(firstOrder()).upper(sgd({ lr: 0.4 })).build();
    using run = solver.start(problem);
    // d/dx log x = 1/x, so x_{t+1} = x_t - 0.4 / x_t: 1 -> 0.6 -> -0.0667, where F = log x is NaN.
    run.step();
    run.step();
    const before = run.values().x[0].toArray()[0];
    expect(before).toBeCloseTo(0.6 - 0.4 / 0.6, 12);
    let caught: unknown;
    try {
      run.step();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BilevelError);
    expect((caught as BilevelError).code).toBe('NON_FINITE');
    expect((caught as Error).message).toMatch(/iteration 2: F\(x, y_K\) = nan is not finite/);
    expect(run.values().x[0].toArray()[0]).toBe(before);
  });

  test.each(['sgd', 'momentum', 'adam'] as const)('a refused update leaves the whole state as it was, optimizer included (%s)', async (kind) => {
    // An update that overflows to inf: refused as "the updated x" after the optimizer computed it.
    const problem = defineProblem({
      x: f64([1]),
      y: f64([0]),
      upper: ([x], [y]) => x.mul(1e300).sum().add(y.pow(2).sum()),
      lower: ([x], [y]) => y.sub(x).pow(2).sum(),
    });
    const upper = { sgd, momentum, adam }[kind]({ lr: kind === 'adam' ? 1e308 : 1e10 });
    const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 2 })).hypergradient(firstOrder()).upper(upper).build();
    using run = solver.start(problem);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-refused-'));
    try {
      await run.save(path.join(dir, 'before.ckpt'));
      expectCode(() => run.step(), 'NON_FINITE', /the updated x/);
      await run.save(path.join(dir, 'after.ckpt'));
      expect(fs.readFileSync(path.join(dir, 'after.ckpt')).equals(fs.readFileSync(path.join(dir, 'before.ckpt')))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a disposed run refuses to step', () => {
    const run = Solver.builder().build().start(nonconvex());
    run.dispose();
    expectCode(() => run.step(), 'DISPOSED');
  });
});

describe('closed-form gradients written in TypeScript', () => {
  // Eq. 20: grad_y f = cos(x + y - 2), grad_y F = 2 (y - 4).
  const withGradients = () => nonconvex({
    lowerGradient: ([x], [y]) => [x.add(y).sub(2).cos()],
    upperGradient: (_x, [y]) => [y.sub(4).mul(2)],
  });
  const solvers = {
    reverse: Solver.builder().dynamics(gd({ lr: 0.1, steps: 20 })).initAuxiliary().pessimisticTruncation(),
    cg: Solver.builder().dynamics(gd({ lr: 0.1, steps: 20 })).hypergradient(cg({ iterations: 5 })),
    bda: Solver.builder().dynamics(bda({ lr: 0.1, upperLr: 0.05, mu: 0.3, steps: 20 })),
  };

  test.each(Object.keys(solvers))('give the numbers autograd gives (%s)', async (name) => {
    const solver = solvers[name as keyof typeof solvers].upper(sgd({ lr: 0.01 })).build();
    const a = await solver.run(nonconvex(), { iterations: 5 });
    const b = await solver.run(withGradients(), { iterations: 5 });
    for (let i = 0; i < 5; i++) {
      expect(b.records[i].upper).toBeCloseTo(a.records[i].upper, 12);
      expect(b.records[i].gradientNormX).toBeCloseTo(a.records[i].gradientNormX, 12);
    }
    expect(b.x[0].item()).toBeCloseTo(a.x[0].item(), 12);
  });

  test('is what the dynamics use (a doubled gradient is a doubled step)', async () => {
    const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 1 })).upper(sgd({ lr: 0.01 })).build();
    const doubled = nonconvex({ lowerGradient: ([x], [y]) => [x.add(y).sub(2).cos().mul(2)] });
    const halfStep = Solver.builder().dynamics(gd({ lr: 0.2, steps: 1 })).upper(sgd({ lr: 0.01 })).build();
    const a = await solver.run(doubled, { iterations: 1 });
    const b = await halfStep.run(nonconvex(), { iterations: 1 });
    expect(a.y[0].item()).toBeCloseTo(b.y[0].item(), 14);
    expect(a.y[0].item()).not.toBeCloseTo((await solver.run(nonconvex(), { iterations: 1 })).y[0].item(), 3);
  });

  test('a gradient of the wrong shape or count is refused', () => {
    const wrongShape = nonconvex({ lowerGradient: ([x]) => [x.mul(tensor([1, 1], [2], { dtype: 'float64' }))] });
    expectCode(() => Solver.builder().build().start(wrongShape).step(), 'SHAPE_MISMATCH',
      /lowerGradient\[0\] has shape float64\[2\], y\[0\] is float64\[1\]/);
    const wrongCount = nonconvex({ lowerGradient: ([x], [y]) => [x, y] });
    expectCode(() => Solver.builder().build().start(wrongCount).step(), 'SHAPE_MISMATCH', /returned 2 tensors for 1 LL variables/);
  });
});

describe('runs', () => {
  const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 10 })).hypergradient(reverse()).upper(sgd({ lr: 0.01 })).build();

  test('records carry the iteration, objectives, K, norms, timings and memory', async () => {
    const result = await solver.run(problems.toy.nonconvex(), { iterations: 3 });
    expect(result.records.map((r) => r.iteration)).toEqual([0, 1, 2]);
    for (const r of result.records) {
      expect(r.steps).toBe(10);
      expect(r.gradientNormX).toBeGreaterThan(0);
      expect(r.gradientNormZ).toBe(0);
      expect(Number.isFinite(r.upper) && Number.isFinite(r.lower)).toBe(true);
      expect(r.unrollMs + r.hypergradientMs + r.updateMs).toBeGreaterThan(0);
      expect(r.peakBytes).toBeGreaterThan(0);
    }
    expect(result.aborted).toBe(false);
    expect(result.z).toEqual([]);
  });

  test('the same config and problem give the same numbers', async () => {
    const a = await solver.run(problems.toy.nonconvex({ n: 4 }), { iterations: 20 });
    const b = await solver.run(problems.toy.nonconvex({ n: 4 }), { iterations: 20 });
    expect(b.records.map((r) => r.upper)).toEqual(a.records.map((r) => r.upper));
    expect(b.x[0].toArray()).toEqual(a.x[0].toArray());
  });

  test('an abort signal stops a main-thread run between iterations', async () => {
    const controller = new AbortController();
    const result = await solver.run(nonconvex(), {
      iterations: 100,
      onIteration: (r) => r.iteration === 2 && controller.abort(),
      signal: controller.signal,
    });
    expect(result.records).toHaveLength(3);
    expect(result.aborted).toBe(true);
  });

  test('native problems run off the main thread: same numbers as stepping, abortable, timers keep ticking', async () => {
    const problem = problems.toy.nonconvex({ n: 2000 });
    using stepped = solver.start(problem);
    const expected = Array.from({ length: 30 }, () => stepped.step().upper);
    const offThread = await solver.run(problem, { iterations: 30 });
    expect(offThread.records.map((r) => r.upper)).toEqual(expected);
    expect(offThread.x[0].toArray()).toEqual(stepped.values().x[0].toArray());

    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    const aborted = await solver.run(problem, { iterations: 1_000_000, signal: controller.signal });
    clearInterval(timer);
    expect(aborted.aborted).toBe(true);
    expect(aborted.records.length).toBeGreaterThan(0);
    expect(aborted.records.length).toBeLessThan(1_000_000);
    expect(Date.now() - started).toBeLessThan(2000); // stopped within an iteration of the abort
    expect(ticks).toBeGreaterThan(20); // the event loop stayed free while the worker ran
  });

  test('a run refuses step() while it is off the main thread, and a listener that throws rejects it', async () => {
    using run = solver.start(problems.toy.nonconvex());
    const pending = run.advance(1000, () => undefined);
    expectCode(() => run.step(), 'INVALID_ARGUMENT', /busy off the main thread/);
    await pending;
    const boom = new Error('listener failed');
    await expect(run.advance(1000, () => { throw boom; })).rejects.toBe(boom);
    expect(run.step().iteration).toBeGreaterThan(1000);
    await expect(Solver.builder().build().start(nonconvex()).advance(3, () => undefined)).rejects.toThrow(/step\(\) instead/);
  });

  test('save() and load() run off the main thread: the run is busy until they settle, and a dispose() meanwhile waits for them', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-async-save-'));
    try {
      const file = path.join(dir, 'run.ckpt');
      using run = solver.start(problems.toy.nonconvex());
      run.step();
      const saving = run.save(file, 'meta');
      expectCode(() => run.step(), 'INVALID_ARGUMENT', /busy off the main thread/);
      await expectRejects(() => run.load(file), 'INVALID_ARGUMENT', /busy off the main thread/);
      await saving;
      const loading = run.load(file);
      expectCode(() => run.values(), 'INVALID_ARGUMENT', /busy off the main thread/);
      expect(await loading).toBe('meta');
      expect(run.step().iteration).toBe(1);
      // A save still pending when the run is disposed completes: the worker holds the solver.
      const disposedMeanwhile = solver.start(problems.toy.nonconvex());
      const last = disposedMeanwhile.save(path.join(dir, 'last.ckpt'), 'last');
      disposedMeanwhile.dispose();
      await last;
      using reader = solver.start(problems.toy.nonconvex());
      expect(await reader.load(path.join(dir, 'last.ckpt'))).toBe('last');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the event loop runs between iterations', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    let ticksSeen = 0;
    await solver.run(problems.toy.nonconvex(), { iterations: 200, onIteration: () => { ticksSeen = ticks; } });
    clearInterval(timer);
    expect(ticksSeen).toBeGreaterThan(5);
  });

  test('iterations must be a non-negative integer', async () => {
    await expect(solver.run(problems.toy.nonconvex(), { iterations: -1 })).rejects.toThrow(/iterations: must be an integer >= 0/);
  });
});
