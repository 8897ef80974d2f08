// metrics.jsonl: one line per UL iteration (its record, with the task's metrics and the distance
// to the optimum where they were evaluated), appended as the run goes so it can be followed
// (tail -f), and read back by a resumed run and by compare.
import * as fs from 'node:fs';
import type { IterationRecord } from '../solver';
import type { TaskSolution } from '../tasks';
import type { TaskMetrics } from './evaluation';
import { writeFileDurably } from './output-folder';

export const METRICS_FILE = 'metrics.jsonl';

/** A metrics.jsonl line: the iteration's record, with the task's metrics (and its reading of x) when evaluated there. */
export type MetricsLine = IterationRecord & { metrics?: TaskMetrics; solution?: TaskSolution; distanceToOptimum?: number };

/** Each record is one complete line written by one call, so every line a reader sees parses; fsync at the end. */
export class MetricsLog {
  readonly #fd: number;

  /** Starts the file with `kept` (the lines a resumed run keeps), written atomically first. */
  constructor(file: string, kept: MetricsLine[] = []) {
    writeFileDurably(file, kept.map((line) => `${JSON.stringify(line)}\n`).join(''));
    this.#fd = fs.openSync(file, 'a');
  }

  append(record: MetricsLine): void {
    fs.writeSync(this.#fd, `${JSON.stringify(record)}\n`);
  }

  close(): void {
    fs.fsyncSync(this.#fd);
    fs.closeSync(this.#fd);
  }
}

/** The parseable lines of metrics.jsonl (a line cut short by a crash is not). */
export function readMetricsLines(file: string): MetricsLine[] {
  return fs.readFileSync(file, 'utf8').split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as MetricsLine];
    } catch {
      return [];
    }
  });
}
