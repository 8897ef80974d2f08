// Joins, selection and neural-network ops over Tensors (the objectives of learning tasks need them).
import * as check from './arguments';
import { native } from './binding';
import { Tensor, tensorHandle as h, tensorHandles } from './tensor';

const optional = (t: Tensor | undefined, field: string) => (t === undefined ? null : h(t, field));
const dim = (value: number, op: string) => check.integer(value, `${op}.dim`);

export const cat = (tensors: Tensor[], dimension = 0): Tensor =>
  new Tensor(native.cat(tensorHandles(tensors, 'cat.tensors'), dim(dimension, 'cat')));
export const stack = (tensors: Tensor[], dimension = 0): Tensor =>
  new Tensor(native.stack(tensorHandles(tensors, 'stack.tensors'), dim(dimension, 'stack')));
/** Elementwise choice: a where condition is true, b elsewhere. */
export const where = (condition: Tensor, a: Tensor, b: Tensor): Tensor =>
  new Tensor(native.where([h(condition, 'where.condition'), h(a, 'where.a'), h(b, 'where.b')]));
/** Elements start, start + step, ... below end along dim (negative indices count from the end). */
export const slice = (t: Tensor, dimension: number, start: number, end = Number.MAX_SAFE_INTEGER, step = 1): Tensor =>
  new Tensor(native.slice(
    h(t, 'slice.t'), dim(dimension, 'slice'), check.integer(start, 'slice.start'), check.integer(end, 'slice.end'),
    check.integer(step, 'slice.step', 1),
  ));
export const indexSelect = (t: Tensor, dimension: number, index: Tensor): Tensor =>
  new Tensor(native.indexSelect(h(t, 'indexSelect.t'), dim(dimension, 'indexSelect'), h(index, 'indexSelect.index')));
export const gather = (t: Tensor, dimension: number, index: Tensor): Tensor =>
  new Tensor(native.gather(h(t, 'gather.t'), dim(dimension, 'gather'), h(index, 'gather.index')));
export const softmax = (t: Tensor, dimension = -1): Tensor =>
  new Tensor(native.softmax(h(t, 'softmax.t'), dim(dimension, 'softmax'), false));
export const logSoftmax = (t: Tensor, dimension = -1): Tensor =>
  new Tensor(native.softmax(h(t, 'logSoftmax.t'), dim(dimension, 'logSoftmax'), true));

const REDUCTIONS = ['none', 'mean', 'sum'] as const;
/** Cross-entropy of logits [N, C] against int64 class indices [N]. */
export const crossEntropy = (logits: Tensor, target: Tensor, reduction: 'none' | 'mean' | 'sum' = 'mean'): Tensor =>
  new Tensor(native.crossEntropy(
    h(logits, 'crossEntropy.logits'), h(target, 'crossEntropy.target'), check.oneOf(reduction, REDUCTIONS, 'crossEntropy.reduction'),
  ));
/** input @ weight^T + bias. */
export const linear = (input: Tensor, weight: Tensor, bias?: Tensor): Tensor =>
  new Tensor(native.linear(h(input, 'linear.input'), h(weight, 'linear.weight'), optional(bias, 'linear.bias')));

export interface Conv2dOptions {
  bias?: Tensor;
  stride?: number | [number, number];
  padding?: number | [number, number];
}
export function conv2d(input: Tensor, weight: Tensor, options?: Conv2dOptions): Tensor {
  const { bias, stride = 1, padding = 0 } = check.options(options, 'conv2d.options', ['bias', 'stride', 'padding']);
  return new Tensor(native.conv2d(
    h(input, 'conv2d.input'), h(weight, 'conv2d.weight'), optional(bias, 'conv2d.options.bias'),
    check.pair(stride, 'conv2d.options.stride', 1), check.pair(padding, 'conv2d.options.padding', 0),
  ));
}

function pool2d(kind: 'max' | 'avg', input: Tensor, kernel: number | [number, number], stride: number | [number, number]): Tensor {
  const op = `${kind}Pool2d`;
  return new Tensor(native.pool2d(kind, h(input, `${op}.input`), check.pair(kernel, `${op}.kernel`, 1), check.pair(stride, `${op}.stride`, 1)));
}
export const maxPool2d = (input: Tensor, kernel: number | [number, number], stride = kernel): Tensor =>
  pool2d('max', input, kernel, stride);
export const avgPool2d = (input: Tensor, kernel: number | [number, number], stride = kernel): Tensor =>
  pool2d('avg', input, kernel, stride);

/** Batch normalization with the batch's own statistics (functional, no running averages). */
export function batchNorm(input: Tensor, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  if (!(check.finite(eps, 'batchNorm.eps') >= 0)) check.fail('batchNorm.eps', 'a finite number >= 0', eps);
  return new Tensor(native.batchNorm(
    h(input, 'batchNorm.input'), optional(weight, 'batchNorm.weight'), optional(bias, 'batchNorm.bias'), eps,
  ));
}
