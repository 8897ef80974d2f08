// Re-entrancy: an objective written in TypeScript runs inside the solver's step(); a call from it
// back into that solver (dispose, step, load, save, values, advance) must never touch the solver
// in use. dispose() is deferred until the step returns; every other call is refused with a coded
// error, and the step that ran the objective completes normally.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BilevelError, Solver, adam, defineProblem, gd, reverse, tensor, type SolverRun } from '../lib';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-reentry-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const checkpoint = path.join(tmp, 'run.ckpt');

const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 3 })).hypergradient(reverse()).upper(adam({ lr: 0.05 })).build();

type Call = (run: SolverRun) => unknown;
const calls: Record<string, Call> = {
  step: (run) => run.step(),
  save: (run) => run.save(checkpoint),
  load: (run) => run.load(checkpoint),
  values: (run) => run.values(),
  advance: (run) => run.advance(1, () => undefined),
};

/** A problem whose `where` objective calls `call(run)` once, on its first evaluation. */
function problemCalling(where: 'upper' | 'lower', call: (run: SolverRun) => void, runOf: () => SolverRun) {
  let evaluations = 0;
  const hook = () => {
    if (++evaluations === 1) call(runOf());
  };
  const f64 = { dtype: 'float64' } as const;
  return defineProblem({
    x: tensor([1.5], [1], f64),
    y: tensor([0.5], [1], f64),
    upper: ([x], [y]) => {
      if (where === 'upper') hook();
      return x.sub(2).pow(2).sum().add(y.sub(1).pow(2).sum());
    },
    lower: ([x], [y]) => {
      if (where === 'lower') hook();
      return y.sub(x).pow(2).sum();
    },
  });
}

describe.each(['upper', 'lower'] as const)('from inside the %s objective', (where) => {
  test.each(Object.keys(calls))('%s() is refused and the step completes', async (name) => {
    let refusal: unknown;
    let run: SolverRun | undefined;
    const problem = problemCalling(where, (r) => {
      try {
        const result = calls[name](r);
        if (result instanceof Promise) result.catch((err: unknown) => (refusal = err));
      } catch (err) {
        refusal = err;
      }
    }, () => run!);
    run = solver.start(problem);
    await run.save(checkpoint);
    const record = run.step();
    await new Promise((resolve) => setImmediate(resolve));
    expect(refusal).toBeInstanceOf(BilevelError);
    expect((refusal as BilevelError).code).toBe('INVALID_ARGUMENT');
    expect(record.iteration).toBe(0);
    expect(run.step().iteration).toBe(1);
    run.dispose();
  });

  test('dispose() is deferred until the step returns, then the run is disposed', () => {
    let run: SolverRun | undefined;
    const problem = problemCalling(where, (r) => r.dispose(), () => run!);
    run = solver.start(problem);
    const record = run.step();
    expect(Number.isFinite(record.upper)).toBe(true);
    expect(() => run!.step()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    expect(() => run!.values()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
  });
});
