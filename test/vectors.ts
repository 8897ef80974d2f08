// Plain-number vectors for hand-computed references, and tensors made from them.
import { tensor, type Tensor } from '../lib';

export const f64 = { dtype: 'float64' as const };
export const vec = (data: number[]): Tensor => tensor(data, undefined, f64);
export const numbers = (t: Tensor): number[] => Array.from(t.toArray() as Float64Array);
export const flat = (list: Tensor[]): number[] => list.flatMap(numbers);

export type Vec = number[];
export const add = (a: Vec, b: Vec): Vec => a.map((v, i) => v + b[i]);
export const sub = (a: Vec, b: Vec): Vec => a.map((v, i) => v - b[i]);
export const scale = (a: Vec, s: number): Vec => a.map((v) => v * s);
export const dotp = (a: Vec, b: Vec): number => a.reduce((s, v, i) => s + v * b[i], 0);
export const norm2 = (a: Vec): number => Math.sqrt(dotp(a, a));

/** Central differences of a scalar function of a plain vector. */
export function centralDifference(fn: (v: Vec) => number, at: Vec, h = 1e-5): Vec {
  return at.map((_, i) => {
    const plus = at.map((v, j) => (i === j ? v + h : v));
    const minus = at.map((v, j) => (i === j ? v - h : v));
    return (fn(plus) - fn(minus)) / (2 * h);
  });
}

/** max_i |a_i - b_i| / max(1, ||b||_inf): a relative error with an absolute floor. */
export function maxRelativeError(a: Vec, b: Vec): number {
  expect(a).toHaveLength(b.length);
  const scaleOf = Math.max(1, ...b.map(Math.abs));
  return Math.max(0, ...a.map((v, i) => Math.abs(v - b[i]))) / scaleOf;
}

export function expectClose(a: Vec, b: Vec, tolerance: number): void {
  const error = maxRelativeError(a, b);
  if (!(error <= tolerance)) {
    throw new Error(`relative error ${error} > ${tolerance}\n  got      ${JSON.stringify(a)}\n  expected ${JSON.stringify(b)}`);
  }
}
