import { ones, tensor } from '../lib';

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
});
