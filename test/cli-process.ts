// The `bilevel` command as a child process (node --import tsx lib/cli.ts), for tests that watch a
// run from outside: once the run's metrics file has more than `afterLines` lines, `act` is called
// with the child's pid (to send it a signal, or one of its ranks).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.join(__dirname, '..');
const tsxLoader = pathToFileURL(require.resolve('tsx')).href;

export interface Outcome { code: number | null; signal: NodeJS.Signals | null; stderr: string }

export interface Watch {
  /** The run's output folder, whose metrics.jsonl is watched. */
  outDir: string;
  afterLines: number;
  act: (pid: number) => void;
}

export function cliProcess(args: string[], cwd: string, watch?: Watch): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', tsxLoader, path.join(root, 'lib', 'cli.ts'), ...args], { cwd });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    if (watch !== undefined) {
      const timer = setInterval(() => {
        const file = path.join(watch.outDir, 'metrics.jsonl');
        if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').split('\n').length > watch.afterLines) {
          clearInterval(timer);
          watch.act(child.pid!);
        }
      }, 5);
      child.on('exit', () => clearInterval(timer));
    }
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

export const resultOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
export const metricLinesOf = (dir: string) =>
  fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
