// The reference problems of docs/algorithms.md §8, built into the core, with their optima.
import type { NativeTaskName } from '../binding';
import { native } from './binding';
import { BilevelError } from './errors';
import { Problem, type Optimum } from './problem';
import { handleOf, type Device, type Tensor } from './tensor';

export interface ToyOptions {
  /** Dimension n (default: 20 for convex/singleton, 100 for bammConvex, 1 for nonconvex). */
  n?: number;
  /** Starting x_0 (default: the paper's). */
  x0?: Tensor[];
  /** Starting y_0 (default: the paper's). */
  y0?: Tensor[];
  /** Use the problem's closed-form LL gradients (default true); false: autograd, as for defineProblem. */
  closedForm?: boolean;
  dtype?: 'float32' | 'float64';
  device?: Device;
}

export interface NonconvexOptions extends ToyOptions {
  a?: number;
  /** Every c_i. */
  c?: number;
}

const filled = (n: number, value: number): number[] => new Array<number>(n).fill(value);

/** The largest n of a reference problem: ample for what they show, and bounded so that a typo
 * cannot allocate gigabytes (the optimum is built in JavaScript before any native check). */
export const MAX_TOY_DIMENSION = 1_000_000;

function checkDimension(n: number | undefined, fallback: number): number {
  const value = n ?? fallback;
  if (!Number.isInteger(value) || value < 1 || value > MAX_TOY_DIMENSION) {
    throw new BilevelError('INVALID_ARGUMENT', `n: must be an integer in [1, ${MAX_TOY_DIMENSION}]; got ${JSON.stringify(n)}`);
  }
  return value;
}

type ToyTaskName = Extract<NativeTaskName, `toy/${string}`>;

// Built on this thread: a reference problem holds no data to read.
function toy(name: ToyTaskName, options: NonconvexOptions, n: number, optimum: Optimum): Problem {
  const { dtype, device, x0, y0, ...numbers } = options;
  const handle = native.createTaskSync(name, { ...numbers, n, x0: x0?.map(handleOf), y0: y0?.map(handleOf) }, {
    dtype: dtype ?? 'float64',
    device: device ?? 'cpu',
  });
  return new Problem(handle, name, optimum);
}

/** Eq. 18: F = ||x - y2||^4 + ||y1 - e||^4, f = ||y1||^2 / 2 - x^T y1, X = [-10, 10]^n. */
function convex(options: ToyOptions = {}): Problem {
  const n = checkDimension(options.n, 20);
  return toy('toy/convex', options, n, { x: [filled(n, 1)], y: [filled(n, 1), filled(n, 1)], upper: 0 });
}

/** Eq. 19: F = -e^T x + ||x - y2||^4 + ||y1 - e||^4, f = ||y1 + y2 - x||^4, X = [-1, 1]^n. */
function singleton(options: ToyOptions = {}): Problem {
  const n = checkDimension(options.n, 20);
  return toy('toy/singleton', options, n, {
    x: [filled(n, 1)],
    y: [filled(n, 0.5), filled(n, 0.5)],
    upper: -n + 2 * (n / 4) ** 2,
  });
}

/** The optimum of Eq. 20 (docs/algorithms.md §8.3). */
export function nonconvexOptimum(n: number, a: number, c: number): Optimum {
  // C: the minimizer -pi/2 + 2 k pi of sin closest to 2a.
  const k = Math.round((2 * a + Math.PI / 2) / (2 * Math.PI));
  const C = -Math.PI / 2 + 2 * k * Math.PI;
  const x = ((1 - n) * a + n * C) / (1 + n);
  return { x: [[x]], y: [filled(n, C + c - x)], upper: (n * (C - 2 * a) ** 2) / (1 + n) };
}

/** Eq. 20: F = (x - a)^2 + ||y - a - c||^2, f = sum_i sin(x + y_i - c_i), y in [-10, 10]^n. */
function nonconvex(options: NonconvexOptions = {}): Problem {
  const n = checkDimension(options.n, 1);
  return toy('toy/nonconvex', options, n, nonconvexOptimum(n, options.a ?? 2, options.c ?? 2));
}

/** sl-BAMM's merely convex test: F = ||x - y2||^2 / 2 + ||y1 - e||^2 / 2, f = ||y1||^2 / 2 - x^T y1. */
function bammConvex(options: ToyOptions = {}): Problem {
  const n = checkDimension(options.n, 100);
  return toy('toy/bamm-convex', options, n, {
    x: [filled(n, 1)],
    y: [filled(n, 1), filled(n, 1)],
    upper: 0,
  });
}

/** Built-in problems, evaluated entirely in the native core. */
export const problems = { toy: { convex, singleton, nonconvex, bammConvex } };
