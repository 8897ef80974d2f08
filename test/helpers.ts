import { BilevelError } from '../lib';

/** Asserts that fn throws a BilevelError with this code (and a message matching messagePart). */
export function expectCode(fn: () => unknown, code: string, messagePart?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(BilevelError);
  expect((caught as BilevelError).code).toBe(code);
  if (messagePart) expect((caught as Error).message).toMatch(messagePart);
}

/** ||a - b|| / ||b|| over flat arrays. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let size = 0;
  for (let i = 0; i < b.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    size += b[i] ** 2;
  }
  return Math.sqrt(diff / size);
}
