// Numbers and run outcomes as the command line prints them.
import type { FinishedResultFile } from '../engine/result';

/** Six significant digits, without trailing zeros; NaN and infinities as words. */
export const formatNumber = (value: number) => (Number.isFinite(value) ? String(Number(value.toPrecision(6))) : String(value));

/** "completed 100 iterations in 1.23 s: F = ...; outputs in DIR" (stdout, one line per run). */
export function summaryLine(result: FinishedResultFile, outDir: string): string {
  const what = result.status === 'completed' ? 'completed' : 'interrupted after';
  const distance = result.distanceToOptimum === null ? '' : `, ||x - x*|| / ||x*|| = ${formatNumber(result.distanceToOptimum)}`;
  const upper = result.upper === null ? '' : `: F = ${formatNumber(result.upper)}`;
  return `${what} ${result.iterations} iterations in ${result.wallTimeSeconds.toFixed(2)} s${upper}${distance}; outputs in ${outDir}`;
}
