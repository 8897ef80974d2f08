// Native computation runs on one thread of the process (native/binding/compute_thread.h): task
// builds (createTask's worker), solver.run(), step() on a native problem, metrics, save and load.
// LibTorch's OpenMP then keeps a single team; a team per calling thread made DARTS's search step
// 2-3x slower (docs/benchmarks.md). Checked by where the CPU time goes: the compute thread is
// named, and the OpenMP threads it starts inherit its name (Linux).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Solver, adam, gd, reverse, setNumThreads, tasks, versions } from '../lib';

/** CPU seconds (user + system) of each thread of this process but the main one, with its name. */
function threadTimes(): Map<string, { name: string; seconds: number }> {
  const ticks = 100;  // USER_HZ on Linux
  const times = new Map<string, { name: string; seconds: number }>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    if (Number(tid) === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      times.set(tid, { name, seconds: (Number(fields[11]) + Number(fields[12])) / ticks });
    } catch {
      // the thread ended meanwhile
    }
  }
  return times;
}

const fashion = '/usr/share/datasets/fashion-mnist';
const runs = process.platform === 'linux' && os.cpus().length >= 2 && fs.existsSync(path.join(fashion, 'train-images-idx3-ubyte.gz'));

(runs ? test : test.skip)('every native computation runs on the compute thread and the OpenMP threads it started', async () => {
  const threadsBefore = versions().threads;
  setNumThreads(2);
  try {
    const before = threadTimes();
    const problem = await tasks.hyperCleaning({ model: 'mlp', trainSize: 3000, validationSize: 2000, testSize: 2000, seed: 0 });
    const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 10 })).hypergradient(reverse()).upper(adam({ lr: 0.01 })).build();
    await solver.run(problem, { iterations: 8 });
    using run = solver.start(problem);
    for (let i = 0; i < 8; i++) run.step();
    await problem.metrics(run.values());
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-compute-')), 'state.ckpt');
    await run.save(file, '{}');
    await run.load(file);
    problem.dispose();

    const grown = [...threadTimes()].map(([tid, { name, seconds }]) => ({ name, seconds: seconds - (before.get(tid)?.seconds ?? 0) }));
    const total = grown.reduce((sum, t) => sum + t.seconds, 0);
    const onCompute = grown.filter((t) => t.name === 'bilevel-compute');
    const computeSeconds = onCompute.reduce((sum, t) => sum + t.seconds, 0);
    // Enough work that 90% is not noise, on loaded cores too (3 iterations each gave 0.898 beside
    // other jobs): the compute thread and its one OpenMP helper did it; what is left is V8's own
    // threads (garbage collection, compilation), a cost that does not grow with the iterations.
    expect(total).toBeGreaterThan(1);
    expect(computeSeconds / total).toBeGreaterThan(0.9);
    expect(onCompute.filter((t) => t.seconds > 0.05).length).toBeLessThanOrEqual(2);
  } finally {
    setNumThreads(threadsBefore);
  }
}, 120_000);
