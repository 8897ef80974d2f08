import { expectCode } from './helpers';
import {
  avgPool2d, batchNorm, cat, conv2d, crossEntropy, gather, grad, indexSelect, linear,
  logSoftmax, maxPool2d, slice, softmax, stack, tensor, where,
} from '../lib';

const f64 = { dtype: 'float64' as const };
const i64 = { dtype: 'int64' as const };
const nested = (t: { toNested(): unknown }): unknown => t.toNested();


test('cat, stack, slice, indexSelect, gather, where', () => {
  const a = tensor([[1, 2], [3, 4]], undefined, f64);
  const b = tensor([[5, 6]], undefined, f64);
  expect(nested(cat([a, b], 0))).toEqual([[1, 2], [3, 4], [5, 6]]);
  expect(stack([a, a], 0).shape).toEqual([2, 2, 2]);
  expect(nested(slice(tensor([0, 1, 2, 3, 4, 5], undefined, f64), 0, 1, 6, 2))).toEqual([1, 3, 5]);
  expect(nested(indexSelect(a, 1, tensor([1], undefined, i64)))).toEqual([[2], [4]]);
  expect(nested(gather(a, 1, tensor([[1], [0]], undefined, i64)))).toEqual([[2], [3]]);
  expect(nested(where(a.gt(2), a, a.neg()))).toEqual([[-1, -2], [3, 4]]);
  expectCode(() => cat([a, tensor([1, 2, 3], undefined, f64)], 0), 'SHAPE_MISMATCH', /cat: float64\[2,2\], float64\[3\]/);
  expectCode(() => where(a, a, a), 'DTYPE', /condition must be bool/);
});

test('softmax and cross-entropy against hand values, with gradient', () => {
  const logits = tensor([[1, 2, 3], [1, 1, 1]], undefined, { ...f64, requiresGrad: true });
  const target = tensor([2, 0], undefined, i64);
  const lse0 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
  const expected = [lse0 - 3, Math.log(3)];
  const none = crossEntropy(logits, target, 'none').toArray() as Float64Array;
  expected.forEach((e, i) => expect(none[i]).toBeCloseTo(e, 12));
  expect(crossEntropy(logits, target).item()).toBeCloseTo((expected[0] + expected[1]) / 2, 12);
  expect((logSoftmax(logits).toNested() as number[][])[0][2]).toBeCloseTo(3 - lse0, 12);
  expect(softmax(logits).sum([1]).toNested()).toEqual([1, 1].map((v) => expect.closeTo(v, 12)));
  // d(sum CE)/d logits = softmax - onehot
  const [g] = grad(crossEntropy(logits, target, 'sum'), [logits]);
  const row0 = [1, 2, 3].map((v) => Math.exp(v - lse0));
  row0[2] -= 1;
  ((g!.toNested() as number[][])[0]).forEach((v, i) => expect(v).toBeCloseTo(row0[i], 12));
  expectCode(() => crossEntropy(logits, tensor([2, 0], undefined, f64)), 'DTYPE', /int64/);
});

test('linear, conv2d, pooling, batch norm', () => {
  const x = tensor([[1, 2]], undefined, f64);
  const w = tensor([[1, 0], [1, 1], [0, -1]], undefined, f64);
  expect(nested(linear(x, w, tensor([0, 0, 1], undefined, f64)))).toEqual([[1, 3, -1]]);
  const img = tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]], undefined, f64); // [1,1,3,3]
  const kernel = tensor([[[[1, 0], [0, 1]]]], undefined, f64); // [1,1,2,2]: x[i,j] + x[i+1,j+1]
  expect(nested(conv2d(img, kernel))).toEqual([[[[6, 8], [12, 14]]]]);
  expect(conv2d(img, kernel, { padding: 1 }).shape).toEqual([1, 1, 4, 4]);
  const img4 = tensor([[[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]]], undefined, f64);
  expect(nested(maxPool2d(img4, 2))).toEqual([[[[6, 8], [14, 16]]]]);
  expect(nested(avgPool2d(img4, 2))).toEqual([[[[3.5, 5.5], [11.5, 13.5]]]]);
  const bn = batchNorm(tensor([[1], [3]], undefined, f64), undefined, undefined, 0);
  expect(nested(bn)).toEqual([[-1], [1]]);
  expectCode(() => linear(x, tensor([[1, 2, 3]], undefined, f64)), 'SHAPE_MISMATCH', /linear/);
  expectCode(() => conv2d(x, kernel), 'SHAPE_MISMATCH', /conv2d/);
});
