import * as path from 'node:path';
import { BilevelError } from '../lib';

/**
 * The first lines of a child process's script: `run`, a started AIT run (IA + PTT, Adam for x and
 * z, K = steps) on Eq. 20 with n = 3, the solver the checkpoint tests use.
 */
export const aitRunScript = (steps: number): string => `
  const { Solver, adam, gd, problems } = require(${JSON.stringify(path.join(__dirname, '..', 'lib'))});
  const run = Solver.builder().dynamics(gd({ lr: 0.1, steps: ${steps} })).initAuxiliary({ optimizer: adam({ lr: 0.05 }) })
    .pessimisticTruncation().upper(adam({ lr: 0.02 })).build().start(problems.toy.nonconvex({ n: 3 }));
`;

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

/** expectCode for an asynchronous call: fn's promise rejects with a BilevelError of this code. */
export async function expectRejects(fn: () => Promise<unknown>, code: string, messagePart?: RegExp): Promise<void> {
  const caught = await fn().then(() => undefined, (err: unknown) => err);
  expect(caught).toBeInstanceOf(BilevelError);
  expect((caught as BilevelError).code).toBe(code);
  if (messagePart) expect((caught as Error).message).toMatch(messagePart);
}
