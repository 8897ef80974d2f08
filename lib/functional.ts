// Joins, selection and neural-network ops over Tensors (the objectives of ALGORITHMS.md need them).
import { native } from './binding';
import { Tensor, handleOf as h } from './tensor';

const optional = (t: Tensor | undefined | null) => (t ? h(t) : null);
const pair = (v: number | [number, number]): number[] => (typeof v === 'number' ? [v, v] : v);

export const cat = (tensors: Tensor[], dim = 0): Tensor => new Tensor(native.cat(tensors.map(h), dim));
export const stack = (tensors: Tensor[], dim = 0): Tensor => new Tensor(native.stack(tensors.map(h), dim));
/** Elementwise choice: a where condition is true, b elsewhere. */
export const where = (condition: Tensor, a: Tensor, b: Tensor): Tensor =>
  new Tensor(native.where([h(condition), h(a), h(b)]));
/** Elements start, start + step, ... below end along dim (negative indices count from the end). */
export const slice = (t: Tensor, dim: number, start: number, end = Number.MAX_SAFE_INTEGER, step = 1): Tensor =>
  new Tensor(native.slice(h(t), dim, start, end, step));
export const indexSelect = (t: Tensor, dim: number, index: Tensor): Tensor =>
  new Tensor(native.indexSelect(h(t), dim, h(index)));
export const gather = (t: Tensor, dim: number, index: Tensor): Tensor => new Tensor(native.gather(h(t), dim, h(index)));
export const softmax = (t: Tensor, dim = -1): Tensor => new Tensor(native.softmax(h(t), dim, false));
export const logSoftmax = (t: Tensor, dim = -1): Tensor => new Tensor(native.softmax(h(t), dim, true));
/** Cross-entropy of logits [N, C] against int64 class indices [N]. */
export const crossEntropy = (logits: Tensor, target: Tensor, reduction: 'none' | 'mean' | 'sum' = 'mean'): Tensor =>
  new Tensor(native.crossEntropy(h(logits), h(target), reduction));
/** input @ weight^T + bias. */
export const linear = (input: Tensor, weight: Tensor, bias?: Tensor): Tensor =>
  new Tensor(native.linear(h(input), h(weight), optional(bias)));

export interface Conv2dOptions {
  bias?: Tensor;
  stride?: number | [number, number];
  padding?: number | [number, number];
}
export const conv2d = (input: Tensor, weight: Tensor, options: Conv2dOptions = {}): Tensor =>
  new Tensor(native.conv2d(h(input), h(weight), optional(options.bias), pair(options.stride ?? 1), pair(options.padding ?? 0)));
export const maxPool2d = (input: Tensor, kernel: number | [number, number], stride = kernel): Tensor =>
  new Tensor(native.pool2d('max', h(input), pair(kernel), pair(stride)));
export const avgPool2d = (input: Tensor, kernel: number | [number, number], stride = kernel): Tensor =>
  new Tensor(native.pool2d('avg', h(input), pair(kernel), pair(stride)));
/** Batch normalization with the batch's own statistics (functional, no running averages). */
export const batchNorm = (input: Tensor, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor =>
  new Tensor(native.batchNorm(h(input), optional(weight), optional(bias), eps));
