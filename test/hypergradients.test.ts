// Hypergradients (docs/algorithms.md §4 and §5) against closed forms, finite differences of
// hand-unrolled trajectories, and each other. Every hypergradient g of one UL iteration is read
// exactly as x_0 - x_1 (and z_0 - z_1) with sgd({lr: 1}) on an unconstrained problem.
import {
  Solver, accelerated, defineProblem, problems, tensor, tidy, gd, reverse, truncated, forward, cg, neumann, finiteDifference,
  firstOrder, sgd, type Box, type DynamicsConfig, type HypergradientConfig, type IterationRecord, type Problem,
  type Tensor,
} from '../lib';
import { f64, vec, numbers, flat, add, sub, scale, dotp, norm2, centralDifference, maxRelativeError, expectClose, type Vec } from './vectors';

// ---------------------------------------------------------------------------------------------
// Plain-number matrix helpers
const matVec = (m: number[][], v: Vec): Vec => m.map((row) => dotp(row, v));
const transpose = (m: number[][]): number[][] => m[0].map((_, j) => m.map((row) => row[j]));
/** Solves m u = b by Gaussian elimination with partial pivoting. */
function solve(m: number[][], b: Vec): Vec {
  const n = b.length;
  const a = m.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    for (let r = c + 1; r < n; r++) {
      const factor = a[r][c] / a[c][c];
      for (let k = c; k <= n; k++) a[r][k] -= factor * a[c][k];
    }
  }
  const u = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r][n];
    for (let k = r + 1; k < n; k++) s -= a[r][k] * u[k];
    u[r] = s / a[r][r];
  }
  return u;
}



// ---------------------------------------------------------------------------------------------
// One UL iteration of a solver, with the hypergradient read off the sgd({lr: 1}) update.
interface IterationOptions {
  dynamics: DynamicsConfig;
  hypergradient: HypergradientConfig;
  ia?: boolean;
  /** z_0 for IA (default: the problem's y_0). */
  z0?: Vec;
  ptt?: false | 'plain' | 'recompute';
}
interface Iteration {
  record: IterationRecord;
  x0: Vec;
  z0: Vec;
  gx: Vec;
  gz: Vec;
  /** values().y after the step: y_K of the iteration. */
  y: Vec;
}

function oneIteration(problem: Problem, o: IterationOptions): Iteration {
  return tidy(() => {
    let builder = Solver.builder().dynamics(o.dynamics).hypergradient(o.hypergradient).upper(sgd({ lr: 1 }));
    if (o.ia) builder = builder.initAuxiliary({ optimizer: sgd({ lr: 1 }), initial: o.z0 ? [vec(o.z0)] : undefined });
    if (o.ptt) builder = builder.pessimisticTruncation({ recompute: o.ptt === 'recompute' });
    const run = builder.build().start(problem);
    try {
      const before = run.values();
      const record = run.step();
      const after = run.values();
      const x0 = flat(before.x);
      const z0 = flat(before.z);
      return {
        record,
        x0,
        z0,
        gx: sub(x0, flat(after.x)),
        gz: sub(z0, flat(after.z)),
        y: flat(after.y),
      };
    } finally {
      run.dispose();
    }
  });
}

