// Exiting while a native run is in flight: the process must end promptly (after the UL iteration
// in progress), not when the worker thread has finished every iteration it was asked for.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

const lib = JSON.stringify(path.join(__dirname, '..', 'lib'));
// Each way a program ends, started once the run has delivered its first record.
const exits: Record<string, string> = {
  'process.exit()': 'process.exit(0)',
  'an uncaught exception': 'setImmediate(() => { throw new Error("boom"); })',
  'an unhandled rejection': 'void Promise.reject(new Error("boom"))',
};

test.each(Object.entries(exits))('%s ends the process within seconds', async (_name, exit) => {
  // 100000 UL iterations of K = 200 steps on n = 2000: minutes of work if the exit waited for it.
  const script = `
    const { Solver, gd, reverse, sgd, problems } = require(${lib});
    const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 200 })).hypergradient(reverse()).upper(sgd({ lr: 0.01 })).build();
    const run = solver.start(problems.toy.nonconvex({ n: 2000 }));
    let first = true;
    void run.advance(100000, () => {
      if (!first) return;
      first = false;
      process.stdout.write('running\\n');
      ${exit};
    });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const started = Date.now();
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve(status);
    });
  });
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(code).not.toBeNull(); // not killed by the timer
}, 60_000);
