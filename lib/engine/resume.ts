// Where a directory run starts: afresh, or, resumed, at its checkpoint's iteration with the
// metrics.jsonl lines before it. The checkpoint is the truth (it is fsynced; metrics lines are
// not, so the last ones can be lost with the machine): lines at or after its iteration are
// dropped, and lines missing before it are reported, not invented.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunConfig } from '../run-config';
import type { SolverRun } from '../solver';
import { restoreCheckpoint } from './checkpoint';
import { METRICS_FILE, readMetricsLines, type MetricsLine } from './metrics-log';

/**
 * What a run has done: its iterations (on resume, counted from the checkpoint's) and its
 * metrics.jsonl lines (fewer than its iterations when lines were lost before a resume).
 */
export interface RunHistory {
  iterations: number;
  records: MetricsLine[];
}

export const freshHistory = (): RunHistory => ({ iterations: 0, records: [] });

/** Restores run from outDir's checkpoint, if any; `warn` is told of metrics lines lost before it. */
export async function resumeHistory(
  run: SolverRun, config: RunConfig, outDir: string, warn: (message: string) => void,
): Promise<RunHistory> {
  const iteration = await restoreCheckpoint(run, outDir, config);
  if (iteration === undefined) return freshHistory();
  const metricsFile = path.join(outDir, METRICS_FILE);
  const records = fs.existsSync(metricsFile) ? readMetricsLines(metricsFile).filter((line) => line.iteration < iteration) : [];
  const missing = iteration - records.length;
  if (missing > 0) {
    warn(`${metricsFile}: ${missing} of the ${iteration} lines before the checkpoint's iteration ${iteration} ` +
      'are missing (not on disk when the run stopped); they are lost, and the run continues from the checkpoint');
  }
  return { iterations: iteration, records };
}