// =============================================================================================
// 1. A strongly convex quadratic LL with a closed-form y*(x)
//    f(x, y) = 1/2 y^T A y - y^T B x,  y*(x) = A^{-1} B x
//    F(x, y) = 1/2 ||y - t||^2 + c/2 ||x||^2
//    phi(x) = F(x, y*(x)),  g* = c x + B^T A^{-1} (A^{-1} B x - t)
describe('quadratic LL: reverse (large K), cg and neumann match the implicit gradient', () => {
  const A = [
    [3, 1, 0, 0.5],
    [1, 4, 0.5, 0],
    [0, 0.5, 2, 0.3],
    [0.5, 0, 0.3, 2.5],
  ]; // diagonally dominant, so SPD; Gershgorin: eigenvalues in [1.2, 5.5]
  const B = [
    [1, -0.5, 0.2],
    [0.3, 0.8, -1],
    [-0.7, 0.1, 0.6],
    [0.4, 1.2, 0.5],
  ];
  const t = [1, -1, 0.5, 2];
  const c = 0.3;
  const x0 = [0.7, -1.2, 0.4];
  const y0 = [0.3, -0.5, 1.0, 0.2];

  const At = tensor(A, undefined, f64);
  const Bt = tensor(B, undefined, f64);
  const tt = vec(t);
  const problem = defineProblem({
    x: vec(x0),
    y: vec(y0),
    upper: ([x], [y]) => y.sub(tt).pow(2).sum().mul(0.5).add(x.pow(2).sum().mul(c / 2)),
    lower: ([x], [y]) => {
      const col = y.reshape([4, 1]);
      const quadratic = col.transpose(0, 1).matmul(At).matmul(col).sum().mul(0.5);
      return quadratic.sub(y.mul(Bt.matmul(x)).sum());
    },
  });

  const yStar = solve(A, matVec(B, x0));
  const gStar = add(scale(x0, c), matVec(transpose(B), solve(A, sub(yStar, t))));

  test('the closed form is not trivially small', () => {
    expect(norm2(gStar)).toBeGreaterThan(0.5);
  });

  test('reverse with K = 500 gd steps', () => {
    const it = oneIteration(problem, { dynamics: gd({ lr: 0.15, steps: 500 }), hypergradient: reverse() });
    expectClose(it.y, yStar, 1e-10);
    expectClose(it.gx, gStar, 1e-8);
    expect(it.record.steps).toBe(500);
    expect(it.record.gradientNormX).toBeCloseTo(norm2(gStar), 8);
  });

  test('forward with K = 500 gd steps', () => {
    const it = oneIteration(problem, { dynamics: gd({ lr: 0.15, steps: 500 }), hypergradient: forward() });
    expectClose(it.gx, gStar, 1e-8);
  });

  test('cg at y_K (K = 200), tiny tolerance', () => {
    const it = oneIteration(problem, {
      dynamics: gd({ lr: 0.15, steps: 200 }),
      hypergradient: cg({ iterations: 50, tolerance: 1e-14, damping: 0 }),
    });
    expectClose(it.gx, gStar, 1e-8);
  });

  test('cg with too few iterations is not exact (the iteration count is honoured)', () => {
    const it = oneIteration(problem, {
      dynamics: gd({ lr: 0.15, steps: 200 }),
      hypergradient: cg({ iterations: 1, tolerance: 0 }),
    });
    // One CG step: v = (b^T b / b^T A b) b with b = grad_y F = y* - t.
    const b = sub(yStar, t);
    const v = scale(b, dotp(b, b) / dotp(b, matVec(A, b)));
    expectClose(it.gx, add(scale(x0, c), matVec(transpose(B), v)), 1e-8);
    expect(maxRelativeError(it.gx, gStar)).toBeGreaterThan(1e-3);
  });

  test('cg with damping solves (A + damping I) v = grad_y F', () => {
    const damping = 0.7;
    const it = oneIteration(problem, {
      dynamics: gd({ lr: 0.15, steps: 200 }),
      hypergradient: cg({ iterations: 50, tolerance: 1e-14, damping }),
    });
    const damped = A.map((row, i) => row.map((v, j) => (i === j ? v + damping : v)));
    const v = solve(damped, sub(yStar, t));
    expectClose(it.gx, add(scale(x0, c), matVec(transpose(B), v)), 1e-8);
  });

  test('neumann, alpha < 2 / L and many terms', () => {
    const it = oneIteration(problem, {
      dynamics: gd({ lr: 0.15, steps: 200 }),
      hypergradient: neumann({ alpha: 0.15, terms: 400 }),
    });
    expectClose(it.gx, gStar, 1e-8);
  });

  test('neumann with few terms equals the truncated series computed by hand', () => {
    const alpha = 0.1;
    const terms = 3;
    const it = oneIteration(problem, { dynamics: gd({ lr: 0.15, steps: 200 }), hypergradient: neumann({ alpha, terms }) });
    // v = alpha * sum_{i=0..M} (I - alpha A)^i b
    const b = sub(yStar, t);
    let term = b;
    let sum = b;
    for (let i = 1; i <= terms; i++) {
      term = sub(term, scale(matVec(A, term), alpha));
      sum = add(sum, term);
    }
    const v = scale(sum, alpha);
    expectClose(it.gx, add(scale(x0, c), matVec(transpose(B), v)), 1e-8);
  });
});

// =============================================================================================
// A non-quadratic problem, with every derivative written out by hand.
//   x in R^2, y in R^3, s_j = a_j x_0 y_j + b_j x_1, p = softmax(s)
//   f = 1/2 ||y||^2 + log sum_j exp(s_j) + 1/2 sum_j sin(x_1 + y_j)
//   F = 1/2 ||y - t||^2 + 0.2 x_0 y_1^2 + 1/2 ||x||^2
const nq = {
  a: [1.0, -0.5, 0.8],
  b: [0.3, 0.7, -0.4],
  t: [0.5, -1.0, 1.5],
  x0: [0.8, -0.6],
  y0: [0.4, -0.3, 1.1],
};
function softmaxOf(x: Vec, y: Vec): Vec {
  const s = y.map((yj, j) => nq.a[j] * x[0] * yj + nq.b[j] * x[1]);
  const m = Math.max(...s);
  const e = s.map((v) => Math.exp(v - m));
  const total = e.reduce((p, q) => p + q, 0);
  return e.map((v) => v / total);
}
const nqHand = {
  F: (x: Vec, y: Vec): number =>
    0.5 * y.reduce((s, v, j) => s + (v - nq.t[j]) ** 2, 0) + 0.2 * x[0] * y[1] ** 2 + 0.5 * (x[0] ** 2 + x[1] ** 2),
  gradYF: (x: Vec, y: Vec): Vec => y.map((v, j) => v - nq.t[j] + (j === 1 ? 0.4 * x[0] * y[1] : 0)),
  gradXF: (x: Vec, y: Vec): Vec => [0.2 * y[1] ** 2 + x[0], x[1]],
  gradYf: (x: Vec, y: Vec): Vec => {
    const p = softmaxOf(x, y);
    return y.map((v, j) => v + p[j] * nq.a[j] * x[0] + 0.5 * Math.cos(x[1] + v));
  },
  gradXf: (x: Vec, y: Vec): Vec => {
    const p = softmaxOf(x, y);
    return [
      y.reduce((s, v, j) => s + p[j] * nq.a[j] * v, 0),
      p.reduce((s, pj, j) => s + pj * nq.b[j], 0) + 0.5 * y.reduce((s, v) => s + Math.cos(x[1] + v), 0),
    ];
  },
};
/** y_K of gd from y0 (plain numbers). */
function gdUnroll(gradY: (x: Vec, y: Vec) => Vec, x: Vec, y0: Vec, lr: number, steps: number): Vec[] {
  const trajectory = [y0];
  let y = y0;
  for (let k = 0; k < steps; k++) {
    y = sub(y, scale(gradY(x, y), lr));
    trajectory.push(y);
  }
  return trajectory;
}

