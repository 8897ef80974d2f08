import { expectCode } from './helpers';
import {
  Generator, Tensor, arange, eye, grad, linspace, manualSeed, noGrad, ones, rand, randint, randn, tensor, tidy, zeros, type Dtype,
} from '../lib';
import { native } from '../lib/binding';

const f64 = { dtype: 'float64' as const };

function expectClose(actual: ArrayLike<number>, expected: number[], tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(Number(actual[i]) - e)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e))));
}


describe('creation and reading', () => {
  test('nested arrays keep shape, dtype and values', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]], undefined, f64);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float64');
    expect(t.device).toBe('cpu');
    expect(t.toNested()).toEqual([[1, 2, 3], [4, 5, 6]]);
  });
  test('typed arrays with an explicit shape', () => {
    const t = tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
    expect(t.dtype).toBe('float32');
    expect(t.toNested()).toEqual([[1, 2], [3, 4]]);
  });
  test('int64 and bool round-trip', () => {
    expect(Array.from(tensor([1, -2, 3], undefined, { dtype: 'int64' }).toArray() as BigInt64Array)).toEqual([1n, -2n, 3n]);
    expect(Array.from(tensor([1, 0, 1], undefined, { dtype: 'bool' }).toArray() as Uint8Array)).toEqual([1, 0, 1]);
  });
  test('zeros and ones', () => {
    expectClose(zeros([2, 2]).toArray() as Float32Array, [0, 0, 0, 0]);
    expect(ones([3], f64).sum().item()).toBe(3);
  });
});

/** The elements as numbers, whatever the dtype. */
const read = (t: Tensor): number[] => Array.from(t.toArray() as ArrayLike<number | bigint>, Number);

describe('the dtype option always wins, converting the values', () => {
  const numberKinds = [Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Uint8Array, Uint8ClampedArray, Uint16Array, Uint32Array];
  const bigintKinds = [BigInt64Array, BigUint64Array];
  const dtypes: Dtype[] = ['float32', 'float64', 'int64', 'bool'];
  // Values every dtype but bool holds exactly, and 0/1 for bool.
  const valuesFor = (kind: { name: string }, dtype: Dtype): number[] =>
    dtype === 'bool' ? [0, 1, 1, 0] : kind.name.startsWith('Int') || kind.name.startsWith('Float') ? [0, 1, -3, 100] : [0, 1, 3, 200];

  test.each(numberKinds.flatMap((kind) => dtypes.map((dtype) => [kind.name, dtype, kind] as const)))('%s as %s', (_, dtype, kind) => {
    const values = valuesFor(kind, dtype);
    const t = tensor(new kind(values), [2, 2], { dtype });
    expect(t.dtype).toBe(dtype);
    expect(read(t)).toEqual(values);
  });
  test.each(bigintKinds.flatMap((kind) => dtypes.map((dtype) => [kind.name, dtype, kind] as const)))('%s as %s', (_, dtype, kind) => {
    const values = valuesFor(kind, dtype).map((v) => Math.abs(v));
    const t = tensor(new kind(values.map(BigInt)), undefined, { dtype });
    expect(t.dtype).toBe(dtype);
    expect(read(t)).toEqual(values);
  });
  test('pixel bytes keep their values as float32', () => {
    expect(read(tensor(new Uint8Array([0, 128, 255]), [3], { dtype: 'float32' }))).toEqual([0, 128, 255]);
  });
  test('float32 data widened to float64 keeps its float32 values exactly', () => {
    const t = tensor(new Float32Array([0.1, 1.5]), undefined, { dtype: 'float64' });
    expect(t.dtype).toBe('float64');
    expect(read(t)).toEqual([Math.fround(0.1), 1.5]);
  });
  test('without a dtype every kind keeps its values: floats as themselves, integers as int64, Uint8Array as bool', () => {
    expect(tensor(new Int32Array([-7, 2 ** 31 - 1])).dtype).toBe('int64');
    expect(read(tensor(new Int32Array([-7, 2 ** 31 - 1])))).toEqual([-7, 2 ** 31 - 1]);
    expect(read(tensor(new Uint32Array([2 ** 32 - 1])))).toEqual([2 ** 32 - 1]);
    expect(tensor(new Uint8Array([1, 0])).dtype).toBe('bool');
    expect(read(tensor(new Float64Array([0.1])))).toEqual([0.1]);
  });
  test('nested arrays convert to any dtype; int64 keeps integers beyond 2^53 exactly', () => {
    expect(Array.from(tensor([[2 ** 60, -(2 ** 63)]], undefined, { dtype: 'int64' }).toArray() as BigInt64Array)).toEqual([2n ** 60n, -(2n ** 63n)]);
    expect(read(tensor([1.5], undefined, { dtype: 'float32' }))).toEqual([1.5]);
    expect(tensor(3).shape).toEqual([]);
  });
  test('typed arrays over a SharedArrayBuffer, and views at an offset', () => {
    const shared = new Float64Array(new SharedArrayBuffer(32));
    shared.set([1, 2, 3, 4]);
    expect(read(tensor(shared, [2, 2]))).toEqual([1, 2, 3, 4]);
    expect(read(tensor(new Float64Array(shared.buffer, 16, 2)))).toEqual([3, 4]);
    const bytes = new Uint8Array(new SharedArrayBuffer(2));
    bytes.set([7, 250]);
    expect(read(tensor(bytes, undefined, { dtype: 'float64' }))).toEqual([7, 250]);
  });
});

