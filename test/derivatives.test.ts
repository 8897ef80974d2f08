// First and second derivatives of every differentiable op against central finite differences (float64).
import { Tensor, crossEntropy, grad, linear, logSoftmax, softmax, tensor } from '../lib';

const f64 = { dtype: 'float64' as const };
const x0 = [0.4, 1.3, 0.7, 1.9]; // positive and away from kinks, so log/sqrt/relu/abs are smooth here
const direction = [1, -0.5, 0.25, 2];
const h = 1e-5;

type Scalarized = (x: Tensor) => Tensor;
const w = tensor([[0.3, -1.2, 0.5, 0.8], [1.1, 0.2, -0.7, 0.4]], undefined, f64);
const cases: Record<string, Scalarized> = {
  exp: (x) => x.exp().sum(),
  log: (x) => x.log().sum(),
  sqrt: (x) => x.sqrt().sum(),
  sin: (x) => x.sin().sum(),
  cos: (x) => x.cos().sum(),
  tanh: (x) => x.tanh().sum(),
  sigmoid: (x) => x.sigmoid().sum(),
  relu: (x) => x.relu().pow(3).sum(),
  abs: (x) => x.abs().pow(3).sum(),
  pow: (x) => x.pow(x).sum(),
  'mul/div/sub/add': (x) => x.mul(x).div(x.add(2)).sub(x.mul(0.5)).sum(),
  matmul: (x) => x.reshape([2, 2]).matmul(x.reshape([2, 2])).pow(2).sum(),
  norm: (x) => x.norm().pow(3),
  mean: (x) => x.pow(3).mean([0]),
  'softmax/logSoftmax': (x) => softmax(x.reshape([2, 2]), 1).pow(2).sum().add(logSoftmax(x, 0).pow(2).sum()),
  crossEntropy: (x) => crossEntropy(linear(x.reshape([1, 4]).mul(x.reshape([1, 4])), w), tensor([1], undefined, { dtype: 'int64' })),
};

const value = (fn: Scalarized, x: number[]): number => fn(tensor(x, undefined, f64)).item();
const gradient = (fn: Scalarized, x: number[]): number[] => {
  const t = tensor(x, undefined, { ...f64, requiresGrad: true });
  return Array.from(grad(fn(t), [t])[0]!.toArray() as Float64Array);
};
const centralDifference = (g: (x: number[]) => number, x: number[]): number[] =>
  x.map((_, i) => {
    const plus = x.map((v, j) => (i === j ? v + h : v));
    const minus = x.map((v, j) => (i === j ? v - h : v));
    return (g(plus) - g(minus)) / (2 * h);
  });

describe.each(Object.entries(cases))('%s', (_, fn) => {
  test('first derivative', () => {
    const numeric = centralDifference((x) => value(fn, x), x0);
    gradient(fn, x0).forEach((g, i) => expect(Math.abs(g - numeric[i])).toBeLessThan(1e-7 * Math.max(1, Math.abs(g))));
  });
  test('second derivative (Hessian-vector product)', () => {
    const t = tensor(x0, undefined, { ...f64, requiresGrad: true });
    const [g] = grad(fn(t), [t], { createGraph: true });
    const [hv] = grad(g!.mul(tensor(direction, undefined, f64)).sum(), [t], { allowUnused: true });
    const analytic = hv ? Array.from(hv.toArray() as Float64Array) : x0.map(() => 0);
    const numeric = centralDifference((x) => gradient(fn, x).reduce((s, gi, i) => s + gi * direction[i], 0), x0);
    analytic.forEach((v, i) => expect(Math.abs(v - numeric[i])).toBeLessThan(1e-6 * Math.max(1, Math.abs(v))));
  });
});