const nqConstants = {
  a: vec(nq.a),
  b: vec(nq.b),
  t: vec(nq.t),
  e0: vec([1, 0]),
  e1: vec([0, 1]),
  f1: vec([0, 1, 0]),
};
function nqProblem(): Problem {
  const k = nqConstants;
  return defineProblem({
    x: vec(nq.x0),
    y: vec(nq.y0),
    upper: ([x], [y]) => {
      const x0 = x.mul(k.e0).sum();
      const y1 = y.mul(k.f1).sum();
      return y.sub(k.t).pow(2).sum().mul(0.5).add(x0.mul(y1.pow(2)).mul(0.2)).add(x.pow(2).sum().mul(0.5));
    },
    lower: ([x], [y]) => {
      const x0 = x.mul(k.e0).sum();
      const x1 = x.mul(k.e1).sum();
      const s = k.a.mul(y).mul(x0).add(k.b.mul(x1));
      return y.pow(2).sum().mul(0.5).add(s.exp().sum().log()).add(y.add(x1).sin().sum().mul(0.5));
    },
  });
}

describe('the hand-written derivatives of the non-quadratic problem are right', () => {
  // Guards the reference itself: the hand gradients against differences of the hand values.
  const f = (x: Vec, y: Vec): number => {
    const s = y.map((yj, j) => nq.a[j] * x[0] * yj + nq.b[j] * x[1]);
    return 0.5 * dotp(y, y) + Math.log(s.reduce((p, v) => p + Math.exp(v), 0)) + 0.5 * y.reduce((p, v) => p + Math.sin(x[1] + v), 0);
  };
  test('grad_y f, grad_x f, grad_y F, grad_x F', () => {
    const { x0, y0 } = nq;
    expectClose(nqHand.gradYf(x0, y0), centralDifference((y) => f(x0, y), y0), 1e-8);
    expectClose(nqHand.gradXf(x0, y0), centralDifference((x) => f(x, y0), x0), 1e-8);
    expectClose(nqHand.gradYF(x0, y0), centralDifference((y) => nqHand.F(x0, y), y0), 1e-8);
    expectClose(nqHand.gradXF(x0, y0), centralDifference((x) => nqHand.F(x, y0), x0), 1e-8);
  });
});

// =============================================================================================
// 2. reverse at small K against central differences of phi_K(x) = F(x, y_K(x))
describe('reverse at K = 5 matches central differences of the unrolled phi_K', () => {
  const K = 5;
  const lr = 0.3;
  const phi = (x: Vec, z: Vec): number => nqHand.F(x, gdUnroll(nqHand.gradYf, x, z, lr, K)[K]);

  test('without IA: y_0 fixed, g_x', () => {
    const it = oneIteration(nqProblem(), { dynamics: gd({ lr, steps: K }), hypergradient: reverse() });
    expectClose(it.y, gdUnroll(nqHand.gradYf, nq.x0, nq.y0, lr, K)[K], 1e-13);
    const numeric = centralDifference((x) => phi(x, nq.y0), nq.x0);
    expectClose(it.gx, numeric, 1e-8);
    // The indirect part is not negligible here: first order would be far off.
    expect(maxRelativeError(nqHand.gradXF(nq.x0, it.y), numeric)).toBeGreaterThan(1e-2);
    expect(it.gz).toEqual([]);
    expect(it.record.gradientNormZ).toBe(0);
    expect(it.record.upper).toBeCloseTo(phi(nq.x0, nq.y0), 12);
  });

  test('with IA: y_0 = z, g_x and g_z', () => {
    const z0 = [-0.2, 0.6, 0.3];
    const it = oneIteration(nqProblem(), { dynamics: gd({ lr, steps: K }), hypergradient: reverse(), ia: true, z0 });
    expect(it.z0).toEqual(z0);
    expectClose(it.y, gdUnroll(nqHand.gradYf, nq.x0, z0, lr, K)[K], 1e-13);
    expectClose(it.gx, centralDifference((x) => phi(x, z0), nq.x0), 1e-8);
    const gzNumeric = centralDifference((z) => phi(nq.x0, z), z0);
    expectClose(it.gz, gzNumeric, 1e-8);
    expect(norm2(gzNumeric)).toBeGreaterThan(1e-2);
    expect(it.record.gradientNormZ).toBeCloseTo(norm2(gzNumeric), 7);
  });

  test('with IA and the default z_0 = the problem y_0', () => {
    const it = oneIteration(nqProblem(), { dynamics: gd({ lr, steps: K }), hypergradient: reverse(), ia: true });
    expect(it.z0).toEqual(nq.y0);
    expectClose(it.gz, centralDifference((z) => phi(nq.x0, z), nq.y0), 1e-8);
  });
});