describe('number operands follow type promotion, never the tensor\'s dtype', () => {
  const ints = (): Tensor => tensor([1, 2], undefined, { dtype: 'int64' });
  test('an integral number is an integer scalar, others floating scalars', () => {
    expect(read(ints().maximum(1.5))).toEqual([1.5, 2]);
    expect(read(ints().minimum(1.5))).toEqual([1, 1.5]);
    expect(ints().mul(1.5).dtype).toBe('float32');
    expect(tensor([1]).div(-0).item()).toBe(-Infinity);
    expect(read(ints().clamp(0, 1))).toEqual([1, 1]);
    expect(ints().clamp(0, 1).dtype).toBe('int64');
    const big = tensor([2 ** 30 + 1], undefined, { dtype: 'int64' }).add(1);
    expect(big.dtype).toBe('int64');
    expect(read(big)).toEqual([2 ** 30 + 2]);
  });
  test('in place, a result the dtype cannot hold is refused, not truncated', () => {
    const t = ints();
    expectCode(() => t.add_(0.5), 'DTYPE', /int64\[2\] cannot hold/);
    expect(read(t)).toEqual([1, 2]);
    expect(read(t.add_(3))).toEqual([4, 5]);
    expect(read(ones([2], { dtype: 'float32' }).copy_(tensor([0.5, 2])))).toEqual([0.5, 2]);
  });
});

describe('ops against hand-computed values', () => {
  const a = (): Tensor => tensor([[1, 2], [3, 4]], undefined, f64);
  test('arithmetic with broadcasting and scalars', () => {
    const row = tensor([10, 20], undefined, f64);
    expectClose(a().add(row).toArray() as Float64Array, [11, 22, 13, 24]);
    expectClose(a().sub(1).toArray() as Float64Array, [0, 1, 2, 3]);
    expectClose(a().mul(row).toArray() as Float64Array, [10, 40, 30, 80]);
    expectClose(a().div(2).toArray() as Float64Array, [0.5, 1, 1.5, 2]);
    expectClose(a().pow(2).toArray() as Float64Array, [1, 4, 9, 16]);
    expectClose(a().neg().toArray() as Float64Array, [-1, -2, -3, -4]);
  });
  test('matmul', () => {
    expectClose(a().matmul(a()).toArray() as Float64Array, [7, 10, 15, 22]);
  });
  test('elementwise functions', () => {
    const x = [0.5, -1.5, 2];
    const t = tensor(x, undefined, f64);
    expectClose(t.exp().toArray() as Float64Array, x.map(Math.exp));
    expectClose(t.abs().log().toArray() as Float64Array, x.map((v) => Math.log(Math.abs(v))));
    expectClose(t.abs().sqrt().toArray() as Float64Array, x.map((v) => Math.sqrt(Math.abs(v))));
    expectClose(t.sin().toArray() as Float64Array, x.map(Math.sin));
    expectClose(t.cos().toArray() as Float64Array, x.map(Math.cos));
    expectClose(t.tanh().toArray() as Float64Array, x.map(Math.tanh));
    expectClose(t.sigmoid().toArray() as Float64Array, x.map((v) => 1 / (1 + Math.exp(-v))));
    expectClose(t.relu().toArray() as Float64Array, x.map((v) => Math.max(0, v)));
  });
  test('reductions with dims', () => {
    expect(a().sum().item()).toBe(10);
    expectClose(a().sum([0]).toArray() as Float64Array, [4, 6]);
    expect(a().mean([1], true).shape).toEqual([2, 1]);
    expectClose(a().mean([1]).toArray() as Float64Array, [1.5, 3.5]);
  });
});

