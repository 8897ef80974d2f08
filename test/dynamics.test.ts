// LL maps T (docs/algorithms.md §3) against hand-unrolled recurrences in plain numbers:
// gd, bda, nesterov (FISTA form), accelerated (Ghadimi-Lan) and heavyBall (PyTorch's SGD with
// momentum after clip_grad_norm_), with and without Proj_Y, and the hypergradients through them
// against central differences of the hand-unrolled phi_K.
import {
  Solver, defineProblem, tensor, tidy, gd, bda, nesterov, accelerated, heavyBall, reverse, forward, truncated, sgd,
  type Box, type DynamicsConfig, type HypergradientConfig, type IterationRecord, type Problem, type Tensor,
} from '../lib';
import { vec, flat, add, sub, scale, centralDifference, maxRelativeError, expectClose, type Vec } from './vectors';

// ---------------------------------------------------------------------------------------------
// The test problem: x in R^2; y = (ya in R^2, yb in R^1), written flat as y = (y_0, y_1, y_2).
//   f = 1/2 sum_j q_j y_j^2 - (x_0 y_0 + x_1 y_1 + x_0 x_1 y_2) + 0.3 sin(y_0 + y_2)
//   F = 1/2 ||y - t||^2 + 0.1 ||x||^2
// Two LL tensors, so the dynamics' multi-block state (nesterov: y, u; accelerated: y, u, v) is
// sliced per tensor.
const q = [1.5, 0.8, 1.0];
const t = [1, -1, 0.5];
const X0 = [0.7, -0.3];
const Y0 = [0.2, 0.3, 0.9];
const hand = {
  F: (x: Vec, y: Vec): number => 0.5 * y.reduce((s, v, j) => s + (v - t[j]) ** 2, 0) + 0.1 * (x[0] ** 2 + x[1] ** 2),
  gradYF: (_x: Vec, y: Vec): Vec => sub(y, t),
  gradYf: (x: Vec, y: Vec): Vec => {
    const c = 0.3 * Math.cos(y[0] + y[2]);
    return [q[0] * y[0] - x[0] + c, q[1] * y[1] - x[1], q[2] * y[2] - x[0] * x[1] + c];
  },
};