describe('x as a list of two tensors (x_0 and x_1 of the same problem, one per tensor)', () => {
  const K = 5;
  const lr = 0.3;
  const phi = (x: Vec, z: Vec): number => nqHand.F(x, gdUnroll(nqHand.gradYf, x, z, lr, K)[K]);
  const split = (): Problem => {
    const k = nqConstants;
    return defineProblem({
      x: [vec([nq.x0[0]]), vec([nq.x0[1]])],
      y: vec(nq.y0),
      upper: ([xa], [y]) => {
        const x0 = xa.sum();
        const y1 = y.mul(k.f1).sum();
        return y.sub(k.t).pow(2).sum().mul(0.5).add(x0.mul(y1.pow(2)).mul(0.2)).add(x0.pow(2).mul(0.5));
      },
      lower: ([xa, xb], [y]) => {
        const x0 = xa.sum();
        const x1 = xb.sum();
        const s = k.a.mul(y).mul(x0).add(k.b.mul(x1));
        return y.pow(2).sum().mul(0.5).add(s.exp().sum().log()).add(y.add(x1).sin().sum().mul(0.5));
      },
    });
  };
  // F here lacks the x_1^2 / 2 term of nq's F (x_1 enters F only through y_K), so remove it.
  const expected = (z: Vec): Vec => {
    const g = centralDifference((x) => phi(x, z), nq.x0);
    return [g[0], g[1] - nq.x0[1]];
  };

  test.each([['reverse', reverse()], ['forward', forward()], ['truncated(K)', truncated({ steps: K })]] as const)(
    '%s, with IA',
    (_, hypergradient) => {
      const z0 = [0.1, 0.2, -0.3];
      const it = oneIteration(split(), { dynamics: gd({ lr, steps: K }), hypergradient, ia: true, z0 });
      expect(it.x0).toEqual(nq.x0);
      expectClose(it.gx, expected(z0), 1e-8);
      expectClose(it.gz, centralDifference((z) => phi(nq.x0, z), z0), 1e-8);
    },
  );

  test.each([['cg', cg({ iterations: 30, tolerance: 1e-14 })], ['firstOrder', firstOrder()]] as const)('%s', (_, hypergradient) => {
    const it = oneIteration(split(), { dynamics: gd({ lr, steps: 60 }), hypergradient });
    const whole = oneIteration(nqProblem(), { dynamics: gd({ lr, steps: 60 }), hypergradient });
    expectClose(it.gx, [whole.gx[0], whole.gx[1] - nq.x0[1]], 1e-12);
  });
});

// =============================================================================================
// 3. truncated(K) = reverse, forward = reverse; truncated(T < K) against differences of the tail
describe('truncated and forward agree with reverse', () => {
  const K = 5;
  const lr = 0.3;
  const dynamics = gd({ lr, steps: K });

  test.each([false, true])('truncated({steps: K}) equals reverse (IA: %s)', (ia) => {
    const r = oneIteration(nqProblem(), { dynamics, hypergradient: reverse(), ia });
    const t = oneIteration(nqProblem(), { dynamics, hypergradient: truncated({ steps: K }), ia });
    expectClose(t.gx, r.gx, 1e-12);
    expectClose(t.gz, r.gz, 1e-12);
    expectClose(t.y, r.y, 1e-14);
    expect(t.record.steps).toBe(K);
  });

  test.each([false, true])('forward equals reverse (IA: %s)', (ia) => {
    const r = oneIteration(nqProblem(), { dynamics, hypergradient: reverse(), ia, z0: ia ? [0.1, 0.9, -0.4] : undefined });
    const f = oneIteration(nqProblem(), { dynamics, hypergradient: forward(), ia, z0: ia ? [0.1, 0.9, -0.4] : undefined });
    expectClose(f.gx, r.gx, 1e-10);
    expectClose(f.gz, r.gz, 1e-10);
    expectClose(f.y, r.y, 1e-14);
    expect(r.gz).toHaveLength(ia ? 3 : 0);
  });

  test('truncated({steps: T}), T < K: only the last T steps are differentiated', () => {
    const T = 2;
    const it = oneIteration(nqProblem(), { dynamics, hypergradient: truncated({ steps: T }) });
    // y_{K-T} is computed at the base x and held constant.
    const middle = gdUnroll(nqHand.gradYf, nq.x0, nq.y0, lr, K - T)[K - T];
    const tail = (x: Vec): number => nqHand.F(x, gdUnroll(nqHand.gradYf, x, middle, lr, T)[T]);
    expectClose(it.gx, centralDifference(tail, nq.x0), 1e-8);
    const full = oneIteration(nqProblem(), { dynamics, hypergradient: reverse() });
    expect(maxRelativeError(it.gx, full.gx)).toBeGreaterThan(1e-4);
    expectClose(it.y, full.y, 1e-14);
  });
});

// =============================================================================================
// 4. finiteDifference: DARTS' formula, by hand
describe('finiteDifference equals the DARTS formula computed by hand', () => {
  const lr = 0.3; // xi
  const radius = 0.01;
  const darts = (x: Vec, before: Vec, after: Vec): Vec => {
    const v = nqHand.gradYF(x, after);
    const eps = radius / norm2(v);
    const plus = nqHand.gradXf(x, add(before, scale(v, eps)));
    const minus = nqHand.gradXf(x, sub(before, scale(v, eps)));
    return sub(nqHand.gradXF(x, after), scale(sub(plus, minus), lr / (2 * eps)));
  };

  test('K = 1: y = y_0, y\' = y_1', () => {
    const it = oneIteration(nqProblem(), { dynamics: gd({ lr, steps: 1 }), hypergradient: finiteDifference({ radius }) });
    const [y0, y1] = gdUnroll(nqHand.gradYf, nq.x0, nq.y0, lr, 1);
    expectClose(it.y, y1, 1e-14);
    const expected = darts(nq.x0, y0, y1);
    expectClose(it.gx, expected, 1e-9);
    // With K = 1 the finite difference approximates the exact one-step gradient closely.
    const exact = centralDifference((x) => nqHand.F(x, gdUnroll(nqHand.gradYf, x, nq.y0, lr, 1)[1]), nq.x0);
    expectClose(it.gx, exact, 1e-3);
  });

  test('K = 3: y = y_2, y\' = y_3', () => {
    const it = oneIteration(nqProblem(), { dynamics: gd({ lr, steps: 3 }), hypergradient: finiteDifference({ radius }) });
    const trajectory = gdUnroll(nqHand.gradYf, nq.x0, nq.y0, lr, 3);
    expectClose(it.y, trajectory[3], 1e-13);
    expectClose(it.gx, darts(nq.x0, trajectory[2], trajectory[3]), 1e-9);
  });
});

