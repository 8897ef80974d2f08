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
