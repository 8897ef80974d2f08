import {
  Solver, cachedMemory, defineProblem, full, gd, ones, problems, releaseCachedMemory, reverse, sgd, tensor,
} from '../lib';

const MB = 1024 * 1024;
const gc = (): void => (global as unknown as { gc: () => void }).gc();
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function settle(): Promise<number> {
  for (let i = 0; i < 5; i++) {
    gc();
    await tick();
  }
  return process.memoryUsage().rss;
}

describe('native memory', () => {
  // Bound: 64 MiB of RSS growth (jest's own allocations included), against the 3.2 GB
  // each loop would hold if nothing were freed.
  const BOUND = 64 * MB;

  test('100k create/dispose cycles keep RSS flat', async () => {
    const cycle = (): void => tensor(new Float32Array(8192), [8192]).dispose(); // 32 KiB each
    const block = async (): Promise<number> => {
      for (let i = 0; i < 20_000; i++) cycle();
      return settle();
    };
    const before = await block(); // reach the allocators' steady state first
    for (let b = 0; b < 5; b++) await block(); // 100k cycles, 3.2 GB in all
    const after = await settle();
    expect(after - before).toBeLessThan(BOUND);
  });

  test('20k tensors left to the GC are freed by finalizers', async () => {
    const before = await settle();
    for (let i = 0; i < 20_000; i++) {
      ones([40_000]); // 160 KB each, 3.2 GB in all: only external memory accounting keeps this bounded
      if (i % 500 === 0) await tick(); // finalizers run between turns of the event loop
    }
    // Measured before any forced GC: V8 collected on its own because it was told of the
    // native memory. Bound: 512 MiB, a sixth of what the loop allocated.
    const peak = process.memoryUsage().rss;
    expect(peak - before).toBeLessThan(512 * MB);
    expect((await settle()) - before).toBeLessThan(512 * MB);
  });

  test('the CPU block cache is bounded and can be released', () => {
    for (let i = 0; i < 300; i++) ones([256 * 1024]).dispose(); // 1 MiB each, same size: reused
    const distinct = Array.from({ length: 200 }, (_, i) => ones([256 * 1024 + 16 * i])); // 200 sizes, ~200 MiB
    distinct.forEach((t) => t.dispose());
    expect(cachedMemory()).toBeGreaterThan(64 * MB);
    expect(cachedMemory()).toBeLessThanOrEqual(128 * MB);
    releaseCachedMemory();
    expect(cachedMemory()).toBe(0);
  });

  describe('long solver runs keep RSS flat', () => {
    const f64 = { dtype: 'float64' } as const;
    const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 20 })).hypergradient(reverse()).upper(sgd({ lr: 1e-3 })).build();
    // Bound: 32 MiB, against ~2.6 GB of tensors the iterations allocate (each about 1.3 MB).
    const run = async (problem: ReturnType<typeof problems.toy.nonconvex>, iterations: number) => {
      await solver.run(problem, { iterations: 100 }); // warm-up: allocators and caches settle
      const before = await settle();
      await solver.run(problem, { iterations });
      return (await settle()) - before;
    };

    test('native built-in problem', async () => {
      expect(await run(problems.toy.nonconvex({ n: 4000 }), 2000)).toBeLessThan(32 * MB);
    });

    test('TypeScript objectives', async () => {
      const problem = defineProblem({
        x: full([1], -6, f64),
        y: full([4000], 0, f64),
        upper: ([x], [y]) => x.sub(2).pow(2).sum().add(y.sub(4).pow(2).sum()),
        lower: ([x], [y]) => x.add(y).sub(2).sin().sum(),
      });
      expect(await run(problem, 1000)).toBeLessThan(32 * MB);
    });
  });
});


describe('problems report their memory and can be disposed', () => {
  // Half of what the loop allocates: when V8 collects after being told of external bytes depends
  // on its incremental marking and the machine (1.06 GB seen once on CI); without the accounting
  // nothing would be collected and the loop would hold all 3.2 GB.
  const BOUND = 1600 * MB;
  test('bytes: the starting values by hand', () => {
    const n = 1_000_000;
    using problem = problems.toy.nonconvex({ n });
    expect(problem.bytes).toBe((1 + n) * 8); // x [1] and y [n], float64
    problem.dispose();
    expect(problem.bytes).toBe(0);
  });

  test('problems never disposed are collected: their bytes count towards the collections of V8', async () => {
    // Each problem holds a native copy of x: 8 MB; 400 of them would hold 3.2 GB.
    const x = full([1_000_000], 1, { dtype: 'float64' });
    const y = tensor([0], [1], { dtype: 'float64' });
    const make = () => defineProblem({ x, y, upper: ([a]) => a.sum(), lower: ([a], [b]) => b.sub(a.sum()).pow(2).sum() });
    const before = await settle();
    // As a program that awaits now and then: finalizers run between turns of the event loop.
    for (let i = 0; i < 400; i++) {
      make();
      if (i % 10 === 9) await tick();
    }
    // Measured before any forced GC: V8 collected on its own because it was told of the bytes.
    expect(process.memoryUsage().rss - before).toBeLessThan(BOUND);
    x.dispose();
    y.dispose();
  });

  test('a disposed problem refuses use; a run started from it goes on', () => {
    const problem = problems.toy.nonconvex({ n: 3 });
    const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 5 })).hypergradient(reverse()).upper(sgd({ lr: 0.01 })).build();
    using run = solver.start(problem);
    problem.dispose();
    problem.dispose(); // twice is fine
    for (const use of [() => problem.initial(), () => problem.data(), () => solver.start(problem)]) {
      expect(use).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    }
    expect(run.step().iteration).toBe(0);
    expect(run.step().iteration).toBe(1);
  });
});