// =============================================================================================
// 5. firstOrder
describe('firstOrder equals grad_x F(x, y_K)', () => {
  test.each([1, 4])('K = %i', (K) => {
    const lr = 0.3;
    const it = oneIteration(nqProblem(), { dynamics: gd({ lr, steps: K }), hypergradient: firstOrder() });
    const yK = gdUnroll(nqHand.gradYf, nq.x0, nq.y0, lr, K)[K];
    expectClose(it.y, yK, 1e-13);
    expectClose(it.gx, nqHand.gradXF(nq.x0, yK), 1e-12);
  });
});

// =============================================================================================
// 6. Pessimistic trajectory truncation
/** Kbar = argmax_{1 <= k <= K} F(x, y_k), ties to the smallest k. */
function pessimisticIndex(F: (y: Vec) => number, trajectory: Vec[]): number {
  let best = -Infinity;
  let kbar = 0;
  for (let k = 1; k < trajectory.length; k++) {
    const value = F(trajectory[k]);
    if (value > best) {
      best = value;
      kbar = k;
    }
  }
  return kbar;
}
const clampTo = (lo: number, hi: number) => (y: Vec): Vec => y.map((v) => Math.min(hi, Math.max(lo, v)));

interface PttCase {
  name: string;
  problem: () => Problem;
  x0: Vec;
  y0: Vec;
  z0: Vec;
  lr: number;
  K: number;
  F: (x: Vec, y: Vec) => number;
  gradYf: (x: Vec, y: Vec) => Vec;
  project: (y: Vec) => Vec;
  /** Expected Kbar range, so the case really exercises what it is meant to. */
  kbar: (kbar: number) => void;
}

function eq20(x0: number, y0: number, box: Box | undefined): () => Problem {
  return () =>
    defineProblem({
      x: vec([x0]),
      y: vec([y0]),
      ySet: box,
      upper: ([x], [y]) => x.sub(2).pow(2).sum().add(y.sub(4).pow(2).sum()),
      lower: ([x], [y]) => x.add(y).sub(2).sin().sum(),
    });
}
const eq20Hand = {
  F: (x: Vec, y: Vec): number => (x[0] - 2) ** 2 + y.reduce((s, v) => s + (v - 4) ** 2, 0),
  gradYf: (x: Vec, y: Vec): Vec => y.map((v) => Math.cos(x[0] + v - 2)),
};
// A 2-D LL whose F first rises (y_0 leaves 1 fast) then falls (y_1 approaches -1 slowly).
const risingThenFalling = {
  F: (x: Vec, y: Vec): number => (y[0] - 1) ** 2 + (y[1] + 1) ** 2 + 0.5 * x[0] ** 2,
  gradYf: (x: Vec, y: Vec): Vec => [
    y[0] - x[0] + 0.05 * Math.cos(y[0] + 2 * y[1]),
    0.05 * (y[1] + 1 - x[0]) + 0.1 * Math.cos(y[0] + 2 * y[1]),
  ],
  problem: (): Problem => {
    const e0 = vec([1, 0]);
    const e1 = vec([0, 1]);
    return defineProblem({
      x: vec([0.3]),
      y: vec([1, 1]),
      upper: ([x], [y]) => {
        const y0 = y.mul(e0).sum();
        const y1 = y.mul(e1).sum();
        return y0.sub(1).pow(2).add(y1.add(1).pow(2)).add(x.pow(2).sum().mul(0.5));
      },
      lower: ([x], [y]) => {
        const xs = x.sum();
        const y0 = y.mul(e0).sum();
        const y1 = y.mul(e1).sum();
        return y0.sub(xs).pow(2).mul(0.5)
          .add(y1.add(1).sub(xs).pow(2).mul(0.025))
          .add(y0.add(y1.mul(2)).sin().mul(0.05));
      },
    });
  },
};

const pttCases: PttCase[] = [
  {
    name: 'Eq. 20 from (-6, 0), lr 0.1, K = 50 (F falls along the trajectory: Kbar = 1, never 0)',
    problem: eq20(-6, 0, { min: -10, max: 10 }),
    x0: [-6], y0: [0], z0: [-0.3], lr: 0.1, K: 50,
    F: eq20Hand.F, gradYf: eq20Hand.gradYf, project: clampTo(-10, 10),
    kbar: (k) => expect(k).toBeLessThan(50),
  },
  {
    name: 'Eq. 20 from (-8, -8): y reaches the bound -10, F ties from there on (smallest k wins)',
    problem: eq20(-8, -8, { min: -10, max: 10 }),
    x0: [-8], y0: [-8], z0: [-8.5], lr: 0.1, K: 50,
    F: eq20Hand.F, gradYf: eq20Hand.gradYf, project: clampTo(-10, 10),
    kbar: (k) => {
      expect(k).toBeGreaterThan(1);
      expect(k).toBeLessThan(50);
    },
  },
  {
    name: '2-D LL where F rises then falls: interior Kbar',
    problem: risingThenFalling.problem,
    x0: [0.3], y0: [1, 1], z0: [0.9, 1.2], lr: 0.5, K: 40,
    F: risingThenFalling.F, gradYf: risingThenFalling.gradYf, project: (y) => y,
    kbar: (k) => {
      expect(k).toBeGreaterThan(2);
      expect(k).toBeLessThan(20);
    },
  },
];

function projectedGd(c: PttCase, x: Vec, y0: Vec, steps: number): Vec[] {
  const trajectory = [y0];
  let y = y0;
  for (let k = 0; k < steps; k++) {
    y = c.project(sub(y, scale(c.gradYf(x, y), c.lr)));
    trajectory.push(y);
  }
  return trajectory;
}

