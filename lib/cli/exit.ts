// The command line's exit codes: 0 success, 1 run failure, 2 invalid config or arguments (a
// UsageError), 128 + signal number when a stop signal ended a run (lib/engine/signals.ts).
import { BilevelError } from '../errors';

export const EXIT = { success: 0, failure: 1, invalid: 2 } as const;

/** A refusal before any work: bad arguments or an invalid config (exit code 2). */
export class UsageError extends Error {}

/** Runs fn with the library's INVALID_ARGUMENT refusals turned into UsageErrors (exit code 2). */
export function asUsageErrors<T>(fn: () => T): T {
  const asUsage = (err: unknown) => (err instanceof BilevelError && err.code === 'INVALID_ARGUMENT' ? new UsageError(err.message) : err);
  try {
    const value = fn();
    // An asynchronous step (a task that reads its dataset) is refused through its promise.
    return (value instanceof Promise ? value.catch((err: unknown) => { throw asUsage(err); }) : value) as T;
  } catch (err) {
    throw asUsage(err);
  }
}
