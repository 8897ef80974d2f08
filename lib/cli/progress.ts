// A run's progress on stderr (stdout is for results): a live bar on a terminal, plain lines in a
// log file or CI, nothing with --quiet.
import { performance } from 'node:perf_hooks';
import { Presets, SingleBar } from 'cli-progress';
import { silentProgress, type RunProgress } from '../engine/run-folder';
import { formatNumber } from './format';
import type { Terminal } from './terminal';

/** Rate and remaining time from the iterations done so far. */
function pace(done: number, total: number, startedMs: number): { rate: number; etaSeconds: number } {
  const seconds = (performance.now() - startedMs) / 1000;
  const rate = seconds > 0 ? done / seconds : 0;
  return { rate, etaSeconds: rate > 0 ? (total - done) / rate : 0 };
}

/** A live bar (cli-progress) on a terminal; `label` starts it ("rhg: " in a comparison). */
function terminalProgress(total: number, stream: NodeJS.WritableStream, label: string): RunProgress {
  const bar = new SingleBar(
    {
      format: `${label}{bar} {value}/{total} | F {upper} | Kbar {kBar} | {rate} it/s | ETA {eta_formatted}`,
      stream,
      hideCursor: true,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  const started = performance.now();
  bar.start(total, 0, { upper: '-', kBar: '-', rate: '-' });
  return {
    update(done, record) {
      const { rate } = pace(done, total, started);
      bar.update(done, { upper: formatNumber(record.upper), kBar: record.steps, rate: rate.toFixed(1) });
    },
    stop: () => bar.stop(),
  };
}

/** Without a terminal: one plain line every 10% of the run, starting with `label`. */
function lineProgress(total: number, term: Terminal, label: string): RunProgress {
  const every = Math.max(1, Math.ceil(total / 10));
  const started = performance.now();
  return {
    update(done, record) {
      if (done % every !== 0 && done !== total) return;
      const { rate, etaSeconds } = pace(done, total, started);
      term.stderr.write(
        `${label}iteration ${done}/${total} (${Math.round((100 * done) / total)}%)  F ${formatNumber(record.upper)}  ` +
          `Kbar ${record.steps}  ${rate.toFixed(1)} it/s  ETA ${etaSeconds.toFixed(1)} s\n`,
      );
    },
    stop: () => undefined,
  };
}

export function createProgress(term: Terminal, quiet: boolean, total: number, label = ''): RunProgress {
  if (quiet) return silentProgress;
  // Only a real terminal stream reports isTTY.
  return term.stderr.isTTY ? terminalProgress(total, term.stderr as NodeJS.WritableStream, label) : lineProgress(total, term, label);
}
