// The committed results of long benchmarks (bench/results/*.jsonl): one JSON line per finished
// run with where and when it ran, so that a benchmark interrupted or run over several sessions
// never redoes a recorded run and its table can be rebuilt from the file alone.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Where and when a run was recorded. */
export interface Provenance { commit: string; cpu: string; date: string }

export const resultsFile = (name: string) => path.join(__dirname, 'results', name);

export function readResults<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as T);
}

/** Appends entry with this checkout's commit, this machine's CPU and today's date. */
export function appendResult<T extends object>(file: string, entry: T): T & Provenance {
  const recorded = {
    ...entry,
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: __dirname, encoding: 'utf8' }).trim(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    date: new Date().toISOString().slice(0, 10),
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, `${JSON.stringify(recorded)}\n`);
  return recorded;
}

/** The CPUs the records ran on, for a doc's header. */
export const machinesOf = (records: Provenance[]) => [...new Set(records.map((r) => r.cpu))].join('; ');
