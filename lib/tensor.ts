import './symbols';
import type { BinaryOpName, InPlaceOpName, NativeData, NativeGenerator, NativeTensor, RandomKind, UnaryOpName } from '../binding';
import { native } from './binding';
import { BilevelError } from './errors';

export type Dtype = 'float32' | 'float64' | 'int64' | 'bool';
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
export type NestedArray = number | NestedArray[];

export interface CreateOptions {
  dtype?: Dtype;
  device?: Device;
  requiresGrad?: boolean;
}

// Tensors made inside tidy() scopes; the innermost scope is last.
const scopes: Set<Tensor>[] = [];

/** An n-dimensional array in native (LibTorch) memory. */
export class Tensor implements Disposable {
  #handle: NativeTensor;

  /** @internal */
  constructor(handle: NativeTensor) {
    this.#handle = handle;
    scopes.at(-1)?.add(this);
  }

  /** @internal the native handle, for other parts of the library. */
  get handle(): NativeTensor {
    return this.#handle;
  }

  get shape(): number[] {
    return this.#handle.shape();
  }
  get dtype(): Dtype {
    return this.#handle.dtype() as Dtype;
  }
  get device(): string {
    return this.#handle.device();
  }
  get requiresGrad(): boolean {
    return this.#handle.requiresGrad();
  }
  get disposed(): boolean {
    return this.#handle.isDisposed();
  }

