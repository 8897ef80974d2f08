// npm run bench:tensor — per-call overhead of the binding against the same ops in C++.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { rand, setNumThreads } from '../lib';

function nanosPerCall(iterations: number, op: () => void): number {
  for (let i = 0; i < iterations / 10; i++) op();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) op();
  return Number(process.hrtime.bigint() - start) / iterations;
}

function cppTimes(): { add4: number; matmul512: number } {
  const root = path.join(__dirname, '..');
  execFileSync('cmake', ['--build', path.join(root, 'build'), '--target', 'tensor_bench'], { stdio: 'ignore' });
  const out = execFileSync(path.join(root, 'build', 'tensor_bench'), { encoding: 'utf8' });
  return JSON.parse(out) as { add4: number; matmul512: number };
}

function main(): void {
  setNumThreads(1);
  const a = rand([4]);
  const b = rand([4]);
  const m = rand([512, 512]);
  // Dispose each result at once, as a tight loop should; the finalizer path is covered by the tests.
  const js = {
    add4: nanosPerCall(200_000, () => a.add(b).dispose()),
    matmul512: nanosPerCall(200, () => m.matmul(m).dispose()),
  };
  const cpp = cppTimes();
  const rows = [
    ['add, 4 floats', js.add4, cpp.add4],
    ['matmul 512x512', js.matmul512, cpp.matmul512],
  ] as const;
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
