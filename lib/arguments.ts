// Checks of the public API's arguments. Each refuses a wrong value with a BilevelError naming the
// field ("eye.n: must be an integer >= 0; got 2.7") instead of letting a TypeError escape or a
// number be truncated, wrapped or replaced by a default on its way to LibTorch.
import { BilevelError, type BilevelErrorCode } from './errors';

const SAFE = Number.MAX_SAFE_INTEGER;
/** LibTorch's reductions and TensorIterator ops handle at most 64 dimensions. */
export const MAX_DIMS = 64;

/** A short description of a value for "got ..." (never its whole content). */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) {
    const short = value.length <= 8 && value.every((v) => typeof v === 'number');
    return short ? `[${value.join(', ')}]` : `an array of length ${value.length}`;
  }
  if (value !== null && typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return String(value);
}

/** Throws "field: must be expected; got value" with the code (INVALID_ARGUMENT by default). */
export function fail(field: string, expected: string, value: unknown, code: BilevelErrorCode = 'INVALID_ARGUMENT'): never {
  throw new BilevelError(code, `${field}: must be ${expected}; got ${describe(value)}`);
}

/**
 * An integer >= min that a double holds exactly (magnitude at most 2^53 - 1). The one place where
 * a number becomes a size, a dim, a count or a seed.
 */
export function integer(value: unknown, field: string, min = -SAFE): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > SAFE) {
    const unsafe = typeof value === 'number' && Math.abs(value) > SAFE && Number.isFinite(value);
    const expected = unsafe ? 'an integer of magnitude at most 2^53 - 1' : min === -SAFE ? 'an integer' : `an integer >= ${min}`;
    fail(field, expected, value);
  }
  return value;
}

/** A number other than NaN (infinities allowed). */
export function number(value: unknown, field: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) fail(field, 'a number', value);
  return value;
}

export function finite(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(field, 'a finite number', value);
  return value;
}

export function boolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') fail(field, 'true or false', value);
  return value;
}

export function string(value: unknown, field: string): string {
  if (typeof value !== 'string') fail(field, 'a string', value);
  return value;
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string, code?: BilevelErrorCode): T {
  if (!allowed.includes(value as T)) fail(field, `one of ${allowed.join(', ')}`, value, code);
  return value as T;
}

export function callable<F extends (...args: never[]) => unknown>(value: F, field: string): F {
  if (typeof value !== 'function') fail(field, 'a function', value);
  return value;
}

/** An object (not null, not an array), e.g. a record argument that may carry more fields. */
export function object<T extends object>(value: T, field: string): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(field, 'an object', value);
  return value;
}

/**
 * An options object: undefined gives {}; null, arrays and primitives are refused, and so is a key
 * outside `known` (a misspelt option would otherwise be ignored without a word).
 */
export function options<T extends object>(value: T | undefined, field: string, known: readonly (keyof T & string)[]): T {
  if (value === undefined) return {} as T;
  object(value, field);
  for (const [key, v] of Object.entries(value)) {
    if (!known.includes(key as keyof T & string)) fail(`${field}.${key}`, `absent (known options: ${known.join(', ')})`, v);
  }
  return value;
}

export function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) fail(field, 'an array', value);
  return value;
}

/** An array of integers >= min, e.g. dims or a reshape target. */
export function integers(value: unknown, field: string, min = -SAFE): number[] {
  return array(value, field).map((v, i) => integer(v, `${field}[${i}]`, min));
}

/** A tensor shape: at most MAX_DIMS sizes >= 0 whose element count a double holds exactly. */
export function shape(value: unknown, field: string): number[] {
  const sizes = integers(value, field, 0);
  if (sizes.length > MAX_DIMS) fail(field, `a shape of at most ${MAX_DIMS} dimensions`, value);
  // Zero sizes count as 1: LibTorch still computes strides from the other sizes.
  if (sizes.reduce((product, size) => product * Math.max(size, 1), 1) > SAFE) {
    fail(field, 'a shape of at most 2^53 - 1 elements', value);
  }
  return sizes;
}

/** A number or a pair of integers >= min (kernel sizes, strides, padding). */
export function pair(value: unknown, field: string, min: number): [number, number] {
  if (typeof value === 'number') {
    const both = integer(value, field, min);
    return [both, both];
  }
  const both = integers(value, field, min);
  if (both.length !== 2) fail(field, `an integer >= ${min} or a pair of them`, value);
  return [both[0], both[1]];
}
