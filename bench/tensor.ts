// npm run bench:tensor — per-call overhead of the binding against the same ops in C++.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { rand, setNumThreads } from '../lib';

const root = path.join(__dirname, '..');

function nanosPerCall(iterations: number, op: () => void): number {
  for (let i = 0; i < iterations / 10; i++) op();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) op();
  return Number(process.hrtime.bigint() - start) / iterations;
}

function cppTimes(): { add4: number; matmul512: number } {
  const out = execFileSync(path.join(root, 'build', 'tensor_bench'), { encoding: 'utf8' });
  return JSON.parse(out) as { add4: number; matmul512: number };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// Rounds alternate between the binding and C++, and the table shows medians, so the two sides
// see the same machine conditions (this 2-core VM drifts by 10-30% between runs).
function main(): void {
  setNumThreads(1);
  execFileSync('cmake', ['--build', path.join(root, 'build'), '--target', 'tensor_bench'], { stdio: 'ignore' });
  const a = rand([4]);
  const b = rand([4]);
  const m = rand([512, 512]);
  const rounds = 7;
  const js = { add4: [] as number[], matmul512: [] as number[] };
  const cpp = { add4: [] as number[], matmul512: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    // Dispose each result at once, as a tight loop should; the finalizer path is covered by the tests.
    js.add4.push(nanosPerCall(200_000, () => a.add(b).dispose()));
    js.matmul512.push(nanosPerCall(200, () => m.matmul(m).dispose()));
    const c = cppTimes();
    cpp.add4.push(c.add4);
    cpp.matmul512.push(c.matmul512);
  }
  const rows = [
    ['add, 4 floats', median(js.add4), median(cpp.add4)],
    ['matmul 512x512', median(js.matmul512), median(cpp.matmul512)],
  ] as const;
  console.log(`medians of ${rounds} alternating rounds`);
  console.log('op               | binding (us) | C++ (us) | overhead (us) | overhead (%)');
  console.log('-----------------|--------------|----------|---------------|-------------');
  for (const [name, t, c] of rows) {
    console.log(
      `${name.padEnd(16)} | ${(t / 1e3).toFixed(3).padStart(12)} | ${(c / 1e3).toFixed(3).padStart(8)} | ` +
        `${((t - c) / 1e3).toFixed(3).padStart(13)} | ${((100 * (t - c)) / c).toFixed(1).padStart(11)}`,
    );
  }
  [a, b, m].forEach((t) => t.dispose());
}

main();
