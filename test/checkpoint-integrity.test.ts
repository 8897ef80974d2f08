// Checkpoint integrity: every byte of a checkpoint is covered by its checksum; what a checkpoint
// says is verified against the running solver even when the checksum is right (a file edited
// and re-sealed); a checkpoint of a differently configured solver is refused; a write that fails
// (a full disk) is an error the caller can catch, with the previous checkpoint intact.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { BilevelError, Solver, adam, gd, momentum, problems, reverse, sgd, type SolverRun } from '../lib';
import { aitRunScript, expectRejects } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-integrity-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = (name: string) => path.join(tmp, name);

const problem = () => problems.toy.nonconvex({ n: 3 });
const ait = Solver.builder().dynamics(gd({ lr: 0.1, steps: 10 })).initAuxiliary({ optimizer: adam({ lr: 0.05 }) })
  .pessimisticTruncation().upper(adam({ lr: 0.02 })).build();
const values = (run: SolverRun) => {
  const v = run.values();
  return [...v.x, ...v.y, ...v.z].map((t) => Array.from(t.toArray() as Float64Array));
};

// The container: 8 bytes of magic, format (u32), CRC-32 of the payload (u32), payload length (u64).
const HEADER = 24;
/** The file with its payload's checksum recomputed: a corruption that the checksum cannot see. */
const resealed = (bytes: Buffer): Buffer => {
  const out = Buffer.from(bytes);
  out.writeUInt32LE(zlib.crc32(out.subarray(HEADER)), 12);
  return out;
};

/** Deterministic offsets spread over [from, to): a generated sample instead of hand-picked bytes. */
function offsets(from: number, to: number, count: number, seed: number): number[] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
  return Array.from({ length: count }, () => from + (next() % (to - from)));
}

describe('corrupted checkpoints are refused or restore exactly, and never crash', () => {
  let good: Buffer;
  let saved: number[][];
  beforeAll(async () => {
    using source = ait.start(problem());
    for (let i = 0; i < 3; i++) source.step();
    await source.save(file('good.ckpt'), 'meta');
    good = fs.readFileSync(file('good.ckpt'));
    saved = values(source);
  });

  test('a flipped byte anywhere fails the checksum (or the header check)', async () => {
    using target = ait.start(problem());
    target.step();
    const before = values(target);
    for (const at of offsets(0, good.length, 120, 1)) {
      const bytes = Buffer.from(good);
      bytes[at] ^= 0x10;
      fs.writeFileSync(file('flipped.ckpt'), bytes);
      await expectRejects(() => target.load(file('flipped.ckpt')), 'INVALID_ARGUMENT', /flipped\.ckpt: not a readable checkpoint/);
    }
    expect(values(target)).toEqual(before);
  });

  test('every truncation is refused', async () => {
    using target = ait.start(problem());
    for (const length of [0, 7, HEADER - 1, HEADER, ...offsets(HEADER + 1, good.length, 40, 2)]) {
      fs.writeFileSync(file('short.ckpt'), good.subarray(0, length));
      await expectRejects(() => target.load(file('short.ckpt')), 'INVALID_ARGUMENT', /short\.ckpt: not a readable checkpoint/);
    }
    fs.writeFileSync(file('long.ckpt'), Buffer.concat([good, Buffer.from([0])]));
    await expectRejects(() => target.load(file('long.ckpt')), 'INVALID_ARGUMENT', /truncated or extended/);
  });

  test('re-sealed edits of the payload: refused with the solver unchanged, or the exact saved state', async () => {
    // Each edit either breaks something a load verifies (the archive, a count, a shape, a range,
    // the configuration) or touches bytes nothing reads (zip metadata); steps after must work.
    using target = ait.start(problem());
    target.step();
    let refused = 0;
    for (const [i, at] of offsets(HEADER, good.length, 400, 3).entries()) {
      const before = values(target);
      const bytes = Buffer.from(good);
      bytes[at] ^= 1 << (i % 8);
      fs.writeFileSync(file('edited.ckpt'), resealed(bytes));
      try {
        await target.load(file('edited.ckpt'));
      } catch (err) {
        expect(err).toBeInstanceOf(BilevelError);
        expect(values(target)).toEqual(before);
        refused++;
        continue;
      }
      // Accepted: the edit touched bytes nothing reads (zip metadata) or a value of the state (a
      // mantissa bit of x). Stepping from it works or refuses with a coded error, never crashes.
      try {
        target.step();
      } catch (err) {
        expect(err).toBeInstanceOf(BilevelError);
      }
      await target.load(file('good.ckpt'));
      expect(values(target)).toEqual(saved);
    }
    expect(refused).toBeGreaterThan(0);
  });
});

