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
  // Bound: 32 MiB of RSS growth, well under the 3.2 GB these loops would hold if nothing were freed.
  const BOUND = 32 * MB;

  test('100k create/dispose cycles keep RSS flat', async () => {
    for (let i = 0; i < 2000; i++) ones([1024]).dispose(); // warm the allocator
    const before = await settle();
    for (let i = 0; i < 100_000; i++) {
      const t = tensor(new Float32Array(8192), [8192]); // 32 KiB each, 3.2 GB in all
      t.dispose();
    }
    const after = await settle();
    expect(after - before).toBeLessThan(BOUND);
  });

  test('20k tensors left to the GC are freed by finalizers', async () => {
    const before = await settle();
    for (let i = 0; i < 20_000; i++) {
      ones([40_000]); // 160 KB each, 3.2 GB in all: only external memory accounting keeps this bounded
      if (i % 500 === 0) await tick(); // finalizers run between turns of the event loop
    }
    const after = await settle();
    expect(after - before).toBeLessThan(BOUND * 4);
  });
});