describe.each(pttCases)('PTT: $name', (c) => {
  const dynamics = gd({ lr: c.lr, steps: c.K });

  test.each([false, true])('Kbar by hand; gradient = reverse with K = Kbar; recompute identical (IA: %s)', (ia) => {
    const start = ia ? c.z0 : c.y0;
    const trajectory = projectedGd(c, c.x0, start, c.K);
    const kbar = pessimisticIndex((y) => c.F(c.x0, y), trajectory);
    c.kbar(kbar);

    const z0 = ia ? c.z0 : undefined;
    const ptt = oneIteration(c.problem(), { dynamics, hypergradient: reverse(), ia, z0, ptt: 'plain' });
    expect(ptt.record.steps).toBe(kbar);
    // The record and values() still report y_K, not y_Kbar.
    expectClose(ptt.y, trajectory[c.K], 1e-12);
    expect(ptt.record.upper).toBeCloseTo(c.F(c.x0, trajectory[c.K]), 10);

    const plain = oneIteration(c.problem(), { dynamics: gd({ lr: c.lr, steps: kbar }), hypergradient: reverse(), ia, z0 });
    expect(plain.record.steps).toBe(kbar);
    expectClose(plain.y, trajectory[kbar], 1e-12);
    expectClose(ptt.gx, plain.gx, 1e-13);
    expectClose(ptt.gz, plain.gz, 1e-13);
    expect(ptt.gz).toHaveLength(ia ? c.y0.length : 0);

    // And against differences of F(x, y_Kbar(x, z)) with Kbar held fixed.
    expectClose(ptt.gx, centralDifference((x) => c.F(x, projectedGd(c, x, start, kbar)[kbar]), c.x0), 1e-7);
    if (ia) expectClose(ptt.gz, centralDifference((z) => c.F(c.x0, projectedGd(c, c.x0, z, kbar)[kbar]), start), 1e-7);

    const recompute = oneIteration(c.problem(), { dynamics, hypergradient: reverse(), ia, z0, ptt: 'recompute' });
    expect(recompute.record.steps).toBe(kbar);
    expect(recompute.gx).toEqual(ptt.gx);
    expect(recompute.gz).toEqual(ptt.gz);
    expect(recompute.y).toEqual(ptt.y);
  });

  test.each([false, true])('forward (plain and recompute) gives the same Kbar and gradient (IA: %s)', (ia) => {
    const z0 = ia ? c.z0 : undefined;
    const r = oneIteration(c.problem(), { dynamics, hypergradient: reverse(), ia, z0, ptt: 'plain' });
    for (const mode of ['plain', 'recompute'] as const) {
      const f = oneIteration(c.problem(), { dynamics, hypergradient: forward(), ia, z0, ptt: mode });
      expect(f.record.steps).toBe(r.record.steps);
      expectClose(f.gx, r.gx, 1e-10);
      expectClose(f.gz, r.gz, 1e-10);
      expectClose(f.y, r.y, 1e-13);
    }
  });
});

// Under accelerated dynamics y_1 = y_0 identically (alpha_1 = 1, u_0 = v_0), so choosing it would
// give an x-hypergradient of exactly zero whenever F is largest at the start. Here F is largest
// there: y moves from 0 towards x = 3, away from F's target 5, and F has no direct x term.
describe('PTT under accelerated dynamics never chooses y_1 = y_0', () => {
  const problem = () => defineProblem({
    x: vec([3]),
    y: vec([0]),
    upper: (_, [y]) => y.sub(5).pow(2).sum(),
    lower: ([x], [y]) => y.sub(x).pow(2).sum().mul(0.5),
  });
  const dynamics = accelerated({ lipschitz: 1, steps: 6 });
  const cases = [reverse(), forward()].flatMap((hypergradient) =>
    (['plain', 'recompute'] as const).flatMap((ptt) => [false, true].map((ia) => ({ hypergradient, ptt, ia }))));
  test.each(cases)('$hypergradient.type, PTT $ptt, IA $ia: Kbar = 2 and the gradient of K = 2', ({ hypergradient, ptt, ia }) => {
    const chosen = oneIteration(problem(), { dynamics, hypergradient, ia, ptt });
    expect(chosen.record.steps).toBe(2);
    expect(Math.abs(chosen.gx[0])).toBeGreaterThan(1e-3);
    const two = oneIteration(problem(), { dynamics: accelerated({ lipschitz: 1, steps: 2 }), hypergradient: reverse(), ia });
    expectClose(chosen.gx, two.gx, 1e-10);
    expectClose(chosen.gz, two.gz, 1e-10);
  });
});