describe('autograd against central finite differences (float64)', () => {
  // f(x) = sum(sin(x) * x^3) + sum(exp(x) * sigmoid(x))
  const f = (x: Tensor): Tensor => x.sin().mul(x.pow(3)).sum().add(x.exp().mul(x.sigmoid()).sum());
  const x0 = [0.3, -0.7, 1.1];
  const h = 1e-5;

  function numericGrad(fn: (x: number[]) => number, x: number[]): number[] {
    return x.map((_, i) => {
      const plus = [...x];
      const minus = [...x];
      plus[i] += h;
      minus[i] -= h;
      return (fn(plus) - fn(minus)) / (2 * h);
    });
  }
  const fValue = (x: number[]): number => f(tensor(x, undefined, f64)).item();
  const gradValue = (x: number[]): number[] => {
    const t = tensor(x, undefined, { ...f64, requiresGrad: true });
    return Array.from(grad(f(t), [t])[0]!.toArray() as Float64Array);
  };

  test('first derivative', () => {
    expectClose(gradValue(x0), numericGrad(fValue, x0), 1e-8);
  });

  test('second derivative: Hessian-vector product through createGraph', () => {
    const v = [1, -2, 0.5];
    const t = tensor(x0, undefined, { ...f64, requiresGrad: true });
    const [g] = grad(f(t), [t], { createGraph: true });
    const [hv] = grad(g!.mul(tensor(v, undefined, f64)).sum(), [t]);
    // Finite difference of the analytic gradient along v.
    const gv = (x: number[]): number => gradValue(x).reduce((s, gi, i) => s + gi * v[i], 0);
    const numeric = numericGrad(gv, x0);
    expectClose(hv!.toArray() as Float64Array, numeric, 1e-7);
  });

  test('allowUnused gives null; noGrad records nothing', () => {
    const x = tensor([1, 2], undefined, { ...f64, requiresGrad: true });
    const y = tensor([3, 4], undefined, { ...f64, requiresGrad: true });
    const [gx, gy] = grad(x.mul(x).sum(), [x, y], { allowUnused: true });
    expectClose(gx!.toArray() as Float64Array, [2, 4]);
    expect(gy).toBeNull();
    expect(noGrad(() => x.mul(2)).requiresGrad).toBe(false);
    expect(x.mul(2).requiresGrad).toBe(true);
  });
});

