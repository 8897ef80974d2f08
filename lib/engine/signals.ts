// Stop signals of a process running configs (Ctrl-C, kill, a closed terminal or SSH session): the
// first aborts the run between two UL iterations, so that its outputs stay complete and valid; a
// second one exits at once. Either way the exit code is 128 + the signal's number.
import * as os from 'node:os';

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const exitCodeOf = (signal: NodeJS.Signals) => 128 + os.constants.signals[signal];

/** Listens for the stop signals from construction until release (or the end of a `using` block). */
export class StopSignals implements Disposable {
  readonly #controller = new AbortController();
  readonly #handler = (signal: NodeJS.Signals) => {
    if (this.#controller.signal.aborted) process.exit(exitCodeOf(signal));
    this.#controller.abort(signal);
  };

  constructor() {
    STOP_SIGNALS.forEach((signal) => process.on(signal, this.#handler));
  }

  /** Aborted by the first stop signal, with the signal's name as its reason. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** 128 + the number of the stop signal that came; 0 when none did. */
  exitCode(): number {
    const reason = this.#controller.signal.reason as NodeJS.Signals | undefined;
    return reason === undefined ? 0 : exitCodeOf(reason);
  }

  /** Removes the handlers: a later signal has its default effect again. */
  release(): void {
    STOP_SIGNALS.forEach((signal) => process.off(signal, this.#handler));
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