// =============================================================================================
// 7. The built-in Eq. 20 problem equals the same formulas written with defineProblem
describe('problems.toy.nonconvex({n: 3}) equals its defineProblem twin', () => {
  const x0 = [-6];
  const y0 = [0.5, -1, 2];
  const toy = (): Problem => problems.toy.nonconvex({ n: 3, x0: [vec(x0)], y0: [vec(y0)] });
  const twin = (): Problem =>
    defineProblem({
      x: vec(x0),
      y: vec(y0),
      ySet: { min: -10, max: 10 },
      upper: ([x], [y]) => x.sub(2).pow(2).sum().add(y.sub(4).pow(2).sum()),
      lower: ([x], [y]) => x.add(y).sub(2).sin().sum(),
    });

  test.each([
    ['reverse', 'plain'], ['reverse', 'recompute'], ['forward', 'plain'],
  ] as const)('one %s + IA + PTT (%s) iteration, to 1e-12', (method, ptt) => {
    const hypergradient = method === 'reverse' ? reverse() : forward();
    const options: IterationOptions = { dynamics: gd({ lr: 0.1, steps: 30 }), hypergradient, ia: true, ptt };
    const a = oneIteration(toy(), options);
    const b = oneIteration(twin(), options);
    expect(a.x0).toEqual(x0);
    expect(a.z0).toEqual(y0);
    expect(a.record.steps).toBe(b.record.steps);
    expectClose(a.gx, b.gx, 1e-12);
    expectClose(a.gz, b.gz, 1e-12);
    expectClose(a.y, b.y, 1e-12);
    expectClose([a.record.upper, a.record.lower], [b.record.upper, b.record.lower], 1e-12);
    expect(a.record.gradientNormX).toBeCloseTo(b.record.gradientNormX, 11);
    expect(a.record.gradientNormZ).toBeCloseTo(b.record.gradientNormZ, 11);
    // And both against the hand-computed Kbar and y_K.
    const c = { ...pttCases[0], lr: 0.1 };
    const trajectory = projectedGd(c, x0, y0, 30);
    expect(a.record.steps).toBe(pessimisticIndex((y) => eq20Hand.F(x0, y), trajectory));
    expectClose(a.y, trajectory[30], 1e-12);
  });

  test('several iterations with a small UL step stay identical', () => {
    const build = () => Solver.builder()
      .dynamics(gd({ lr: 0.1, steps: 20 }))
      .hypergradient(reverse())
      .upper(sgd({ lr: 0.01 }))
      .initAuxiliary({ optimizer: sgd({ lr: 0.05 }) })
      .pessimisticTruncation()
      .build();
    tidy(() => {
      using a = build().start(toy());
      using b = build().start(twin());
      for (let i = 0; i < 4; i++) {
        const ra = a.step();
        const rb = b.step();
        expect(ra.steps).toBe(rb.steps);
        expectClose([ra.upper, ra.lower, ra.gradientNormX, ra.gradientNormZ], [rb.upper, rb.lower, rb.gradientNormX, rb.gradientNormZ], 1e-12);
      }
      const va = a.values();
      const vb = b.values();
      expectClose(flat(va.x), flat(vb.x), 1e-12);
      expectClose(flat(va.y), flat(vb.y), 1e-12);
      expectClose(flat(va.z), flat(vb.z), 1e-12);
    });
  });
});

// =============================================================================================
// 8. IA's own set Z (Eq. 5) and the prior g(z) = lambda/2 ||z - z_p||^2 (Eq. 6)
describe('IA: the set Z and the prior', () => {
  // x in R^1, y = (ya in R^2, yb in R^1): two LL tensors, so z is a list of two tensors too.
  //   f = 1/2 ||ya - x||^2 + 1/2 (yb + x)^2 + 0.1 sin(sum ya + yb),  F = 1/2 ||y - (1, -1, 2)||^2 + x^2 / 2
  const target = [vec([1, -1]), vec([2])];
  const twoTensorProblem = (ySet?: Box): Problem =>
    defineProblem({
      x: vec([0.4]),
      y: [vec([0.2, -0.3]), vec([0.5])],
      ySet,
      upper: ([x], [ya, yb]) =>
        ya.sub(target[0]).pow(2).sum().add(yb.sub(target[1]).pow(2).sum()).mul(0.5).add(x.pow(2).sum().mul(0.5)),
      lower: ([x], [ya, yb]) => {
        const xs = x.sum();
        return ya.sub(xs).pow(2).sum().add(yb.add(xs).pow(2).sum()).mul(0.5).add(ya.sum().add(yb.sum()).sin().mul(0.1));
      },
    });
  const z0 = [0.04, -0.04, 0.04];
  const zInitial = () => [vec(z0.slice(0, 2)), vec(z0.slice(2))];
  const dynamics = gd({ lr: 0.3, steps: 4 });

  interface Step { gx: Vec; z1: Vec; gz: Vec; normZ: number }
  interface IaOptions {
    set?: { min?: number; max?: number };
    prior?: { weight: number; iterations?: number; anchor?: Vec };
    zLr?: number;
  }
  function runIa(problem: Problem, options: IaOptions, iterations = 1): Step[] {
    return tidy(() => {
      let builder = Solver.builder().dynamics(dynamics).hypergradient(reverse()).upper(sgd({ lr: 1 }))
        .initAuxiliary({ optimizer: sgd({ lr: options.zLr ?? 1 }), set: options.set, initial: zInitial() });
      if (options.prior) {
        const { anchor, ...rest } = options.prior;
        builder = builder.prior({ ...rest, anchor: anchor && [vec(anchor.slice(0, 2)), vec(anchor.slice(2))] });
      }
      using run = builder.build().start(problem);
      const steps: Step[] = [];
      for (let i = 0; i < iterations; i++) {
        const before = run.values();
        const record = run.step();
        const after = run.values();
        steps.push({
          gx: sub(flat(before.x), flat(after.x)),
          z1: flat(after.z),
          gz: sub(flat(before.z), flat(after.z)),
          normZ: record.gradientNormZ,
        });
      }
      return steps;
    });
  }

  // One box given for Z applies to every z tensor (a regression: once only z[0] was projected).
  test('initAuxiliary({set}) projects every z tensor onto Z after the update', () => {
    const [free] = runIa(twoTensorProblem(), {});
    const lo = -0.05;
    const hi = 0.05;
    // The unconstrained update leaves the box in both tensors (ya's and yb's part).
    expect(free.z1.slice(0, 2).some((v) => v < lo || v > hi)).toBe(true);
    expect(free.z1[2] < lo || free.z1[2] > hi).toBe(true);
    const [boxed] = runIa(twoTensorProblem(), { set: { min: lo, max: hi } });
    expectClose(boxed.z1, free.z1.map((v) => Math.min(hi, Math.max(lo, v))), 1e-14);
  });

  test('without its own set, Z is the LL set Y (for every tensor)', () => {
    // Y = [-1, 1] does not bind along the LL trajectory (y stays near (0.4, 0.4, -0.4)), but a
    // long z step (lr 10) leaves it.
    const box = { min: -1, max: 1 };
    const [withY] = runIa(twoTensorProblem(box), { zLr: 10 });
    const [wideZ] = runIa(twoTensorProblem(box), { zLr: 10, set: { min: -100, max: 100 } });
    expect(wideZ.z1.slice(0, 2).some((v) => v < -1 || v > 1)).toBe(true);
    expect(wideZ.z1[2] < -1 || wideZ.z1[2] > 1).toBe(true);
    expectClose(withY.z1, wideZ.z1.map((v) => Math.min(1, Math.max(-1, v))), 1e-14);
  });

  test('prior adds lambda (z - z_p) to g_z only, on every iteration by default', () => {
    const weight = 0.7;
    const anchor = [0.5, 0.1, -0.3];
    const [plain] = runIa(twoTensorProblem(), {});
    const [prior] = runIa(twoTensorProblem(), { prior: { weight, anchor } });
    expectClose(prior.gx, plain.gx, 1e-14);
    expectClose(prior.gz, add(plain.gz, scale(sub(z0, anchor), weight)), 1e-13);
    expect(prior.normZ).toBeCloseTo(norm2(prior.gz), 12);
    // Default anchor z_p = z_0: the prior's gradient vanishes at the first iteration.
    const [selfAnchored] = runIa(twoTensorProblem(), { prior: { weight } });
    expectClose(selfAnchored.gz, plain.gz, 1e-14);
  });

  test('prior({iterations: 1}) applies g only during the first UL iteration', () => {
    const weight = 0.7;
    const anchor = [0.5, 0.1, -0.3];
    const once = runIa(twoTensorProblem(), { prior: { weight, anchor, iterations: 1 } }, 2);
    const always = runIa(twoTensorProblem(), { prior: { weight, anchor } }, 2);
    expectClose(once[0].gz, always[0].gz, 1e-14);
    // Second iteration from the same (x_1, z_1): g_z of the once-run has no prior term, so adding
    // lambda (z_1 - z_p) to it gives the always-run's g_z.
    expectClose(once[0].z1, always[0].z1, 1e-14);
    expectClose(add(once[1].gz, scale(sub(once[0].z1, anchor), weight)), always[1].gz, 1e-12);
    expect(maxRelativeError(once[1].gz, always[1].gz)).toBeGreaterThan(1e-3);
  });
});