describe('errors keep the process alive', () => {
  test('shape mismatch names the op and shapes', () => {
    expectCode(() => zeros([2, 3]).add(zeros([4])), 'SHAPE_MISMATCH', /add: float32\[2,3\] and float32\[4\]/);
    expectCode(() => zeros([2, 3]).matmul(zeros([2, 3])), 'SHAPE_MISMATCH', /matmul/);
  });
  test('torch message is kept as cause', () => {
    let caught: Error | undefined;
    try {
      zeros([2, 3]).add(zeros([4]));
    } catch (err) {
      caught = err as Error;
    }
    expect((caught?.cause as Error).message).toMatch(/size of tensor/);
  });
  test('dtype mismatch', () => {
    expectCode(() => tensor([1, 2], undefined, f64).matmul(tensor([1, 2], undefined, { dtype: 'float32' })), 'DTYPE');
    expectCode(() => tensor([1], undefined, { dtype: 'complex' as never }), 'DTYPE');
  });
  test('disposed tensors', () => {
    const t = ones([2]);
    t.dispose();
    expect(t.disposed).toBe(true);
    expectCode(() => t.shape, 'DISPOSED');
    expectCode(() => ones([2]).add(t), 'DISPOSED');
    t.dispose(); // a second dispose is harmless
    // A native handle taken before dispose() is unwrapped, not dangling: native calls refuse it.
    const held = ones([2]);
    const raw = held.handle;
    held.dispose();
    expectCode(() => native.cat([raw], 0), 'DISPOSED');
  });
  test('unavailable device', () => {
    expectCode(() => zeros([2], { device: 'cuda:7' }), 'DEVICE', /cuda:7/);
    expectCode(() => zeros([2], { device: 'tpu' as never }), 'DEVICE');
  });
  test('bad arguments', () => {
    expectCode(() => tensor(new Float64Array(3), [2, 2]), 'SHAPE_MISMATCH', /4 elements but data has 3/);
    expectCode(() => zeros([2.5]), 'INVALID_ARGUMENT', /shape\[0\]/);
    expectCode(() => ones([2]).item(), 'SHAPE_MISMATCH', /item/);
    const x = ones([2], { requiresGrad: true });
    expectCode(() => grad(x.mul(2), [x]), 'SHAPE_MISMATCH', /scalars/);
    expectCode(() => grad(x.sum(), [ones([2])]), 'INVALID_ARGUMENT', /require grad/);
  });
});

describe('memory', () => {
  test('tidy disposes intermediates and keeps returned tensors', () => {
    const inner: Tensor[] = [];
    const out = tidy(() => {
      const a = ones([3]);
      inner.push(a);
      const b = a.mul(2);
      inner.push(b);
      return { result: b.add(1) };
    });
    expect(inner.every((t) => t.disposed)).toBe(true);
    expectClose(out.result.toArray() as Float32Array, [3, 3, 3]);
  });
  test('tidy keeps what a cyclic, deep, Map or Set result holds and disposes the rest', () => {
    let intermediate: Tensor | undefined;
    const out = tidy(() => {
      intermediate = ones([1]);
      const cyclic: Record<string, unknown> = { t: intermediate.add(1) };
      cyclic.self = cyclic;
      let chain: unknown = { t: intermediate.add(2) };
      for (let i = 0; i < 1e5; i++) chain = { next: chain };
      return { cyclic, chain, map: new Map([['m', intermediate.add(3)]]), set: new Set([intermediate.add(4)]) };
    });
    expect(intermediate!.disposed).toBe(true);
    expect((out.cyclic.t as Tensor).item()).toBe(2);
    let link = out.chain as { next?: unknown; t?: Tensor };
    while (link.next) link = link.next as typeof link;
    expect(link.t!.item()).toBe(3);
    expect(out.map.get('m')!.item()).toBe(4);
    expect([...out.set][0].item()).toBe(5);
  });
  test('tidy closes its scope whatever happens', () => {
    const made: Tensor[] = [];
    const make = () => {
      const t = ones([1]);
      made.push(t);
      return t;
    };
    expect(() => tidy(() => { make(); throw new Error('boom'); })).toThrow('boom');
    expectCode(() => tidy(() => Promise.resolve(make())), 'INVALID_ARGUMENT', /tidy\.fn/);
    expect(() => tidy(() => ({ get broken(): Tensor { make(); throw new Error('getter'); } }))).toThrow('getter');
    expect(made.every((t) => t.disposed)).toBe(true);
    // No scope was left open: a tensor made now belongs to no scope and survives an unrelated tidy.
    const outside = ones([1]);
    tidy(() => ones([1]));
    expect(outside.disposed).toBe(false);
  });
  test('using disposes at scope end', () => {
    let escaped: Tensor;
    {
      using t = ones([2]);
      escaped = t;
    }
    expect(escaped.disposed).toBe(true);
  });
});