describe('a checkpoint of a differently configured solver is refused', () => {
  const builders = {
    'adam upper': () => Solver.builder().dynamics(gd({ lr: 0.1, steps: 5 })).hypergradient(reverse()).upper(adam({ lr: 0.02 })),
    'sgd upper': () => Solver.builder().dynamics(gd({ lr: 0.1, steps: 5 })).hypergradient(reverse()).upper(sgd({ lr: 0.02 })),
    'momentum upper': () => Solver.builder().dynamics(gd({ lr: 0.1, steps: 5 })).hypergradient(reverse()).upper(momentum({ lr: 0.02 })),
    'another lr': () => Solver.builder().dynamics(gd({ lr: 0.1, steps: 5 })).hypergradient(reverse()).upper(adam({ lr: 0.03 })),
    'initAuxiliary': () => Solver.builder().dynamics(gd({ lr: 0.1, steps: 5 })).hypergradient(reverse())
      .initAuxiliary({ optimizer: sgd({ lr: 0.1 }) }).upper(adam({ lr: 0.02 })),
  };
  const names = Object.keys(builders) as (keyof typeof builders)[];
  const pairs = names.flatMap((from) => names.filter((to) => to !== from).map((to) => [from, to] as const));
  test.each(pairs)('%s -> %s', async (from, to) => {
    using source = builders[from]().build().start(problem());
    source.step();
    await source.save(file(`${from}.ckpt`));
    using target = builders[to]().build().start(problem());
    const before = values(target);
    await expectRejects(() => target.load(file(`${from}.ckpt`)), 'INVALID_ARGUMENT', /another configuration/);
    expect(values(target)).toEqual(before);
  });

  test('the same configuration built in another field order loads', async () => {
    using source = builders['adam upper']().build().start(problem());
    source.step();
    await source.save(file('order.ckpt'));
    const reordered = Solver.builder().upper(adam({ lr: 0.02 })).hypergradient(reverse()).dynamics(gd({ steps: 5, lr: 0.1 })).build();
    using target = reordered.start(problem());
    await target.load(file('order.ckpt'));
    expect(values(target)).toEqual(values(source));
  });
});

test('a write that fails (file size limit: a full disk for the writer) rejects with IO and keeps the previous checkpoint', async () => {
  const target = file('limited.ckpt');
  using run = ait.start(problem());
  await run.save(target, 'previous');
  // The child may write 1 KiB per file (RLIMIT_FSIZE); Node ignores SIGXFSZ, so write() fails with EFBIG.
  const script = `${aitRunScript(10)}
    run.step();
    run.save(${JSON.stringify(target)}, 'new').then(() => console.log(JSON.stringify({ saved: true })),
      (err) => console.log(JSON.stringify({ name: err.name, code: err.code, message: err.message })));
  `;
  const child = spawnSync('bash', ['-c', 'ulimit -f 1 && exec "$0" --import tsx -e "$1"', process.execPath, script], { encoding: 'utf8' });
  expect(child.status).toBe(0);
  const outcome = JSON.parse(child.stdout.trim().split('\n').at(-1)!);
  expect(outcome).toEqual({ name: 'BilevelError', code: 'IO', message: expect.stringMatching(/limited\.ckpt: cannot write the checkpoint \(File too large\)/) });
  expect(outcome.message).not.toMatch(/Exception raised from|frame #/);
  expect(fs.existsSync(`${target}.partial`)).toBe(false);
  using reader = ait.start(problem());
  expect(await reader.load(target)).toBe('previous');
});