// =============================================================================================
// 9. Graphs only where needed (docs/algorithms.md §3.6), forward mode's memory independent of K
//    (§5.3), PTT with recompute in O(Kbar) memory (§4.4): peakBytes at K = 10 and K = 100.
describe('memory: peakBytes against K', () => {
  const n = 4000;
  const w = vec(Array.from({ length: n }, (_, i) => Math.sin(i)));
  const wide = (): Problem =>
    defineProblem({
      x: vec([0.3, -0.2]),
      y: vec(new Array<number>(n).fill(0.1)),
      upper: ([x], [y]) => y.sub(1).pow(2).sum().add(x.pow(2).sum()),
      lower: ([x], [y]) =>
        y.sub(x.sum()).pow(2).sum().mul(0.5).add(y.mul(w).mul(x.pow(2).sum()).sin().sum().mul(0.1)),
    });
  const peak = (problem: () => Problem, K: number, hypergradient: HypergradientConfig, ptt?: 'plain' | 'recompute') =>
    oneIteration(problem(), { dynamics: gd({ lr: 0.1, steps: K }), hypergradient, ptt }).record;

  test('reverse grows with K; forward, truncated(5), cg, neumann, finiteDifference, firstOrder do not', () => {
    const ratio = (h: HypergradientConfig) => peak(wide, 100, h).peakBytes / peak(wide, 10, h).peakBytes;
    expect(ratio(reverse())).toBeGreaterThan(5);
    for (const h of [forward(), truncated({ steps: 5 }), cg(), neumann(), finiteDifference(), firstOrder()]) {
      const r = ratio(h);
      expect({ method: h.type, flat: r < 1.1 }).toEqual({ method: h.type, flat: true });
    }
  });

  test('PTT: plain keeps the whole graph (O(K)); recompute and forward do not (Kbar = 1 here)', () => {
    const toy = () => problems.toy.nonconvex({ n });
    const plain10 = peak(toy, 10, reverse(), 'plain');
    const plain100 = peak(toy, 100, reverse(), 'plain');
    const re10 = peak(toy, 10, reverse(), 'recompute');
    const re100 = peak(toy, 100, reverse(), 'recompute');
    const fw100 = peak(toy, 100, forward(), 'plain');
    expect([plain10.steps, plain100.steps, re10.steps, re100.steps, fw100.steps]).toEqual([1, 1, 1, 1, 1]);
    expect(plain100.peakBytes / plain10.peakBytes).toBeGreaterThan(5);
    expect(re100.peakBytes / re10.peakBytes).toBeLessThan(1.1);
    expect(re100.peakBytes).toBeLessThan(plain100.peakBytes / 10);
    expect(fw100.peakBytes / peak(toy, 10, forward(), 'plain').peakBytes).toBeLessThan(1.1);
  });
});
