// User data (a number, nested number arrays, any TypedArray) as the TypedArray of a tensor's dtype.
// The dtype asked for always wins; a value that dtype cannot hold is refused, never wrapped,
// truncated or turned into another value.
import type { NativeData } from '../binding';
import { MAX_DIMS, fail } from './arguments';

export type Dtype = 'float32' | 'float64' | 'int64' | 'bool';
export const DTYPES: readonly Dtype[] = ['float32', 'float64', 'int64', 'bool'];

type Element = number | bigint;

// The dtype each TypedArray kind gives without options.dtype: its own values, exactly.
// Uint8Array is bool because bool tensors read back as Uint8Array.
const defaultDtypes: Record<string, Dtype> = {
  Float32Array: 'float32', Float64Array: 'float64', Float16Array: 'float32',
  BigInt64Array: 'int64', BigUint64Array: 'int64', Int8Array: 'int64', Int16Array: 'int64', Int32Array: 'int64',
  Uint8ClampedArray: 'int64', Uint16Array: 'int64', Uint32Array: 'int64',
  Uint8Array: 'bool',
};

// The kinds the addon takes as they are for a dtype (it copies them).
const nativeKinds: Record<Dtype, string | null> = {
  float32: 'Float32Array', float64: 'Float64Array', int64: 'BigInt64Array',
  bool: null, // a Uint8Array's bytes must be checked to be 0 or 1 first, so bool is always converted
};

/** The TypedArray kind of data ("Float32Array", ...), or undefined for anything else (DataView included). */
export function typedArrayKind(data: unknown): string | undefined {
  if (!ArrayBuffer.isView(data)) return undefined;
  const kind = (data as unknown as { [Symbol.toStringTag]: unknown })[Symbol.toStringTag];
  return typeof kind === 'string' && kind in defaultDtypes ? kind : undefined;
}

export function defaultDtypeOf(kind: string): Dtype {
  return defaultDtypes[kind];
}

const INT64_LIMIT = 2 ** 63;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

interface Conversion {
  create(length: number): NativeData;
  /** The element as the dtype stores it, or undefined when the dtype cannot hold it. */
  convert(value: Element): Element | undefined;
  expected: string;
}

const conversions: Record<Dtype, Conversion> = {
  float64: {
    create: (n) => new Float64Array(n),
    convert: Number,
    expected: 'a number',
  },
  float32: {
    create: (n) => new Float32Array(n),
    convert: (v) => {
      const n = Number(v);
      return Number.isFinite(n) && !Number.isFinite(Math.fround(n)) ? undefined : n;
    },
    expected: 'within the float32 range (magnitude at most 3.4028234663852886e38) for dtype float32',
  },
  int64: {
    create: (n) => new BigInt64Array(n),
    convert: (v) => {
      if (typeof v === 'bigint') return v >= INT64_MIN && v <= INT64_MAX ? v : undefined;
      return Number.isInteger(v) && v >= -INT64_LIMIT && v < INT64_LIMIT ? BigInt(v) : undefined;
    },
    expected: 'an integer from -2^63 to 2^63 - 1 for dtype int64',
  },
  bool: {
    create: (n) => new Uint8Array(n),
    // eslint-disable-next-line eqeqeq -- 0n == 0 and 1n == 1: one test for numbers and bigints
    convert: (v) => (v == 0 ? 0 : v == 1 ? 1 : undefined),
    expected: '0 or 1 for dtype bool',
  },
};

/**
 * values as the TypedArray of dtype. A TypedArray the addon takes as it is comes back unchanged;
 * anything else is copied element by element, refusing "field[i]" when dtype cannot hold it.
 * `note` is appended to the refusal (e.g. how the dtype was chosen).
 */
export function toNativeData(values: ArrayLike<Element>, dtype: Dtype, field: string, note = ''): NativeData {
  if (typedArrayKind(values) === nativeKinds[dtype]) return values as NativeData;
  const { create, convert, expected } = conversions[dtype];
  const out = create(values.length);
  for (let i = 0; i < values.length; i++) {
    const converted = convert(values[i]);
    if (converted === undefined) fail(`${field}[${i}]`, expected + note, values[i]);
    out[i] = converted as never;
  }
  return out;
}

/** One value as dtype stores it (full()'s fill value), refused like an element of tensor data. */
export function scalarFor(value: unknown, dtype: Dtype, field: string): number {
  if (typeof value !== 'number') fail(field, 'a number', value);
  if (conversions[dtype].convert(value) === undefined) fail(field, conversions[dtype].expected, value);
  return value;
}

/** A number or rectangular nested arrays of numbers: the numbers in row-major order and the shape. */
export function flattenNested(data: unknown, field: string): { values: number[]; shape: number[] } {
  const shape: number[] = [];
  for (let level = data; Array.isArray(level); level = level[0]) {
    if (shape.length === MAX_DIMS) fail(field, `nested at most ${MAX_DIMS} levels deep`, data);
    shape.push(level.length);
  }
  const values: number[] = [];
  const indices: number[] = [];
  const at = (depth: number) => field + indices.slice(0, depth).map((i) => `[${i}]`).join('');
  // Recursion depth is bounded by MAX_DIMS, checked above.
  const walk = (node: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (typeof node !== 'number') fail(at(depth), 'a number', node);
      values.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      fail(at(depth), `an array of length ${shape[depth]} (nested data must be rectangular)`, node);
    }
    for (let i = 0; i < node.length; i++) {
      indices[depth] = i;
      walk(node[i], depth + 1);
    }
  };
  walk(data, 0);
  return { values, shape };
}