describe('shape, comparison, clamp, norm and in-place ops', () => {
  const a = (): Tensor => tensor([[1, -2, 3], [-4, 5, -6]], undefined, f64);
  test('reshape, permute, transpose, squeeze', () => {
    expect(a().reshape([3, 2]).toNested()).toEqual([[1, -2], [3, -4], [5, -6]]);
    expect(a().transpose(0, 1).toNested()).toEqual([[1, -4], [-2, 5], [3, -6]]);
    expect(a().permute([1, 0]).shape).toEqual([3, 2]);
    expect(a().unsqueeze(0).shape).toEqual([1, 2, 3]);
    expect(a().unsqueeze(2).squeeze().shape).toEqual([2, 3]);
    expectCode(() => a().reshape([4]), 'SHAPE_MISMATCH', /reshape: float64\[2,3\]/);
  });
  test('comparisons give bool tensors', () => {
    const gt = a().gt(0);
    expect(gt.dtype).toBe('bool');
    expect(Array.from(gt.toArray() as Uint8Array)).toEqual([1, 0, 1, 0, 1, 0]);
    expect(Array.from(a().eq(a()).toArray() as Uint8Array)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from(a().le(-4).toArray() as Uint8Array)).toEqual([0, 0, 0, 1, 0, 1]);
  });
  test('clamp, maximum, norm', () => {
    expect(a().clamp(-2, 2).toNested()).toEqual([[1, -2, 2], [-2, 2, -2]]);
    expect(a().clamp(0).toNested()).toEqual([[1, 0, 3], [0, 5, 0]]);
    expect(a().maximum(0).toNested()).toEqual([[1, 0, 3], [0, 5, 0]]);
    expect(a().norm().item()).toBeCloseTo(Math.sqrt(91), 12);
    expectClose(a().norm(1, [1]).toArray() as Float64Array, [6, 15]);
  });
  test('in-place ops mutate and return the same tensor', () => {
    const t = a();
    expect(t.add_(1)).toBe(t);
    t.mul_(2).clamp_(null, 8);
    expect(t.toNested()).toEqual([[4, -2, 8], [-6, 8, -10]]);
    t.copy_(zeros([3], f64));
    expect(t.sum().item()).toBe(0);
  });
  test('to converts dtype; clone copies', () => {
    expect(a().to('float32').dtype).toBe('float32');
    expect(a().to('cpu').device).toBe('cpu');
    const t = a();
    const c = t.clone();
    t.add_(100);
    expect(c.toNested()).toEqual(a().toNested());
    expectCode(() => a().to('cuda:3'), 'DEVICE');
  });
  test('gradient of norm and clamp against hand values', () => {
    const x = tensor([3, 4], undefined, { ...f64, requiresGrad: true });
    expectClose(grad(x.norm(), [x])[0]!.toArray() as Float64Array, [0.6, 0.8]);
    expectClose(grad(x.clamp(null, 3.5).sum(), [x])[0]!.toArray() as Float64Array, [1, 0]);
  });
});

describe('factories and seeded random numbers', () => {
  test('eye, arange, linspace', () => {
    expect(eye(2, f64).toNested()).toEqual([[1, 0], [0, 1]]);
    expect(arange(0, 5, 2, f64).toNested()).toEqual([0, 2, 4]);
    expect(linspace(0, 1, 5, f64).toNested()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expectCode(() => arange(0, 1, 0), 'INVALID_ARGUMENT', /step/);
  });
  test('the same seed gives the same numbers; another seed other numbers', () => {
    const draw = (seed: number): number[] => Array.from(randn([5], { ...f64, generator: new Generator(seed) }).toArray() as Float64Array);
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    manualSeed(3);
    const first = rand([4]).toArray();
    manualSeed(3);
    expect(rand([4]).toArray()).toEqual(first);
  });
  test('random values lie in their ranges and have sane moments', () => {
    const g = new Generator(0);
    const u = rand([20000], { ...f64, generator: g });
    expect(u.ge(0).mul(u.lt(1)).to('float64').mean().item()).toBe(1);
    expect(Math.abs(u.mean().item() - 0.5)).toBeLessThan(0.01);
    const n = randn([20000], { ...f64, generator: g });
    expect(Math.abs(n.pow(2).mean().item() - 1)).toBeLessThan(0.05);
    const k = randint(3, 6, [1000], { generator: g });
    expect(k.dtype).toBe('int64');
    expect(k.ge(3).mul(k.lt(6)).to('float64').mean().item()).toBe(1);
  });
});
