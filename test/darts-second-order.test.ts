// DARTS' second-order architecture gradient (docs/algorithms.md §5.6): finiteDifference with
// heavyBall dynamics, one LL step, warm-started, against the reference code's architect step
// written out by hand on a tiny network: the virtual step w' = w - xi (mu m + grad + wd w) with
// the momentum buffer and weight decay and no clipping, v = grad_w L_val(w', alpha), the
// Hessian-vector product by central differences at w +- eps v, eps = r / ||v||.
import { Solver, defineProblem, finiteDifference, heavyBall, sgd, tensor, tidy, type Problem, type Tensor } from '../lib';
import { add, centralDifference, expectClose, f64, flat, maxRelativeError, norm2, scale, sub, vec, type Vec } from './vectors';

// ---------------------------------------------------------------------------------------------
// The network: one mixed edge of three operations on a 2-feature input u,
//   h = a_0 tanh(W u) + a_1 u + a_2 W u,  a = softmax(alpha),  output = w . h,
// squared error against a target, averaged over the split. x = alpha (3), y = (W (2 x 2), w (2)).
const train = { u: [[0.5, -1.0], [1.2, 0.3], [-0.7, 0.8], [0.1, 1.5]], t: [0.3, -0.6, 1.1, 0.4] };
const valid = { u: [[-1.1, 0.4], [0.6, 0.9], [1.4, -0.5], [-0.2, -1.3]], t: [0.9, -0.2, 0.5, -1.0] };
type Split = typeof train;
const ALPHA0 = [0.2, -0.1, 0.05];
const W0 = [0.4, -0.3, 0.8, 0.1]; // row-major 2 x 2
const V0 = [0.7, -0.5];

/** The loss in plain numbers, y flat as (W row-major, w). */
function lossHand(split: Split, alpha: Vec, y: Vec): number {
  const e = alpha.map(Math.exp);
  const total = e.reduce((s, v) => s + v, 0);
  const a = e.map((v) => v / total);
  let sum = 0;
  split.u.forEach((u, i) => {
    const wu = [y[0] * u[0] + y[1] * u[1], y[2] * u[0] + y[3] * u[1]];
    const h = wu.map((z, j) => a[0] * Math.tanh(z) + a[1] * u[j] + a[2] * z);
    sum += (y[4] * h[0] + y[5] * h[1] - split.t[i]) ** 2;
  });
  return sum / split.u.length;
}

/** The same loss with tensors, as the solver sees it. */
function lossTensor(split: Split, alpha: Tensor, W: Tensor, w: Tensor): Tensor {
  const e = alpha.exp();
  const a = e.div(e.sum());
  const pick = (j: number) => a.mul(vec([0, 1, 2].map((i) => (i === j ? 1 : 0)))).sum();
  const U = tensor(split.u.flat(), [split.u.length, 2], f64);
  const wu = U.matmul(W.transpose(0, 1));
  const h = wu.tanh().mul(pick(0)).add(U.mul(pick(1))).add(wu.mul(pick(2)));
  return h.matmul(w).sub(vec(split.t)).pow(2).mean();
}

function tinyNetwork(): Problem {
  return defineProblem({
    x: vec(ALPHA0),
    y: [tensor(W0, [2, 2], f64), vec(V0)],
    upper: ([alpha], [W, w]) => lossTensor(valid, alpha, W, w),
    lower: ([alpha], [W, w]) => lossTensor(train, alpha, W, w),
  });
}

// DARTS' search settings, with the clipping small enough to bind on this network.
const lr = 0.1; // xi
const momentum = 0.9;
const weightDecay = 0.03;
const gradientClip = 0.2;
const radius = 0.01;
const h = 1e-6;

const gradY = (split: Split, alpha: Vec, y: Vec): Vec => centralDifference((v) => lossHand(split, alpha, v), y, h);
const gradAlpha = (split: Split, alpha: Vec, y: Vec): Vec => centralDifference((a) => lossHand(split, a, y), alpha, h);

/** The reference code's architect step (_backward_step_unrolled): the gradient it leaves on alpha. */
function dartsArchitectureGradient(alpha: Vec, w: Vec, m: Vec): Vec {
  const virtual = sub(w, scale(add(add(scale(m, momentum), gradY(train, alpha, w)), scale(w, weightDecay)), lr));
  const v = gradY(valid, alpha, virtual);
  const eps = radius / norm2(v);
  const plus = gradAlpha(train, alpha, add(w, scale(v, eps)));
  const minus = gradAlpha(train, alpha, sub(w, scale(v, eps)));
  return sub(gradAlpha(valid, alpha, virtual), scale(sub(plus, minus), lr / (2 * eps)));
}

/** The weights' real step: clip_grad_norm_, then torch.optim.SGD with momentum and weight decay. */
function sgdStep(alpha: Vec, w: Vec, m: Vec): { w: Vec; m: Vec; gradientNorm: number } {
  const g = gradY(train, alpha, w);
  const gradientNorm = norm2(g);
  const clipped = scale(g, Math.min(1, gradientClip / (gradientNorm + 1e-6)));
  const next = add(add(scale(m, momentum), clipped), scale(w, weightDecay));
  return { w: sub(w, scale(next, lr)), m: next, gradientNorm };
}

describe('finiteDifference with heavyBall dynamics is DARTS second order', () => {
  const iterations = 3;
  // x by sgd with lr 1, so each UL iteration's hypergradient is x_t - x_{t+1}.
  const solved = tidy(() => {
    const solver = Solver.builder()
      .dynamics(heavyBall({ steps: 1, lr, momentum, weightDecay, gradientClip }))
      .hypergradient(finiteDifference({ radius })).upper(sgd({ lr: 1 })).lowerStart('warm').build();
    using run = solver.start(tinyNetwork());
    const alphas: Vec[] = [flat(run.values().x)];
    const weights: Vec[] = [];
    for (let t = 0; t < iterations; t++) {
      run.step();
      alphas.push(flat(run.values().x));
      weights.push(flat(run.values().y));
    }
    return { alphas, weights };
  });

  test('each UL iteration takes the reference code\'s architecture gradient at its weights and momentum buffer', () => {
    let w = [...W0, ...V0];
    let m = [0, 0, 0, 0, 0, 0]; // no buffer before the first step, as torch.optim.SGD
    for (let t = 0; t < iterations; t++) {
      const alpha = solved.alphas[t];
      const gradient = sub(alpha, solved.alphas[t + 1]);
      expectClose(gradient, dartsArchitectureGradient(alpha, w, m), 1e-7);
      ({ w, m } = sgdStep(alpha, w, m));
      expectClose(solved.weights[t], w, 1e-9);
    }
    expect(norm2(m)).toBeGreaterThan(0.1); // the buffer entered the later virtual steps
  });

  test('the clipping binds, and a virtual step taken as the clipped one would give another gradient', () => {
    const w = [...W0, ...V0];
    const m = [0, 0, 0, 0, 0, 0];
    const step = sgdStep(ALPHA0, w, m);
    expect(step.gradientNorm).toBeGreaterThan(gradientClip * 2);
    const v = gradY(valid, ALPHA0, step.w);
    const eps = radius / norm2(v);
    const plus = gradAlpha(train, ALPHA0, add(w, scale(v, eps)));
    const minus = gradAlpha(train, ALPHA0, sub(w, scale(v, eps)));
    const atClipped = sub(gradAlpha(valid, ALPHA0, step.w), scale(sub(plus, minus), lr / (2 * eps)));
    expect(maxRelativeError(sub(solved.alphas[0], solved.alphas[1]), atClipped)).toBeGreaterThan(1e-3);
  });
});