const e0 = vec([1, 0]);
const e1 = vec([0, 1]);
const tA = vec([t[0], t[1]]);
const qA = vec([q[0], q[1]]);
function makeProblem(ySet?: Box | (Box | undefined)[], y0: Vec = Y0): Problem {
  return defineProblem({
    x: vec(X0),
    y: [vec(y0.slice(0, 2)), vec(y0.slice(2))],
    ySet,
    upper: ([x], [ya, yb]) =>
      ya.sub(tA).pow(2).sum().add(yb.sub(t[2]).pow(2).sum()).mul(0.5).add(x.pow(2).sum().mul(0.1)),
    lower: ([x], [ya, yb]) => {
      const x0 = x.mul(e0).sum();
      const x1 = x.mul(e1).sum();
      const y0 = ya.mul(e0).sum();
      const y1 = ya.mul(e1).sum();
      const y2 = yb.sum();
      const quadratic = ya.pow(2).mul(qA).sum().add(yb.pow(2).sum().mul(q[2])).mul(0.5);
      const linear = x0.mul(y0).add(x1.mul(y1)).add(x0.mul(x1).mul(y2));
      return quadratic.sub(linear).add(y0.add(y2).sin().mul(0.3));
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Hand-unrolled maps (docs/algorithms.md §3); each returns the trajectory y_0..y_K.
type Projection = (y: Vec) => Vec;
const identity: Projection = (y) => y;

function gdHand(x: Vec, y0: Vec, lr: number, K: number, P: Projection = identity): Vec[] {
  const out = [y0];
  let y = y0;
  for (let k = 0; k < K; k++) {
    y = P(sub(y, scale(hand.gradYf(x, y), lr)));
    out.push(y);
  }
  return out;
}

function bdaHand(x: Vec, y0: Vec, o: { lr: number; upperLr: number; mu: number; beta: number }, K: number): Vec[] {
  const out = [y0];
  let y = y0;
  for (let k = 0; k < K; k++) {
    const ak = 1 / (k + 1);
    const direction = add(scale(hand.gradYF(x, y), o.mu * ak * o.upperLr), scale(hand.gradYf(x, y), (1 - o.mu) * o.beta * o.lr));
    y = sub(y, direction);
    out.push(y);
  }
  return out;
}

/** Nesterov state (y_k, u_k, t_k) run from step index k0 to k1; returns y_{k0}..y_{k1} and the last state. */
interface NesterovState { y: Vec; u: Vec; t: number }
function nesterovRun(x: Vec, s: NesterovState, k0: number, k1: number, lr: number, P: Projection = identity) {
  const ys = [s.y];
  let { y, u, t: tk } = s;
  for (let k = k0; k < k1; k++) {
    const next = P(sub(u, scale(hand.gradYf(x, u), lr)));
    const tNext = (1 + Math.sqrt(1 + 4 * tk * tk)) / 2;
    u = add(next, scale(sub(next, y), (tk - 1) / tNext));
    y = next;
    tk = tNext;
    ys.push(y);
  }
  return { ys, state: { y, u, t: tk } };
}
function nesterovHand(x: Vec, y0: Vec, lr: number, K: number, P: Projection = identity): Vec[] {
  return nesterovRun(x, { y: y0, u: y0, t: 1 }, 0, K, lr, P).ys;
}

/** Ghadimi-Lan state (y_k, u_k, v_k) run from k0 to k1 (the paper's k = k0+1..k1). */
interface AcceleratedState { y: Vec; u: Vec; v: Vec }
function acceleratedRun(x: Vec, s: AcceleratedState, k0: number, k1: number, lipschitz: number, P: Projection = identity) {
  const ys = [s.y];
  let { y, u, v } = s;
  const beta = 1 / (2 * lipschitz);
  for (let k = k0 + 1; k <= k1; k++) {
    const alpha = 2 / (k + 1);
    const lambda = (k * beta) / 2;
    y = add(scale(u, 1 - alpha), scale(v, alpha));
    const g = hand.gradYf(x, y);
    u = P(sub(y, scale(g, beta)));
    v = P(sub(v, scale(g, lambda)));
    ys.push(y);
  }
  return { ys, state: { y, u, v } };
}
function acceleratedHand(x: Vec, y0: Vec, lipschitz: number, K: number, P: Projection = identity): Vec[] {
  return acceleratedRun(x, { y: y0, u: y0, v: y0 }, 0, K, lipschitz, P).ys;
}

/**
 * heavyBall state (y_k, velocity v_k) run from k0 to k1, as torch.optim.SGD (dampening 0) steps
 * after torch.nn.utils.clip_grad_norm_: g scaled to a global norm of at most `clip` (with its 1e-6),
 * d = g + weightDecay y, v = momentum v + d, y = Proj(y - lr v).
 */
interface HeavyBallState { y: Vec; v: Vec }
const heavyBallOptions = { lr: 0.3, momentum: 0.7, weightDecay: 0.05, gradientClip: 0.8 };
function heavyBallRun(x: Vec, s: HeavyBallState, k0: number, k1: number, P: Projection = identity, lr = heavyBallOptions.lr) {
  const { momentum, weightDecay, gradientClip } = heavyBallOptions;
  const ys = [s.y];
  let { y, v } = s;
  for (let k = k0; k < k1; k++) {
    let g = hand.gradYf(x, y);
    const gNorm = Math.sqrt(g.reduce((sum, gi) => sum + gi * gi, 0));
    g = scale(g, Math.min(1, gradientClip / (gNorm + 1e-6)));
    v = add(scale(v, momentum), add(g, scale(y, weightDecay)));
    y = P(sub(y, scale(v, lr)));
    ys.push(y);
  }
  return { ys, state: { y, v } };
}
function heavyBallHand(x: Vec, y0: Vec, K: number, P: Projection = identity): Vec[] {
  return heavyBallRun(x, { y: y0, v: [0, 0, 0] }, 0, K, P).ys;
}

// ---------------------------------------------------------------------------------------------
interface Iteration {
  record: IterationRecord;
  gx: Vec;
  gz: Vec;
  y: Vec;
}
function oneIteration(
  problem: Problem,
  dynamics: DynamicsConfig,
  hypergradient: HypergradientConfig = reverse(),
  options: { z0?: Vec; ptt?: boolean } = {},
): Iteration {
  return tidy(() => {
    let builder = Solver.builder().dynamics(dynamics).hypergradient(hypergradient).upper(sgd({ lr: 1 }));
    const { z0 } = options;
    if (z0) builder = builder.initAuxiliary({ optimizer: sgd({ lr: 1 }), initial: [vec(z0.slice(0, 2)), vec(z0.slice(2))] });
    if (options.ptt) builder = builder.pessimisticTruncation();
    using run = builder.build().start(problem);
    const before = run.values();
    const record = run.step();
    const after = run.values();
    return {
      record,
      gx: sub(flat(before.x), flat(after.x)),
      gz: sub(flat(before.z), flat(after.z)),
      y: flat(after.y),
    };
  });
}

const Z0 = [-0.1, 0.5, 0.4];

// =============================================================================================
// 1. bda
describe('bda', () => {
  const sl = 0.3;
  const beta = 0.7;
  const K = 6;

  test.each([undefined, Z0])('mu = 0 equals gd with lr = beta * s_l (z0: %p)', (z0) => {
    const a = oneIteration(makeProblem(), bda({ lr: sl, upperLr: 0.9, mu: 0, beta, steps: K }), reverse(), { z0 });
    const b = oneIteration(makeProblem(), gd({ lr: beta * sl, steps: K }), reverse(), { z0 });
    expectClose(a.y, b.y, 1e-14);
    expectClose(a.gx, b.gx, 1e-14);
    expectClose(a.gz, b.gz, 1e-14);
    expectClose(a.y, gdHand(X0, z0 ?? Y0, beta * sl, K)[K], 1e-13);
    expect(a.record.steps).toBe(K);
  });

  test('mu > 0 aggregates grad_y F with a_k = 1/(k+1) (k = 0..K-1) and grad_y f with beta * s_l', () => {
    const o = { lr: sl, upperLr: 0.4, mu: 0.3, beta };
    const it = oneIteration(makeProblem(), bda({ ...o, steps: K }), reverse(), { z0: Z0 });
    expectClose(it.y, bdaHand(X0, Z0, o, K)[K], 1e-13);
    // Differs from mu = 0, so grad_y F really enters.
    expect(maxRelativeError(it.y, gdHand(X0, Z0, beta * sl, K)[K])).toBeGreaterThan(1e-3);
    // The hypergradient goes through grad_y F inside the map as well.
    const phi = (x: Vec, z: Vec) => hand.F(x, bdaHand(x, z, o, K)[K]);
    expectClose(it.gx, centralDifference((x) => phi(x, Z0), X0), 1e-8);
    expectClose(it.gz, centralDifference((z) => phi(X0, z), Z0), 1e-8);
    const f = oneIteration(makeProblem(), bda({ ...o, steps: K }), forward(), { z0: Z0 });
    expectClose(f.gx, it.gx, 1e-10);
    expectClose(f.gz, it.gz, 1e-10);
  });
});

// =============================================================================================
// 2. nesterov and accelerated: 3 steps by hand, and the hypergradients through them
describe.each([
  {
    name: 'nesterov',
    config: (K: number) => nesterov({ lr: 0.4, steps: K }),
    unroll: (x: Vec, y0: Vec, K: number, P?: Projection) => nesterovHand(x, y0, 0.4, K, P),
    /** y_K with the state at K - T computed at X0 and held fixed, the last T steps at x. */
    tail: (x: Vec, K: number, T: number) => {
      const middle = nesterovRun(X0, { y: Y0, u: Y0, t: 1 }, 0, K - T, 0.4).state;
      return nesterovRun(x, middle, K - T, K, 0.4).state.y;
    },
  },
  {
    name: 'accelerated',
    config: (K: number) => accelerated({ lipschitz: 0.8, steps: K }),
    unroll: (x: Vec, y0: Vec, K: number, P?: Projection) => acceleratedHand(x, y0, 0.8, K, P),
    tail: (x: Vec, K: number, T: number) => {
      const middle = acceleratedRun(X0, { y: Y0, u: Y0, v: Y0 }, 0, K - T, 0.8).state;
      return acceleratedRun(x, middle, K - T, K, 0.8).state.y;
    },
  },
  {
    name: 'heavyBall',
    config: (K: number) => heavyBall({ ...heavyBallOptions, steps: K }),
    unroll: (x: Vec, y0: Vec, K: number, P?: Projection) => heavyBallHand(x, y0, K, P),
    tail: (x: Vec, K: number, T: number) => {
      const middle = heavyBallRun(X0, { y: Y0, v: [0, 0, 0] }, 0, K - T).state;
      return heavyBallRun(x, middle, K - T, K).state.y;
    },
  },
])('$name', ({ config, unroll, tail }) => {
  test('y_1, y_2, y_3 equal the hand-unrolled recurrence', () => {
    const trajectory = unroll(X0, Y0, 3);
    for (const K of [1, 2, 3]) {
      const it = oneIteration(makeProblem(), config(K));
      expectClose(it.y, trajectory[K], 1e-14);
      expect(it.record.steps).toBe(K);
      expect(it.record.upper).toBeCloseTo(hand.F(X0, trajectory[K]), 13);
    }
    // The recurrence is not plain gd (momentum / aggregation is in effect by step 3).
    expect(maxRelativeError(trajectory[3], gdHand(X0, Y0, 0.4, 3)[3])).toBeGreaterThan(1e-3);
  });

  test('reverse at K = 6 matches differences of the hand-unrolled phi_K, in x and z', () => {
    const K = 6;
    const phi = (x: Vec, z: Vec) => hand.F(x, unroll(x, z, K)[K]);
    const plain = oneIteration(makeProblem(), config(K));
    expectClose(plain.gx, centralDifference((x) => phi(x, Y0), X0), 1e-8);
    const ia = oneIteration(makeProblem(), config(K), reverse(), { z0: Z0 });
    expectClose(ia.y, unroll(X0, Z0, K)[K], 1e-13);
    expectClose(ia.gx, centralDifference((x) => phi(x, Z0), X0), 1e-8);
    expectClose(ia.gz, centralDifference((z) => phi(X0, z), Z0), 1e-8);
  });

  test.each([undefined, Z0])('forward equals reverse at K = 6 (z0: %p)', (z0) => {
    const r = oneIteration(makeProblem(), config(6), reverse(), { z0 });
    const f = oneIteration(makeProblem(), config(6), forward(), { z0 });
    expectClose(f.gx, r.gx, 1e-10);
    expectClose(f.gz, r.gz, 1e-10);
    expectClose(f.y, r.y, 1e-14);
  });

  test('truncated({steps: K}) equals reverse; truncated({steps: 2}) differentiates the last 2 steps (schedule kept)', () => {
    const K = 6;
    const r = oneIteration(makeProblem(), config(K), reverse(), { z0: Z0 });
    const full = oneIteration(makeProblem(), config(K), truncated({ steps: K }), { z0: Z0 });
    expectClose(full.gx, r.gx, 1e-12);
    expectClose(full.gz, r.gz, 1e-12);
    const T = 2;
    const it = oneIteration(makeProblem(), config(K), truncated({ steps: T }));
    expectClose(it.y, unroll(X0, Y0, K)[K], 1e-13);
    expectClose(it.gx, centralDifference((x) => hand.F(x, tail(x, K, T)), X0), 1e-8);
    expect(maxRelativeError(it.gx, r.gx)).toBeGreaterThan(1e-4);
  });

  test('with a box Y that binds: the hand recurrence with Proj_Y, iterates inside the box', () => {
    const lo = -0.2;
    const hi = 0.6;
    const P: Projection = (y) => y.map((v) => Math.min(hi, Math.max(lo, v)));
    const K = 8;
    const free = unroll(X0, Y0, K);
    expect(free.some((y) => y.some((v) => v < lo || v > hi))).toBe(true);
    const it = oneIteration(makeProblem({ min: lo, max: hi }), config(K));
    const boxed = unroll(X0, Y0, K, P);
    expectClose(it.y, boxed[K], 1e-14);
    it.y.forEach((v) => {
      expect(v).toBeGreaterThanOrEqual(lo);
      expect(v).toBeLessThanOrEqual(hi);
    });
  });
});

describe('accelerated with PTT (AIT_NC): Kbar over y_1..y_K of the Ghadimi-Lan trajectory', () => {
  test('Kbar and the gradient by hand', () => {
    const K = 12;
    const lipschitz = 0.8;
    // z_0 near t: F(x, y_k) first rises, then the momentum overshoot brings it back down.
    const z0 = [0.9, -0.8, 0.6];
    const trajectory = acceleratedHand(X0, z0, lipschitz, K);
    let best = -Infinity;
    let kbar = 0;
    for (let k = 1; k <= K; k++) {
      const value = hand.F(X0, trajectory[k]);
      if (value > best) {
        best = value;
        kbar = k;
      }
    }
    expect(kbar).toBeGreaterThan(2);
    expect(kbar).toBeLessThan(K);
    const it = oneIteration(makeProblem(), accelerated({ lipschitz, steps: K }), reverse(), { z0, ptt: true });
    expect(it.record.steps).toBe(kbar);
    expectClose(it.y, trajectory[K], 1e-13);
    const phi = (x: Vec, z: Vec) => hand.F(x, acceleratedHand(x, z, lipschitz, kbar)[kbar]);
    expectClose(it.gx, centralDifference((x) => phi(x, z0), X0), 1e-8);
    expectClose(it.gz, centralDifference((z) => phi(X0, z), z0), 1e-8);
    // Differentiating the whole trajectory instead would give another gradient.
    const whole = (x: Vec, z: Vec) => hand.F(x, acceleratedHand(x, z, lipschitz, K)[K]);
    expect(maxRelativeError(it.gz, centralDifference((z) => whole(X0, z), z0))).toBeGreaterThan(1e-3);
  });
});

describe('heavyBall across UL iterations', () => {
  const K = 3;
  const iterations = 3;
  // x moves each UL iteration (sgd, lr 1), so y and the velocity are carried into another LL.
  function run(lowerStart: 'fixed' | 'warm') {
    return tidy(() => {
      const solver = Solver.builder().dynamics(heavyBall({ ...heavyBallOptions, steps: K })).hypergradient(reverse())
        .upper(sgd({ lr: 1 })).lowerStart(lowerStart).build();
      using active = solver.start(makeProblem());
      const xs: Vec[] = [];
      const ys: Vec[] = [];
      for (let i = 0; i < iterations; i++) {
        xs.push(flat(active.values().x));
        active.step();
        ys.push(flat(active.values().y));
      }
      return { xs, ys };
    });
  }

  test("'warm' starts each LL from the last y_K and velocity, as an SGD optimizer kept across steps", () => {
    const { xs, ys } = run('warm');
    let state: HeavyBallState = { y: Y0, v: [0, 0, 0] };
    for (let i = 0; i < iterations; i++) {
      state = heavyBallRun(xs[i], state, 0, K).state;
      expectClose(ys[i], state.y, 1e-13);
    }
    // A velocity restarted at zero would give another y after the first iteration.
    const restarted = heavyBallRun(xs[1], { y: ys[0], v: [0, 0, 0] }, 0, K).state.y;
    expect(maxRelativeError(ys[1], restarted)).toBeGreaterThan(1e-3);
  });

  test("'fixed' restarts y and the velocity each UL iteration", () => {
    const { xs, ys } = run('fixed');
    for (let i = 0; i < iterations; i++) expectClose(ys[i], heavyBallHand(xs[i], Y0, K)[K], 1e-13);
  });

  test('the clipping binds on this problem (else the test would not check it)', () => {
    const gNorm = Math.sqrt(hand.gradYf(X0, Y0).reduce((sum, gi) => sum + gi * gi, 0));
    expect(gNorm).toBeGreaterThan(heavyBallOptions.gradientClip * 1.2);
  });
});

// =============================================================================================
// 3. Projection onto Y for gd
describe('gd with a box Y', () => {
  const lr = 0.5;
  const K = 8;

  test('one box for every LL tensor: iterates stay inside and equal clamp of each gd step', () => {
    const lo = -0.2;
    const hi = 0.6;
    const P: Projection = (y) => y.map((v) => Math.min(hi, Math.max(lo, v)));
    const free = gdHand(X0, Y0, lr, K);
    expect(free[K].some((v) => v < lo || v > hi)).toBe(true); // unconstrained gd leaves the box
    const boxed = gdHand(X0, Y0, lr, K, P);
    for (const k of [1, 3, K]) {
      const it = oneIteration(makeProblem({ min: lo, max: hi }), gd({ lr, steps: k }));
      expectClose(it.y, boxed[k], 1e-14);
      it.y.forEach((v) => {
        expect(v).toBeGreaterThanOrEqual(lo);
        expect(v).toBeLessThanOrEqual(hi);
      });
    }
    expect(boxed[K].some((v) => v === lo || v === hi)).toBe(true);
  });

  test('per-tensor sets with per-element tensor bounds', () => {
    const loA = [-0.5, -0.2];
    const hiA = [0.25, 0.6];
    const loB = -0.3;
    const P: Projection = (y) => [
      Math.min(hiA[0], Math.max(loA[0], y[0])),
      Math.min(hiA[1], Math.max(loA[1], y[1])),
      Math.max(loB, y[2]),
    ];
    const boxed = gdHand(X0, Y0, lr, K, P);
    const it = oneIteration(makeProblem([{ min: vec(loA), max: vec(hiA) }, { min: loB }]), gd({ lr, steps: K }));
    expectClose(it.y, boxed[K], 1e-14);
    // Each bound is active somewhere along the trajectory.
    expect(boxed.some((y) => y[0] === hiA[0])).toBe(true);
    expect(boxed.some((y) => y[1] === loA[1])).toBe(true);
    expect(boxed.some((y) => y[2] === loB)).toBe(true);
  });

  test.each([reverse(), forward()])('the $type hypergradient through the projection matches differences', (hypergradient) => {
    const lo = -0.2;
    const hi = 0.6;
    const P: Projection = (y) => y.map((v) => Math.min(hi, Math.max(lo, v)));
    // Differences are valid only away from the kinks: no unprojected iterate is near a bound.
    let y = Z0;
    for (let k = 0; k < K; k++) {
      const raw = sub(y, scale(hand.gradYf(X0, y), lr));
      raw.forEach((v) => expect(Math.min(Math.abs(v - lo), Math.abs(v - hi))).toBeGreaterThan(1e-3));
      y = P(raw);
    }
    const phi = (x: Vec, z: Vec) => hand.F(x, gdHand(x, z, lr, K, P)[K]);
    const it = oneIteration(makeProblem({ min: lo, max: hi }), gd({ lr, steps: K }), hypergradient, { z0: Z0 });
    expectClose(it.gx, centralDifference((x) => phi(x, Z0), X0), 1e-8);
    expectClose(it.gz, centralDifference((z) => phi(X0, z), Z0), 1e-8);
    // The projection is active, so the unprojected gradient would differ.
    const free = (x: Vec, z: Vec) => hand.F(x, gdHand(x, z, lr, K)[K]);
    expect(maxRelativeError(it.gx, centralDifference((x) => free(x, Z0), X0))).toBeGreaterThan(1e-4);
  });
});

// =============================================================================================
// The LL step size across UL iterations
describe('lowerLrSchedule', () => {
  const lr = 0.4;
  const minimum = 0.05;
  const K = 3;
  // 2 epochs of 2 UL iterations, then 2 more iterations at the end of the cosine.
  const epochs = 2;
  const iterationsPerEpoch = 2;
  const cosine = (t: number) => {
    const e = Math.min(Math.floor(t / iterationsPerEpoch), epochs);
    return minimum + ((lr - minimum) * (1 + Math.cos((Math.PI * e) / epochs))) / 2;
  };

  test('each UL iteration unrolls at its epoch\'s cosine step size: lr, (lr + minimum) / 2, minimum', () => {
    const expected = [lr, lr, (lr + minimum) / 2, (lr + minimum) / 2, minimum, minimum];
    expected.forEach((v, t) => expect(cosine(t)).toBeCloseTo(v, 15));
    tidy(() => {
      const solver = Solver.builder().dynamics(gd({ lr, steps: K })).hypergradient(reverse()).upper(sgd({ lr: 1 }))
        .lowerStart('warm').lowerLrSchedule({ minimum, epochs, iterationsPerEpoch }).build();
      using run = solver.start(makeProblem());
      let y = Y0;
      for (let t = 0; t < 6; t++) {
        const x = flat(run.values().x);
        run.step();
        y = gdHand(x, y, cosine(t), K)[K];
        expectClose(flat(run.values().y), y, 1e-13);
      }
    });
  });

  test('refusals: accelerated dynamics have no lr; the minimum above lr; epochs missing', () => {
    expect(() => Solver.builder().dynamics(accelerated({ steps: 2 })).lowerLrSchedule({ epochs: 2 }).build())
      .toThrow(/lowerLrSchedule schedules dynamics\.lr, which accelerated dynamics do not have/);
    expect(() => Solver.builder().dynamics(gd({ lr: 0.1 })).lowerLrSchedule({ epochs: 2, minimum: 0.2 }).build())
      .toThrow(/lowerLrSchedule\.minimum must be <= dynamics\.lr = 0\.1/);
    expect(() => Solver.builder().dynamics(gd()).lowerLrSchedule({ epochs: 0 }).build()).toThrow(/lowerLrSchedule\.epochs/);
  });
});


// =============================================================================================
// Single-level training (docs/algorithms.md §3.8)
describe('Solver.training', () => {
  const K = 3;
  const minimum = 0.05;
  const epochs = 2;
  const cosine = (iteration: number) => minimum + ((heavyBallOptions.lr - minimum) * (1 + Math.cos((Math.PI * Math.min(iteration, epochs)) / epochs))) / 2;
  const training = () => Solver.training({ dynamics: heavyBall({ ...heavyBallOptions, steps: K }), lowerLrSchedule: { epochs, minimum } });

  test('heavyBall trains y as one SGD run: K steps an iteration, velocity carried, lr by the cosine; x stays', () => {
    tidy(() => {
      using run = training().start(makeProblem());
      let state: HeavyBallState = { y: Y0, v: [0, 0, 0] };
      for (let iteration = 0; iteration < 4; iteration++) {
        const record = run.step();
        state = heavyBallRun(X0, state, 0, K, identity, cosine(iteration)).state;
        const { x, y } = run.values();
        expectClose(flat(y), state.y, 1e-13);
        expectClose(flat(x), X0, 0);
        expect(record.steps).toBe(K);
        expect(record.upper).toBeCloseTo(hand.F(X0, state.y), 12);
        expect(record.gradientNormX).toBe(0);
      }
    });
  });

  test('a run saved and loaded goes on as one straight through (velocity and schedule included)', async () => {
    const file = require('node:path').join(require('node:os').tmpdir(), `bilevel-training-${process.pid}.ckpt`);
    using straight = training().start(makeProblem());
    for (let i = 0; i < 4; i++) straight.step();
    using first = training().start(makeProblem());
    first.step();
    first.step();
    await first.save(file, '{}');
    using resumed = training().start(makeProblem());
    await resumed.load(file);
    resumed.step();
    resumed.step();
    expectClose(flat(resumed.values().y), flat(straight.values().y), 0);
  });

  test('refusals: bda mixes in F; accelerated dynamics take no schedule; unknown options', () => {
    expect(() => Solver.training({ dynamics: bda({ lr: 0.1 }) })).toThrow(/training descends f alone; bda dynamics mix in F's gradient/);
    expect(() => Solver.training({ dynamics: accelerated({ steps: 2 }), lowerLrSchedule: { epochs: 2 } }))
      .toThrow(/lowerLrSchedule schedules dynamics\.lr, which accelerated dynamics do not have/);
    expect(() => Solver.training({ dynamics: gd(), upper: sgd() } as never)).toThrow(/training\.options\.upper/);
  });
});
