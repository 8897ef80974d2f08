import './symbols';
import type {
  BinaryOpName, InPlaceOpName, NativeData, NativeGenerator, NativeTensor, RandomKind, ReduceOpName, ShapeOpName, UnaryOpName,
} from '../binding';
import * as check from './arguments';
import { native } from './binding';
import { DTYPES, defaultDtypeOf, flattenNested, scalarFor, toNativeData, typedArrayKind, type Dtype } from './tensor-data';

export type { Dtype };
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
export type NestedArray = number | NestedArray[];
/** What tensor() reads: a number, rectangular nested arrays of numbers, or any TypedArray. */
export type TensorData =
  | NestedArray | Float32Array | Float64Array | BigInt64Array | BigUint64Array | Int8Array | Int16Array | Int32Array
  | Uint8Array | Uint8ClampedArray | Uint16Array | Uint32Array;

export interface CreateOptions {
  dtype?: Dtype;
  device?: Device;
  requiresGrad?: boolean;
}

const DEVICE_PATTERN = /^(cpu|cuda(:\d+)?)$/;
const isDtype = (value: unknown): value is Dtype => DTYPES.includes(value as Dtype);

function device(value: unknown, field: string): Device {
  if (typeof value !== 'string' || !DEVICE_PATTERN.test(value)) check.fail(field, "'cpu', 'cuda' or 'cuda:N'", value, 'DEVICE');
  return value as Device;
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
    this.#handle.setRequiresGrad(check.boolean(flag, 'requiresGrad_.flag'));
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
  matmul(other: Tensor): Tensor { return new Tensor(this.#handle.binary('matmul', tensorHandle(other, 'matmul.other'))); }
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

  /** The same elements in a new shape; one size may be -1 (inferred). */
  reshape(shape: number[]): Tensor { return this.#shapeOp('reshape', check.integers(shape, 'reshape.shape', -1)); }
  view(shape: number[]): Tensor { return this.#shapeOp('reshape', check.integers(shape, 'view.shape', -1)); }
  permute(dims: number[]): Tensor { return this.#shapeOp('permute', check.integers(dims, 'permute.dims')); }
  transpose(dim0: number, dim1: number): Tensor {
    return this.#shapeOp('transpose', [check.integer(dim0, 'transpose.dim0'), check.integer(dim1, 'transpose.dim1')]);
  }
  squeeze(dim?: number): Tensor { return this.#shapeOp('squeeze', dim === undefined ? [] : [check.integer(dim, 'squeeze.dim')]); }
  unsqueeze(dim: number): Tensor { return this.#shapeOp('unsqueeze', [check.integer(dim, 'unsqueeze.dim')]); }

  clamp(min: number | null, max: number | null = null): Tensor {
    const [lo, hi] = clampBounds(min, max, 'clamp');
    return new Tensor(this.#handle.clamp(lo, hi, false));
  }
  /** p-norm over all elements, or over dims. */
  norm(p = 2, dims?: number[], keepdim = false): Tensor {
    const order = check.number(p, 'norm.p');
    return new Tensor(this.#handle.norm(order, optionalDims(dims, 'norm.dims'), check.boolean(keepdim, 'norm.keepdim')));
  }
  /** A copy converted to a dtype ('float32', ...) or moved to a device ('cpu', 'cuda', 'cuda:N'). */
  to(target: Dtype | Device): Tensor {
    if (isDtype(target)) return new Tensor(this.#handle.to(target, null));
    if (typeof target === 'string' && DEVICE_PATTERN.test(target)) return new Tensor(this.#handle.to(null, target));
    return check.fail('to.target', `a dtype (${DTYPES.join(', ')}) or a device (cpu, cuda, cuda:N)`, target);
  }

  add_(other: Tensor | number): this { return this.#inPlace('add_', other); }
  sub_(other: Tensor | number): this { return this.#inPlace('sub_', other); }
  mul_(other: Tensor | number): this { return this.#inPlace('mul_', other); }
  copy_(source: Tensor): this {
    this.#handle.inplace('copy_', tensorHandle(source, 'copy_.source'));
    return this;
  }
  clamp_(min: number | null, max: number | null = null): this {
    const [lo, hi] = clampBounds(min, max, 'clamp_');
    this.#handle.clamp(lo, hi, true);
    return this;
  }

  sum(dims?: number[], keepdim = false): Tensor { return this.#reduce('sum', dims, keepdim); }
  mean(dims?: number[], keepdim = false): Tensor { return this.#reduce('mean', dims, keepdim); }
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

  #binary(op: BinaryOpName, other: unknown): Tensor {
    return new Tensor(this.#handle.binary(op, operand(other, op)));
  }
  #inPlace(op: InPlaceOpName, other: unknown): this {
    this.#handle.inplace(op, operand(other, op));
    return this;
  }
  #unary(op: UnaryOpName): Tensor {
    return new Tensor(this.#handle.unary(op));
  }
  #shapeOp(op: ShapeOpName, ints: number[]): Tensor {
    return new Tensor(this.#handle.reshape(op, ints));
  }
  #reduce(op: ReduceOpName, dims: number[] | undefined, keepdim: boolean): Tensor {
    return new Tensor(this.#handle.reduce(op, optionalDims(dims, `${op}.dims`), check.boolean(keepdim, `${op}.keepdim`)));
  }
}

/** The native handle of a Tensor argument; anything else is refused naming field. */
export function tensorHandle(value: unknown, field: string): NativeTensor {
  if (!(value instanceof Tensor)) check.fail(field, 'a Tensor', value);
  return value.handle;
}

/** The native handles of an array of Tensors ("field[i]" names a wrong element). */
export function tensorHandles(value: unknown, field: string): NativeTensor[] {
  return check.array(value, field).map((t, i) => tensorHandle(t, `${field}[${i}]`));
}

/** The native handles of one Tensor or an array of them. */
export function oneOrMoreHandles(value: unknown, field: string): NativeTensor[] {
  if (value instanceof Tensor) return [value.handle];
  if (!Array.isArray(value)) check.fail(field, 'a Tensor or an array of Tensors', value);
  return tensorHandles(value, field);
}

/** @internal the native handle of a Tensor argument whose field is not known. */
export function handleOf(value: unknown): NativeTensor {
  return tensorHandle(value, 'argument');
}

function operand(value: unknown, op: string): NativeTensor | number {
  if (typeof value === 'number') return value;
  if (value instanceof Tensor) return value.handle;
  return check.fail(`${op}.other`, 'a Tensor or a number', value);
}

function optionalDims(dims: unknown, field: string): number[] | null {
  return dims === undefined ? null : check.integers(dims, field);
}

function clampBounds(min: unknown, max: unknown, op: string): [number | null, number | null] {
  const bound = (value: unknown, field: string) => (value === null ? null : check.number(value, field));
  const lo = bound(min, `${op}.min`);
  const hi = bound(max, `${op}.max`);
  if (lo === null && hi === null) check.fail(`${op}.min`, 'a number when max is null', min);
  if (lo !== null && hi !== null && lo > hi) check.fail(`${op}.max`, `>= min (${lo})`, hi);
  return [lo, hi];
}

interface CheckedOptions {
  dtype: Dtype | undefined;
  device: Device;
  requiresGrad: boolean;
}

const CREATE_KEYS: readonly (keyof RandomOptions)[] = ['dtype', 'device', 'requiresGrad'];

function createOptions(value: RandomOptions | undefined, field: string, known = CREATE_KEYS): CheckedOptions {
  const options = check.options(value, field, known);
  return {
    dtype: options.dtype === undefined ? undefined : check.oneOf(options.dtype, DTYPES, `${field}.dtype`, 'DTYPE'),
    device: options.device === undefined ? 'cpu' : device(options.device, `${field}.device`),
    requiresGrad: options.requiresGrad === undefined ? false : check.boolean(options.requiresGrad, `${field}.requiresGrad`),
  };
}

function finish(handle: NativeTensor, options: CheckedOptions): Tensor {
  const t = new Tensor(handle);
  return options.requiresGrad ? t.requiresGrad_(true) : t;
}

const UINT8_AS_BOOL = ' (a Uint8Array is read as bool unless options.dtype names another dtype)';

/**
 * Creates a tensor from a number, nested arrays or any TypedArray; `shape` defaults to the nesting
 * (a TypedArray: its length). The dtype defaults to the data's own (nested arrays: float64); a
 * given dtype always wins, converting the values, and a value it cannot hold is refused.
 */
export function tensor(data: TensorData, shape?: number[], options?: CreateOptions): Tensor {
  const checked = createOptions(options, 'tensor.options');
  const kind = typedArrayKind(data);
  let values: ArrayLike<number | bigint>;
  let dataShape: number[];
  let dtype: Dtype;
  if (kind !== undefined) {
    values = data as ArrayLike<number | bigint>;
    dataShape = [values.length];
    dtype = checked.dtype ?? defaultDtypeOf(kind);
  } else if (typeof data === 'number' || Array.isArray(data)) {
    ({ values, shape: dataShape } = flattenNested(data, 'tensor.data'));
    dtype = checked.dtype ?? 'float64';
  } else {
    return check.fail('tensor.data', 'a number, nested arrays of numbers or a TypedArray', data);
  }
  const note = kind === 'Uint8Array' && checked.dtype === undefined ? UINT8_AS_BOOL : '';
  const typed = toNativeData(values, dtype, 'tensor.data', note);
  const finalShape = shape === undefined ? dataShape : check.shape(shape, 'tensor.shape');
  return finish(native.fromData(typed, finalShape, checked.device), checked);
}

function filled(op: string, shape: unknown, value: unknown, options: CreateOptions | undefined): Tensor {
  const checked = createOptions(options, `${op}.options`);
  const dtype = checked.dtype ?? 'float32';
  return finish(native.full(check.shape(shape, `${op}.shape`), scalarFor(value, dtype, `${op}.value`), dtype, checked.device), checked);
}
export const full = (shape: number[], value: number, options?: CreateOptions): Tensor => filled('full', shape, value, options);
export const zeros = (shape: number[], options?: CreateOptions): Tensor => filled('zeros', shape, 0, options);
export const ones = (shape: number[], options?: CreateOptions): Tensor => filled('ones', shape, 1, options);

export function eye(n: number, options?: CreateOptions): Tensor {
  const checked = createOptions(options, 'eye.options');
  return finish(native.eye(check.integer(n, 'eye.n', 0), checked.dtype ?? 'float32', checked.device), checked);
}

/** Values start, start + step, ... below end (dtype float32 unless given). */
export function arange(start: number, end: number, step = 1, options?: CreateOptions): Tensor {
  const checked = createOptions(options, 'arange.options');
  const from = check.finite(start, 'arange.start');
  const to = check.finite(end, 'arange.end');
  const by = check.finite(step, 'arange.step');
  if (by === 0 || (to - from) / by < 0) check.fail('arange.step', 'a non-zero number with the sign of end - start', step);
  if (Math.ceil((to - from) / by) > Number.MAX_SAFE_INTEGER) check.fail('arange.step', 'large enough for at most 2^53 - 1 values', step);
  return finish(native.arange(from, to, by, checked.dtype ?? 'float32', checked.device), checked);
}

export function linspace(start: number, end: number, steps: number, options?: CreateOptions): Tensor {
  const checked = createOptions(options, 'linspace.options');
  const from = check.finite(start, 'linspace.start');
  const to = check.finite(end, 'linspace.end');
  const count = check.integer(steps, 'linspace.steps', 0);
  return finish(native.linspace(from, to, count, checked.dtype ?? 'float32', checked.device), checked);
}

const seedOf = (value: unknown, field: string): number => check.integer(value, field, 0);

/** A seeded random stream. Numbers are drawn on the CPU, so a seed gives the same values on every device. */
export class Generator {
  /** @internal */
  readonly handle: NativeGenerator;
  /** seed: an integer from 0 to 2^53 - 1. */
  constructor(readonly seed: number) {
    this.handle = native.createGenerator(seedOf(seed, 'Generator.seed'));
  }
}

export interface RandomOptions extends CreateOptions {
  /** Draw from this generator; without one, from the global stream set by manualSeed. */
  generator?: Generator;
}

const RANDOM_KEYS: readonly (keyof RandomOptions)[] = [...CREATE_KEYS, 'generator'];

function random(kind: RandomKind, shape: unknown, options: RandomOptions | undefined, low?: number, high?: number): Tensor {
  const field = `${kind}.options`;
  const checked = createOptions(options, field, RANDOM_KEYS);
  const generator = options?.generator;
  if (generator !== undefined && !(generator instanceof Generator)) check.fail(`${field}.generator`, 'a Generator', generator);
  const dtype = checked.dtype ?? (kind === 'randint' ? 'int64' : 'float32');
  if (kind !== 'randint' && dtype !== 'float32' && dtype !== 'float64') check.fail(`${field}.dtype`, 'float32 or float64', dtype, 'DTYPE');
  const sizes = check.shape(shape, `${kind}.shape`);
  return finish(native.random(kind, sizes, generator?.handle ?? null, dtype, checked.device, low, high), checked);
}
/** Uniform on [0, 1). */
export const rand = (shape: number[], options?: RandomOptions): Tensor => random('rand', shape, options);
/** Standard normal. */
export const randn = (shape: number[], options?: RandomOptions): Tensor => random('randn', shape, options);
/** Integers uniform on [low, high). */
export function randint(low: number, high: number, shape: number[], options?: RandomOptions): Tensor {
  const from = check.integer(low, 'randint.low');
  const to = check.integer(high, 'randint.high');
  if (to <= from) check.fail('randint.high', `an integer > low (${from})`, high);
  return random('randint', shape, options, from, to);
}

export interface GradOptions {
  createGraph?: boolean;
  retainGraph?: boolean;
  allowUnused?: boolean;
}

const optionalBoolean = (value: unknown, field: string): boolean | undefined =>
  value === undefined ? undefined : check.boolean(value, field);

/** d(sum of outputs)/d(inputs); pass createGraph for higher derivatives. Unused inputs give null. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor[], options?: GradOptions): (Tensor | null)[] {
  const checked = check.options(options, 'grad.options', ['createGraph', 'retainGraph', 'allowUnused']);
  const grads = native.grad(
    oneOrMoreHandles(outputs, 'grad.outputs'),
    tensorHandles(inputs, 'grad.inputs'),
    optionalBoolean(checked.createGraph, 'grad.options.createGraph') ?? false,
    optionalBoolean(checked.retainGraph, 'grad.options.retainGraph'),
    optionalBoolean(checked.allowUnused, 'grad.options.allowUnused') ?? false,
  );
  return grads.map((g) => (g === null ? null : new Tensor(g)));
}

/** Runs fn with autograd recording off. */
export function noGrad<T>(fn: () => T): T {
  check.callable(fn, 'noGrad.fn');
  const previous = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Seeds the global random stream; seed: an integer from 0 to 2^53 - 1. */
export function manualSeed(seed: number): void {
  native.manualSeed(seedOf(seed, 'manualSeed.seed'));
}

/**
 * The Tensors reachable from value through arrays, Maps, Sets and own enumerable properties.
 * Iterative with a visited set, so cyclic and deeply nested values are fine.
 */
function reachableTensors(value: unknown): Set<Tensor> {
  const found = new Set<Tensor>();
  const seen = new Set<object>();
  const pending: object[] = [];
  const visit = (child: unknown) => {
    if (child !== null && typeof child === 'object') pending.push(child);
  };
  visit(value);
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (next instanceof Tensor) found.add(next);
    else if (seen.has(next) || ArrayBuffer.isView(next)) continue;
    else {
      seen.add(next);
      if (next instanceof Map) next.forEach((v, k) => { visit(k); visit(v); });
      else if (next instanceof Set) next.forEach(visit);
      else for (const child of Object.values(next)) visit(child);
    }
  }
  return found;
}

const isThenable = (value: unknown): boolean =>
  value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';

/**
 * Runs fn and disposes every tensor created inside it, except those it returns (reachable through
 * arrays, Maps, Sets and object properties). fn must be synchronous. Whatever happens, fn throwing
 * included, the scope is closed and its tensors disposed.
 */
export function tidy<T>(fn: () => T): T {
  check.callable(fn, 'tidy.fn');
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let kept = new Set<Tensor>();
  try {
    const result = fn();
    if (isThenable(result)) check.fail('tidy.fn', 'a synchronous function (its tensors would outlive the scope)', result);
    kept = reachableTensors(result);
    return result;
  } finally {
    scopes.pop();
    for (const t of scope) if (!kept.has(t)) t.dispose();
    for (const t of kept) if (scope.has(t)) scopes.at(-1)?.add(t);
  }
}