  requiresGrad_(flag = true): this {
    this.#handle.setRequiresGrad(flag);
    return this;
  }
  item(): number {
    return Number(this.#handle.item());
  }
  /** A copy of the elements in row-major order. */
  toArray(): NativeData {
    return this.#handle.toArray();
  }
  toNested(): NestedArray {
    const flat = Array.from(this.toArray(), Number);
    const shape = this.shape;
    const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
    const build = (dim: number, offset: number): NestedArray =>
      dim === shape.length
        ? flat[offset]
        : Array.from({ length: shape[dim] }, (_, i) => build(dim + 1, offset + i * strides[dim]));
    return build(0, 0);
  }

  add(other: Tensor | number): Tensor { return this.#binary('add', other); }
  sub(other: Tensor | number): Tensor { return this.#binary('sub', other); }
  mul(other: Tensor | number): Tensor { return this.#binary('mul', other); }
  div(other: Tensor | number): Tensor { return this.#binary('div', other); }
  pow(exponent: Tensor | number): Tensor { return this.#binary('pow', exponent); }
  matmul(other: Tensor): Tensor { return this.#binary('matmul', other); }
  maximum(other: Tensor | number): Tensor { return this.#binary('maximum', other); }
  minimum(other: Tensor | number): Tensor { return this.#binary('minimum', other); }
  eq(other: Tensor | number): Tensor { return this.#binary('eq', other); }
  ne(other: Tensor | number): Tensor { return this.#binary('ne', other); }
  lt(other: Tensor | number): Tensor { return this.#binary('lt', other); }
  le(other: Tensor | number): Tensor { return this.#binary('le', other); }
  gt(other: Tensor | number): Tensor { return this.#binary('gt', other); }
  ge(other: Tensor | number): Tensor { return this.#binary('ge', other); }

  neg(): Tensor { return this.#unary('neg'); }
  exp(): Tensor { return this.#unary('exp'); }
  log(): Tensor { return this.#unary('log'); }
  sqrt(): Tensor { return this.#unary('sqrt'); }
  sin(): Tensor { return this.#unary('sin'); }
  cos(): Tensor { return this.#unary('cos'); }
  tanh(): Tensor { return this.#unary('tanh'); }
  sigmoid(): Tensor { return this.#unary('sigmoid'); }
  relu(): Tensor { return this.#unary('relu'); }
  abs(): Tensor { return this.#unary('abs'); }
  clone(): Tensor { return this.#unary('clone'); }

  reshape(shape: number[]): Tensor { return new Tensor(this.#handle.reshape('reshape', shape)); }
  view(shape: number[]): Tensor { return this.reshape(shape); }
  permute(dims: number[]): Tensor { return new Tensor(this.#handle.reshape('permute', dims)); }
  transpose(dim0: number, dim1: number): Tensor { return new Tensor(this.#handle.reshape('transpose', [dim0, dim1])); }
  squeeze(dim?: number): Tensor { return new Tensor(this.#handle.reshape('squeeze', dim === undefined ? [] : [dim])); }
  unsqueeze(dim: number): Tensor { return new Tensor(this.#handle.reshape('unsqueeze', [dim])); }

  clamp(min: number | null, max: number | null = null): Tensor {
    return new Tensor(this.#handle.clamp(min, max, false));
  }
  /** p-norm over all elements, or over dims. */
  norm(p = 2, dims?: number[], keepdim = false): Tensor {
    return new Tensor(this.#handle.norm(p, dims ?? null, keepdim));
  }
  /** A copy converted to a dtype and/or moved to a device. */
  to(target: Dtype | Device): Tensor {
    const isDtype = ['float32', 'float64', 'int64', 'bool'].includes(target);
    return new Tensor(this.#handle.to(isDtype ? (target as Dtype) : null, isDtype ? null : target));
  }

  add_(other: Tensor | number): this { return this.#inPlace('add_', other); }
  sub_(other: Tensor | number): this { return this.#inPlace('sub_', other); }
  mul_(other: Tensor | number): this { return this.#inPlace('mul_', other); }
  copy_(source: Tensor): this { return this.#inPlace('copy_', source); }
  clamp_(min: number | null, max: number | null = null): this {
    this.#handle.clamp(min, max, true);
    return this;
  }

  sum(dims?: number[], keepdim = false): Tensor {
    return new Tensor(this.#handle.reduce('sum', dims ?? null, keepdim));
  }
  mean(dims?: number[], keepdim = false): Tensor {
    return new Tensor(this.#handle.reduce('mean', dims ?? null, keepdim));
  }
  detach(): Tensor {
    return new Tensor(this.#handle.detach());
  }

  /** Frees the native memory now; any later use throws a DISPOSED BilevelError. */
  dispose(): void {
    this.#handle.dispose();
    this.#handle = native.disposedTensor;
    for (const scope of scopes) scope.delete(this);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  #binary(op: BinaryOpName, other: Tensor | number): Tensor {
    return new Tensor(this.#handle.binary(op, typeof other === 'number' ? other : handleOf(other)));
  }
  #inPlace(op: InPlaceOpName, other: Tensor | number): this {
    this.#handle.inplace(op, typeof other === 'number' ? other : handleOf(other));
    return this;
  }
  #unary(op: UnaryOpName): Tensor {
    return new Tensor(this.#handle.unary(op));
  }
}

/** @internal the native handle of a live Tensor argument. */
export function handleOf(value: unknown): NativeTensor {
  if (!(value instanceof Tensor)) throw new BilevelError('INVALID_ARGUMENT', 'expected a Tensor');
  return value.handle;
}

function shapeOfNested(data: NestedArray): number[] {
  const shape: number[] = [];
  for (let level: NestedArray = data; Array.isArray(level); level = level[0]) shape.push(level.length);
  return shape;
}

/** Creates a tensor from a TypedArray or nested number arrays; `shape` defaults to the nesting. */
export function tensor(data: NestedArray | NativeData, shape?: number[], options: CreateOptions = {}): Tensor {
  const dtype = options.dtype ?? (data instanceof Float32Array ? 'float32' : 'float64');
  let typed: NativeData;
  if (ArrayBuffer.isView(data)) {
    typed = data;
  } else {
    const flat = [data].flat(Infinity as 1) as number[];
    if (flat.some((v) => typeof v !== 'number')) {
      throw new BilevelError('INVALID_ARGUMENT', 'tensor: nested data must contain only numbers');
    }
    typed = toTyped(flat, dtype);
  }
  const finalShape = shape ?? (ArrayBuffer.isView(data) ? [typed.length] : shapeOfNested(data as NestedArray));
  const t = new Tensor(native.fromData(typed, finalShape, options.device ?? 'cpu'));
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}

function toTyped(flat: number[], dtype: Dtype): NativeData {
  switch (dtype) {
    case 'float32': return Float32Array.from(flat);
    case 'float64': return Float64Array.from(flat);
    case 'int64': return BigInt64Array.from(flat, (v) => BigInt(Math.trunc(v)));
    case 'bool': return Uint8Array.from(flat, (v) => (v ? 1 : 0));
    default: throw new BilevelError('DTYPE', `tensor: unknown dtype '${String(dtype)}'`);
  }
}

export function full(shape: number[], value: number, options: CreateOptions = {}): Tensor {
  const t = new Tensor(native.full(shape, value, options.dtype ?? 'float32', options.device ?? 'cpu'));
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}
export const zeros = (shape: number[], options?: CreateOptions): Tensor => full(shape, 0, options);
export const ones = (shape: number[], options?: CreateOptions): Tensor => full(shape, 1, options);

function finish(t: Tensor, options: CreateOptions): Tensor {
  return options.requiresGrad ? t.requiresGrad_(true) : t;
}
const dtypeOf = (options: CreateOptions, fallback: Dtype = 'float32'): Dtype => options.dtype ?? fallback;
const deviceOf = (options: CreateOptions): Device => options.device ?? 'cpu';

export function eye(n: number, options: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.eye(n, dtypeOf(options), deviceOf(options))), options);
}
/** Values start, start + step, ... below end (dtype float32 unless given). */
export function arange(start: number, end: number, step = 1, options: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.arange(start, end, step, dtypeOf(options), deviceOf(options))), options);
}
export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.linspace(start, end, steps, dtypeOf(options), deviceOf(options))), options);
}

/** A seeded random stream. Numbers are drawn on the CPU, so a seed gives the same values on every device. */
export class Generator {
  /** @internal */
  readonly handle: NativeGenerator;
  constructor(readonly seed: number) {
    this.handle = native.createGenerator(seed);
  }
}

export interface RandomOptions extends CreateOptions {
  /** Draw from this generator; without one, from the global stream set by manualSeed. */
  generator?: Generator;
}

function random(kind: RandomKind, shape: number[], options: RandomOptions, low?: number, high?: number): Tensor {
  const handle = native.random(kind, shape, options.generator?.handle ?? null, dtypeOf(options, kind === 'randint' ? 'int64' : 'float32'), deviceOf(options), low, high);
  return finish(new Tensor(handle), options);
}
/** Uniform on [0, 1). */
export const rand = (shape: number[], options: RandomOptions = {}): Tensor => random('rand', shape, options);
/** Standard normal. */
export const randn = (shape: number[], options: RandomOptions = {}): Tensor => random('randn', shape, options);
/** Integers uniform on [low, high). */
export const randint = (low: number, high: number, shape: number[], options: RandomOptions = {}): Tensor =>
  random('randint', shape, options, low, high);

export interface GradOptions {
  createGraph?: boolean;
  retainGraph?: boolean;
  allowUnused?: boolean;
}

/** d(sum of outputs)/d(inputs); pass createGraph for higher derivatives. Unused inputs give null. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const grads = native.grad(
    outs.map(handleOf),
    inputs.map(handleOf),
    options.createGraph ?? false,
    options.retainGraph,
    options.allowUnused ?? false,
  );
  return grads.map((g) => (g === null ? null : new Tensor(g)));
}

/** Runs fn with autograd recording off. */
export function noGrad<T>(fn: () => T): T {
  const previous = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) value.forEach((v) => collectTensors(v, into));
  else if (value !== null && typeof value === 'object') Object.values(value).forEach((v) => collectTensors(v, into));
}

/** Runs fn and disposes every tensor created inside it, except those it returns. */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    for (const t of scope) t.dispose();
    throw err;
  } finally {
    scopes.pop();
  }
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  for (const t of scope) if (!kept.has(t)) t.dispose();
  for (const t of kept) if (scope.has(t)) scopes.at(-1)?.add(t);
  return result;
}
