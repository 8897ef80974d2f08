// The engine's iteration loop: the UL iterations of a SolverRun in chunks, pausing between two
// chunks where a cadence is due (task metrics, distance to the optimum, checkpoints). Native
// problems run each chunk on a worker thread; problems with TypeScript objectives step on the main
// thread, yielding to the event loop after each iteration. Solver.run, the directory runs of the
// CLI and the benchmarks all iterate here.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { IterationRecord, SolverRun } from '../solver';

/** Something done between two chunks: at every multiple of `every` UL iterations and, with atEnd, where the loop ends. */
export interface Cadence {
  /** Its period in UL iterations, counted from the run's start (a resumed run keeps its rhythm); undefined: none. */
  every: number | undefined;
  /** Also after the last chunk: all iterations done, or the signal stopped the run. */
  atEnd: boolean;
  /** Called with the UL iterations done; the loop waits for what it returns. */
  act(done: number): void | Promise<void>;
}

export interface LoopOptions {
  /** The UL iterations the run has done when the loop ends (unless the signal stops it). */
  iterations: number;
  /** Those it had done before the loop (a resumed run). @default 0 */
  done?: number;
  /** Stops the loop after the current iteration. */
  signal?: AbortSignal;
  /** Each iteration's record, on the main thread, as it comes. */
  onRecord?: (record: IterationRecord) => void;
  /** Acted on in this order between chunks. */
  cadences?: Cadence[];
}

const isMultiple = (done: number, every: number | undefined) => every !== undefined && done % every === 0;

/** Where the next chunk ends: the next multiple of a cadence's period, or the end. */
function nextStop(done: number, iterations: number, cadences: Cadence[]): number {
  let stop = iterations;
  for (const { every } of cadences) if (every !== undefined) stop = Math.min(stop, (Math.floor(done / every) + 1) * every);
  return stop;
}

/** Up to `iterations` UL iterations, off the main thread where the run allows it; resolves with those done. */
async function advance(run: SolverRun, iterations: number, onRecord: (record: IterationRecord) => void, signal?: AbortSignal): Promise<number> {
  if (run.offThread) return run.advance(iterations, onRecord, signal);
  let done = 0;
  for (; done < iterations && !signal?.aborted; done++) {
    onRecord(run.step());
    await yieldToEventLoop();
  }
  return done;
}

/** Runs the loop; resolves with the UL iterations done (fewer than `iterations` when the signal stopped it). */
export async function runLoop(run: SolverRun, options: LoopOptions): Promise<number> {
  const { iterations, signal, onRecord = () => undefined, cadences = [] } = options;
  let done = options.done ?? 0;
  // A run in a process group goes on to the next agreement of its ranks even when stopped here.
  while (done < iterations && (run.inProcessGroup || !signal?.aborted)) {
    const wanted = nextStop(done, iterations, cadences) - done;
    const advanced = await advance(run, wanted, onRecord, signal);
    done += advanced;
    // A signal that came during the chunk's last iteration ends the loop here too (a worker may
    // finish the chunk before it sees the stop); in a process group only the ranks' agreement
    // ends it (advanced < wanted), so that no rank leaves while another still asks.
    const atEnd = done === iterations || advanced < wanted || (!run.inProcessGroup && signal?.aborted === true);
    for (const cadence of cadences) if ((atEnd && cadence.atEnd) || isMultiple(done, cadence.every)) await cadence.act(done);
    if (atEnd) break;
  }
  return done;
}
