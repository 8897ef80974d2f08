// The papers' claims on the built-in reference problems (docs/algorithms.md §8), with the
// settings written here. Each compares against the problem's known optimum.
import {
  Solver, adam, bda, gd, nesterov, problems, reverse, sgd, zeros, type Problem, type RunResult,
} from '../lib';
import { relativeError } from './helpers';

const xError = (problem: Problem, result: RunResult) =>
  relativeError(result.x[0].toArray() as Float64Array, problem.optimum!.x[0]);

describe('Eq. 18 (convex, not singleton), from (2e, (2e, 2e))', () => {
  const problem = problems.toy.convex();
  const dynamics = bda({ lr: 0.5, upperLr: 0.005, mu: 0.5, steps: 16 });
  const iterations = 200;

  test('IA and IA + prior reach a smaller ||x - x*|| / ||x*|| than BDA alone', async () => {
    const base = Solver.builder().dynamics(dynamics).upper(sgd({ lr: 0.01 }));
    const bdaOnly = await base.build().run(problem, { iterations });
    const withIA = await Solver.builder().dynamics(dynamics).upper(sgd({ lr: 0.01 }))
      .initAuxiliary({ optimizer: sgd({ lr: 0.01 }) }).build().run(problem, { iterations });
    const anchor = [zeros([20], { dtype: 'float64' }), zeros([20], { dtype: 'float64' })];
    const withPrior = await Solver.builder().dynamics(dynamics).upper(sgd({ lr: 0.01 }))
      .initAuxiliary({ optimizer: sgd({ lr: 0.01 }) }).prior({ weight: 0.1, iterations: 10, anchor })
      .build().run(problem, { iterations });
    const e = [bdaOnly, withIA, withPrior].map((r) => xError(problem, r));
    // Measured: BDA 0.40, +IA 0.090, +IA+P 0.090.
    expect(e[1]).toBeLessThan(e[0] / 2);
    expect(e[2]).toBeLessThan(e[0] / 2);
    expect(e[2]).not.toBe(e[1]);
  });
});

describe('Eq. 19 (singleton LL), from the far start (-e, (-e, -2e))', () => {
  test('IA + nesterov beats plain gd', async () => {
    const problem = problems.toy.singleton();
    const iterations = 500;
    const plain = await Solver.builder().dynamics(gd({ lr: 0.001, steps: 16 })).upper(sgd({ lr: 0.01 }))
      .build().run(problem, { iterations });
    const augmented = await Solver.builder().dynamics(nesterov({ lr: 0.001, steps: 16 })).upper(sgd({ lr: 0.01 }))
      .initAuxiliary({ optimizer: adam({ lr: 0.02 }), set: { min: -2, max: 2 } }).build().run(problem, { iterations });
    // Measured: gd 0.92 (stalls), IA + nesterov 0 (x reaches e on the box's face).
    expect(xError(problem, plain)).toBeGreaterThan(0.5);
    expect(xError(problem, augmented)).toBeLessThan(0.01);
  });
});

describe('Eq. 20 (non-convex LL), n = 1, from (-6, 0)', () => {
  const problem = problems.toy.nonconvex();
  const dynamics = gd({ lr: 0.1, steps: 50 });

  test('the optimum is x* = 3 pi / 4, y* = 3 pi / 4 + 2, F* = n (C - 2a)^2 / (1 + n) = 0.2537', () => {
    expect(problem.optimum!.x[0][0]).toBeCloseTo((3 * Math.PI) / 4, 12);
    expect(problem.optimum!.y[0][0]).toBeCloseTo((3 * Math.PI) / 4 + 2, 12);
    expect(problem.optimum!.upper).toBeCloseTo((3 * Math.PI / 2 - 4) ** 2 / 2, 12);
    expect(problem.optimum!.upper).toBeCloseTo(0.2535, 3);
  });

  test('plain RHG stays in a wrong basin; IA + PTT ends within 5% of x*, Kbar settles', async () => {
    const iterations = 600;
    const rhg = await Solver.builder().dynamics(dynamics).hypergradient(reverse()).upper(sgd({ lr: 0.01 }))
      .build().run(problem, { iterations });
    const ait = await Solver.builder().dynamics(dynamics).upper(sgd({ lr: 0.01 }))
      .initAuxiliary({ optimizer: sgd({ lr: 0.2 }) }).pessimisticTruncation().build().run(problem, { iterations });
    expect(xError(problem, rhg)).toBeGreaterThan(0.5);
    expect(xError(problem, ait)).toBeLessThan(0.05);
    const lastKbars = new Set(ait.records.slice(-100).map((r) => r.steps));
    expect(lastKbars.size).toBe(1);
  });
});

describe("sl-BAMM's merely convex test (n = 100, start 0.01)", () => {
  test('reaches ||x - e|| / ||e|| < 1e-3 with the authors\' defaults', async () => {
    const problem = problems.toy.bammConvex();
    const result = await Solver.bamm().run(problem, { iterations: 4000 });
    expect(xError(problem, result)).toBeLessThan(1e-3);
    expect(result.records.every((r) => r.steps === 1)).toBe(true);
  });
});
