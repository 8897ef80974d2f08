// Every misuse of the public API is a BilevelError with a code and a message naming the field at
// fault: no TypeError or RangeError escapes, and no number is silently truncated, wrapped or
// replaced by a default on its way to LibTorch.
import {
  BilevelError, Generator, Solver, Tensor, arange, avgPool2d, batchNorm, cat, conv2d, crossEntropy, defineProblem, eye, full,
  gather, gd, grad, indexSelect, linear, linspace, logSoftmax, manualSeed, maxPool2d, noGrad, ones, problems, rand, randint,
  randn, sgd, slice, softmax, stack, tensor, tidy, where, zeros, type BilevelErrorCode, type ProblemDefinition,
} from '../lib';

const f64 = { dtype: 'float64' as const };
const i64 = { dtype: 'int64' as const };
const x = (): Tensor => tensor([[1, 2], [3, 4]], undefined, f64);
const index = (): Tensor => tensor([0], undefined, i64);
const image = (): Tensor => ones([1, 1, 4, 4], f64);
const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};
const definition = (): ProblemDefinition => ({
  x: tensor([1], undefined, f64),
  y: tensor([0], undefined, f64),
  upper: (_, [y]) => y.pow(2).sum(),
  lower: ([xv], [y]) => y.sub(xv).pow(2).sum(),
});
const untyped = (value: unknown): never => value as never;

type Case = [name: string, call: () => unknown, code: BilevelErrorCode, message: RegExp];

const creation: Case[] = [
  ['Uint8Array bytes read as bool', () => tensor(new Uint8Array([0, 200])), 'INVALID_ARGUMENT', /^tensor\.data\[1\]: must be 0 or 1 for dtype bool \(a Uint8Array is read as bool unless options\.dtype/],
  ['null options', () => tensor([1], [1], untyped(null)), 'INVALID_ARGUMENT', /^tensor\.options: must be an object; got null$/],
  ['misspelt option', () => tensor([1], undefined, untyped({ dtyp: 'int64' })), 'INVALID_ARGUMENT', /^tensor\.options\.dtyp: must be absent \(known options: dtype, device, requiresGrad\)/],
  ['unknown dtype', () => tensor([1], undefined, untyped({ dtype: 'float16' })), 'DTYPE', /^tensor\.options\.dtype: must be one of float32, float64, int64, bool; got "float16"$/],
  ['device not a string', () => tensor([1], undefined, untyped({ device: 5 })), 'DEVICE', /^tensor\.options\.device: must be 'cpu', 'cuda' or 'cuda:N'; got 5$/],
  ['requiresGrad not a boolean', () => tensor([1], undefined, untyped({ requiresGrad: 'yes' })), 'INVALID_ARGUMENT', /^tensor\.options\.requiresGrad: must be true or false/],
  ['NaN into int64', () => tensor([NaN], undefined, i64), 'INVALID_ARGUMENT', /^tensor\.data\[0\]: must be an integer from -2\^63 to 2\^63 - 1 for dtype int64; got NaN$/],
  ['1e300 into int64', () => tensor([1, 1e300], undefined, i64), 'INVALID_ARGUMENT', /^tensor\.data\[1\]: .* for dtype int64; got 1e\+300$/],
  ['2^63 into int64', () => tensor([2 ** 63], undefined, i64), 'INVALID_ARGUMENT', /^tensor\.data\[0\]: .*int64/],
  ['1.5 into int64', () => tensor(new Float32Array([1.5]), undefined, i64), 'INVALID_ARGUMENT', /^tensor\.data\[0\]: .*int64; got 1\.5$/],
  ['2^64 - 1 into int64', () => tensor(new BigUint64Array([2n ** 64n - 1n])), 'INVALID_ARGUMENT', /^tensor\.data\[0\]: .*int64; got 18446744073709551615n$/],
  ['1e300 into float32', () => tensor(new Float64Array([1e300]), undefined, { dtype: 'float32' }), 'INVALID_ARGUMENT', /^tensor\.data\[0\]: must be within the float32 range/],
  ['2 into bool', () => tensor([0, 2], undefined, { dtype: 'bool' }), 'INVALID_ARGUMENT', /^tensor\.data\[1\]: must be 0 or 1 for dtype bool; got 2$/],
  ['10^5 levels of nesting', () => tensor(untyped(nested(1e5))), 'INVALID_ARGUMENT', /^tensor\.data: must be nested at most 64 levels deep/],
  ['ragged rows', () => tensor([[1, 2], [3]]), 'INVALID_ARGUMENT', /^tensor\.data\[1\]: must be an array of length 2 \(nested data must be rectangular\); got \[3\]$/],
  ['ragged depth', () => tensor(untyped([[1, 2], [3, [4]]])), 'INVALID_ARGUMENT', /^tensor\.data\[1\]\[1\]: must be a number; got \[4\]$/],
  ['a string element', () => tensor(untyped([1, '2'])), 'INVALID_ARGUMENT', /^tensor\.data\[1\]: must be a number; got "2"$/],
  ['a hole', () => tensor(untyped([1, , 3])), 'INVALID_ARGUMENT', /^tensor\.data\[1\]: must be a number; got undefined$/], // eslint-disable-line no-sparse-arrays
  ['a string', () => tensor(untyped('abc')), 'INVALID_ARGUMENT', /^tensor\.data: must be a number, nested arrays of numbers or a TypedArray; got "abc"$/],
  ['a DataView', () => tensor(untyped(new DataView(new ArrayBuffer(8)))), 'INVALID_ARGUMENT', /^tensor\.data: .*; got a DataView$/],
  ['fractional shape', () => tensor([1, 2], [2.5]), 'INVALID_ARGUMENT', /^tensor\.shape\[0\]: must be an integer >= 0; got 2\.5$/],
  ['null shape', () => tensor([1, 2], untyped(null)), 'INVALID_ARGUMENT', /^tensor\.shape: must be an array; got null$/],
  ['shape and data disagree', () => tensor(new Float64Array(3), [2, 2]), 'SHAPE_MISMATCH', /4 elements but data has 3/],
  ['negative size', () => zeros([-1]), 'INVALID_ARGUMENT', /^zeros\.shape\[0\]: must be an integer >= 0; got -1$/],
  ['overflowing shape', () => zeros([2 ** 32, 2 ** 32]), 'INVALID_ARGUMENT', /^zeros\.shape: must be a shape of at most 2\^53 - 1 elements; got \[4294967296, 4294967296\]$/],
  ['65 dimensions', () => ones(Array(65).fill(1)), 'INVALID_ARGUMENT', /^ones\.shape: must be a shape of at most 64 dimensions/],
  ['shape a string', () => ones(untyped('abc')), 'INVALID_ARGUMENT', /^ones\.shape: must be an array; got "abc"$/],
  ['full with a string', () => full([2], untyped('abc')), 'INVALID_ARGUMENT', /^full\.value: must be a number; got "abc"$/],
  ['full int64 with 1.5', () => full([2], 1.5, i64), 'INVALID_ARGUMENT', /^full\.value: must be an integer .* for dtype int64; got 1\.5$/],
  ['full bool with 2', () => full([2], 2, { dtype: 'bool' }), 'INVALID_ARGUMENT', /^full\.value: must be 0 or 1 for dtype bool; got 2$/],
  ['full float32 with 1e39', () => full([2], 1e39), 'INVALID_ARGUMENT', /^full\.value: must be within the float32 range/],
  ['eye(2.7)', () => eye(2.7), 'INVALID_ARGUMENT', /^eye\.n: must be an integer >= 0; got 2\.7$/],
  ['eye(-1)', () => eye(-1), 'INVALID_ARGUMENT', /^eye\.n: must be an integer >= 0; got -1$/],
  ['eye(1e300)', () => eye(1e300), 'INVALID_ARGUMENT', /^eye\.n: must be an integer of magnitude at most 2\^53 - 1; got 1e\+300$/],
  ['arange against the step sign', () => arange(0, 5, -1), 'INVALID_ARGUMENT', /^arange\.step: must be a non-zero number with the sign of end - start; got -1$/],
  ['arange to NaN', () => arange(0, NaN), 'INVALID_ARGUMENT', /^arange\.end: must be a finite number; got NaN$/],
  ['arange of 1e300 values', () => arange(0, 1e300), 'INVALID_ARGUMENT', /^arange\.step: must be large enough for at most 2\^53 - 1 values/],
  ['linspace 2.5 steps', () => linspace(0, 1, 2.5), 'INVALID_ARGUMENT', /^linspace\.steps: must be an integer >= 0; got 2\.5$/],
  ['rand int64', () => rand([2], i64), 'DTYPE', /^rand\.options\.dtype: must be float32 or float64; got "int64"$/],
  ['randn with a fake generator', () => randn([2], untyped({ generator: {} })), 'INVALID_ARGUMENT', /^randn\.options\.generator: must be a Generator; got an object$/],
  ['randint high <= low', () => randint(5, 3, [2]), 'INVALID_ARGUMENT', /^randint\.high: must be an integer > low \(5\); got 3$/],
  ['randint fractional low', () => randint(0.5, 3, [2]), 'INVALID_ARGUMENT', /^randint\.low: must be an integer; got 0\.5$/],
  ['Generator(NaN)', () => new Generator(NaN), 'INVALID_ARGUMENT', /^Generator\.seed: must be an integer >= 0; got NaN$/],
  ['Generator(-1)', () => new Generator(-1), 'INVALID_ARGUMENT', /^Generator\.seed: must be an integer >= 0; got -1$/],
  ['manualSeed(NaN)', () => manualSeed(NaN), 'INVALID_ARGUMENT', /^manualSeed\.seed: must be an integer >= 0; got NaN$/],
  ['manualSeed(1e300)', () => manualSeed(1e300), 'INVALID_ARGUMENT', /^manualSeed\.seed: must be an integer of magnitude at most 2\^53 - 1/],
];

const methods: Case[] = [
  ['add a string', () => x().add(untyped('1')), 'INVALID_ARGUMENT', /^add\.other: must be a Tensor or a number; got "1"$/],
  ['mul null', () => x().mul(untyped(null)), 'INVALID_ARGUMENT', /^mul\.other: must be a Tensor or a number; got null$/],
  ['matmul a number', () => x().matmul(untyped(2)), 'INVALID_ARGUMENT', /^matmul\.other: must be a Tensor; got 2$/],
  ['copy_ an array', () => x().copy_(untyped([1, 2])), 'INVALID_ARGUMENT', /^copy_\.source: must be a Tensor; got \[1, 2\]$/],
  ['int64 add_ 1.5', () => tensor([1], undefined, i64).add_(1.5), 'DTYPE', /^add_: int64\[1\] cannot hold the float32 result of add_ with a number$/],
  ['int64 copy_ float', () => tensor([1], undefined, i64).copy_(tensor([1.5])), 'DTYPE', /^copy_: int64\[1\] cannot hold the float64 result/],
  ['bool mul_ 2', () => x().gt(1).mul_(2), 'DTYPE', /^mul_: bool\[2,2\] cannot hold/],
  ['int64 clamp_ 0.5', () => tensor([1], undefined, i64).clamp_(0.5), 'DTYPE', /^clamp: int64\[1\] cannot hold the float32 result of clamp_ with a number$/],
  ['reshape 2.5', () => x().reshape([2.5, 2]), 'INVALID_ARGUMENT', /^reshape\.shape\[0\]: must be an integer >= -1; got 2\.5$/],
  ['view -2', () => x().view([-2]), 'INVALID_ARGUMENT', /^view\.shape\[0\]: must be an integer >= -1; got -2$/],
  ['permute a string', () => x().permute(untyped('10')), 'INVALID_ARGUMENT', /^permute\.dims: must be an array; got "10"$/],
  ['transpose 0.5', () => x().transpose(0, 0.5), 'INVALID_ARGUMENT', /^transpose\.dim1: must be an integer; got 0\.5$/],
  ['squeeze NaN', () => x().squeeze(NaN), 'INVALID_ARGUMENT', /^squeeze\.dim: must be an integer; got NaN$/],
  ['unsqueeze 1e300', () => x().unsqueeze(1e300), 'INVALID_ARGUMENT', /^unsqueeze\.dim: must be an integer of magnitude/],
  ['sum(0)', () => x().sum(untyped(0)), 'INVALID_ARGUMENT', /^sum\.dims: must be an array; got 0$/],
  ['mean keepdim "yes"', () => x().mean([0], untyped('yes')), 'INVALID_ARGUMENT', /^mean\.keepdim: must be true or false; got "yes"$/],
  ['norm p a string', () => x().norm(untyped('fro')), 'INVALID_ARGUMENT', /^norm\.p: must be a number; got "fro"$/],
  ['norm dims a number', () => x().norm(2, untyped(0)), 'INVALID_ARGUMENT', /^norm\.dims: must be an array; got 0$/],
  ['clamp a string', () => x().clamp(untyped('0.5'), 2), 'INVALID_ARGUMENT', /^clamp\.min: must be a number; got "0\.5"$/],
  ['clamp NaN', () => x().clamp(NaN), 'INVALID_ARGUMENT', /^clamp\.min: must be a number; got NaN$/],
  ['clamp without bounds', () => x().clamp(null), 'INVALID_ARGUMENT', /^clamp\.min: must be a number when max is null; got null$/],
  ['clamp_ min > max', () => x().clamp_(2, 1), 'INVALID_ARGUMENT', /^clamp_\.max: must be >= min \(2\); got 1$/],
  ["to('float16')", () => x().to(untyped('float16')), 'INVALID_ARGUMENT', /^to\.target: must be a dtype \(float32, float64, int64, bool\) or a device \(cpu, cuda, cuda:N\); got "float16"$/],
  ['requiresGrad_ "yes"', () => x().requiresGrad_(untyped('yes')), 'INVALID_ARGUMENT', /^requiresGrad_\.flag: must be true or false; got "yes"$/],
];

const autograd: Case[] = [
  ['grad null options', () => grad(ones([1], { requiresGrad: true }).sum(), [], untyped(null)), 'INVALID_ARGUMENT', /^grad\.options: must be an object; got null$/],
  ['grad inputs a Tensor', () => { const v = ones([1], { requiresGrad: true }); return grad(v.sum(), untyped(v)); }, 'INVALID_ARGUMENT', /^grad\.inputs: must be an array; got a Tensor$/],
  ['grad outputs a string', () => grad(untyped('loss'), []), 'INVALID_ARGUMENT', /^grad\.outputs: must be a Tensor or an array of Tensors; got "loss"$/],
  ['grad createGraph 1', () => { const v = ones([1], { requiresGrad: true }); return grad(v.sum(), [v], untyped({ createGraph: 1 })); }, 'INVALID_ARGUMENT', /^grad\.options\.createGraph: must be true or false; got 1$/],
  ['noGrad(5)', () => noGrad(untyped(5)), 'INVALID_ARGUMENT', /^noGrad\.fn: must be a function; got 5$/],
  ['tidy(5)', () => tidy(untyped(5)), 'INVALID_ARGUMENT', /^tidy\.fn: must be a function; got 5$/],
  ['tidy(async)', () => tidy(async () => ones([1])), 'INVALID_ARGUMENT', /^tidy\.fn: must be a synchronous function .*; got a Promise$/],
];

const functional: Case[] = [
  ['cat()', () => (cat as () => Tensor)(), 'INVALID_ARGUMENT', /^cat\.tensors: must be an array; got undefined$/],
  ['cat a number', () => cat([x(), untyped(1)]), 'INVALID_ARGUMENT', /^cat\.tensors\[1\]: must be a Tensor; got 1$/],
  ['cat dim 0.5', () => cat([x()], 0.5), 'INVALID_ARGUMENT', /^cat\.dim: must be an integer; got 0\.5$/],
  ['stack(null)', () => stack(untyped(null)), 'INVALID_ARGUMENT', /^stack\.tensors: must be an array; got null$/],
  ['where b a number', () => where(x().gt(1), x(), untyped(1)), 'INVALID_ARGUMENT', /^where\.b: must be a Tensor; got 1$/],
  ['slice step 0', () => slice(x(), 0, 0, 2, 0), 'INVALID_ARGUMENT', /^slice\.step: must be an integer >= 1; got 0$/],
  ['slice start 1.5', () => slice(x(), 0, 1.5), 'INVALID_ARGUMENT', /^slice\.start: must be an integer; got 1\.5$/],
  ['indexSelect an array index', () => indexSelect(x(), 0, untyped([0])), 'INVALID_ARGUMENT', /^indexSelect\.index: must be a Tensor; got \[0\]$/],
  ['gather dim NaN', () => gather(x(), NaN, index()), 'INVALID_ARGUMENT', /^gather\.dim: must be an integer; got NaN$/],
  ['softmax dim "last"', () => softmax(x(), untyped('last')), 'INVALID_ARGUMENT', /^softmax\.dim: must be an integer; got "last"$/],
  ['logSoftmax t null', () => logSoftmax(untyped(null)), 'INVALID_ARGUMENT', /^logSoftmax\.t: must be a Tensor; got null$/],
  ['crossEntropy reduction', () => crossEntropy(x(), index(), untyped('avg')), 'INVALID_ARGUMENT', /^crossEntropy\.reduction: must be one of none, mean, sum; got "avg"$/],
  ['linear bias 5', () => linear(x(), x(), untyped(5)), 'INVALID_ARGUMENT', /^linear\.bias: must be a Tensor; got 5$/],
  ['conv2d null options', () => conv2d(image(), image(), untyped(null)), 'INVALID_ARGUMENT', /^conv2d\.options: must be an object; got null$/],
  ['conv2d stride 0', () => conv2d(image(), image(), { stride: 0 }), 'INVALID_ARGUMENT', /^conv2d\.options\.stride: must be an integer >= 1; got 0$/],
  ['conv2d padding [1]', () => conv2d(image(), image(), untyped({ padding: [1] })), 'INVALID_ARGUMENT', /^conv2d\.options\.padding: must be an integer >= 0 or a pair of them; got \[1\]$/],
  ['conv2d misspelt option', () => conv2d(image(), image(), untyped({ strides: 2 })), 'INVALID_ARGUMENT', /^conv2d\.options\.strides: must be absent/],
  ['maxPool2d kernel [2]', () => maxPool2d(image(), untyped([2])), 'INVALID_ARGUMENT', /^maxPool2d\.kernel: must be an integer >= 1 or a pair of them; got \[2\]$/],
  ['avgPool2d stride 0', () => avgPool2d(image(), 2, 0), 'INVALID_ARGUMENT', /^avgPool2d\.stride: must be an integer >= 1; got 0$/],
  ['batchNorm eps a string', () => batchNorm(x(), undefined, undefined, untyped('x')), 'INVALID_ARGUMENT', /^batchNorm\.eps: must be a finite number; got "x"$/],
  ['batchNorm eps < 0', () => batchNorm(x(), undefined, undefined, -1), 'INVALID_ARGUMENT', /^batchNorm\.eps: must be a finite number >= 0; got -1$/],
];

const solverPieces: Case[] = [
  ['defineProblem(null)', () => defineProblem(untyped(null)), 'INVALID_ARGUMENT', /^defineProblem\.definition: must be an object; got null$/],
  ['upper not a function', () => defineProblem({ ...definition(), upper: untyped(5) }), 'INVALID_ARGUMENT', /^defineProblem\.definition\.upper: must be a function; got 5$/],
  ['lowerGradient not a function', () => defineProblem({ ...definition(), lowerGradient: untyped('grad') }), 'INVALID_ARGUMENT', /^defineProblem\.definition\.lowerGradient: must be a function; got "grad"$/],
  ['x a number', () => defineProblem({ ...definition(), x: untyped(1) }), 'INVALID_ARGUMENT', /^defineProblem\.definition\.x: must be a Tensor or an array of Tensors; got 1$/],
  ['y with a number', () => defineProblem({ ...definition(), y: [ones([1]), untyped(1)] }), 'INVALID_ARGUMENT', /^defineProblem\.definition\.y\[1\]: must be a Tensor; got 1$/],
  ['ySet null', () => defineProblem({ ...definition(), ySet: untyped(null) }), 'INVALID_ARGUMENT', /^defineProblem\.definition\.ySet: must be an object; got null$/],
  ['ySet min NaN', () => defineProblem({ ...definition(), ySet: { min: NaN } }), 'INVALID_ARGUMENT', /^defineProblem\.definition\.ySet\.min: must be a number, a Tensor or undefined; got NaN$/],
  ['xSet min > max', () => defineProblem({ ...definition(), xSet: { min: 1, max: 0 } }), 'INVALID_ARGUMENT', /^defineProblem\.definition\.xSet\.max: must be >= min \(1\); got 0$/],
  ['ySet misspelt bound', () => defineProblem({ ...definition(), ySet: [untyped({ mn: 0 })] }), 'INVALID_ARGUMENT', /^defineProblem\.definition\.ySet\[0\]\.mn: must be absent/],
  ['misspelt definition key', () => defineProblem({ ...definition(), lowerGrad: () => [] } as never), 'INVALID_ARGUMENT', /^defineProblem\.definition\.lowerGrad: must be absent/],
  ['name a number', () => defineProblem(definition(), untyped(5)), 'INVALID_ARGUMENT', /^defineProblem\.name: must be a string; got 5$/],
  ['start(null)', () => Solver.builder().build().start(untyped(null)), 'INVALID_ARGUMENT', /^start\.problem: must be a Problem; got null$/],
  ['initAuxiliary(null)', () => Solver.builder().initAuxiliary(untyped(null)), 'INVALID_ARGUMENT', /^initAuxiliary\.options: must be an object; got null$/],
  ['initAuxiliary initial [1]', () => Solver.builder().initAuxiliary({ initial: [untyped(1)] }), 'INVALID_ARGUMENT', /^initAuxiliary\.options\.initial\[0\]: must be a Tensor; got 1$/],
  ['prior(null)', () => Solver.builder().prior(untyped(null)), 'INVALID_ARGUMENT', /^prior\.options: must be an object; got null$/],
  ['prior anchor 5', () => Solver.builder().prior({ anchor: untyped(5) }), 'INVALID_ARGUMENT', /^prior\.options\.anchor: must be an array; got 5$/],
  ['pessimisticTruncation(null)', () => Solver.builder().pessimisticTruncation(untyped(null)), 'INVALID_ARGUMENT', /^pessimisticTruncation\.options: must be an object; got null$/],
  ['recompute "yes"', () => Solver.builder().pessimisticTruncation({ recompute: untyped('yes') }), 'INVALID_ARGUMENT', /^pessimisticTruncation\.options\.recompute: must be true or false/],
  ['gd(null)', () => gd(untyped(null)), 'INVALID_ARGUMENT', /^dynamics\(gd\): must be an object; got null$/],
  ["sgd('fast')", () => sgd(untyped('fast')), 'INVALID_ARGUMENT', /^optimizer\(sgd\): must be an object; got "fast"$/],
  ['bamm(null)', () => Solver.bamm(untyped(null)), 'INVALID_ARGUMENT', /^bamm\.options: must be an object; got null$/],
];

// Errors raised inside LibTorch, classified by their type first, then by their message: the same
// failure gets the same code whichever op raised it.
const fromLibtorch: Case[] = [
  ['dimension out of range (sum)', () => x().sum([5]), 'SHAPE_MISMATCH', /dimension out of range/i],
  ['dimension out of range (softmax)', () => softmax(x(), 5), 'SHAPE_MISMATCH', /dimension out of range/i],
  ['index out of range (indexSelect)', () => indexSelect(x(), 0, tensor([5], undefined, i64)), 'SHAPE_MISMATCH', /out of range/],
  ['index out of bounds (gather)', () => gather(x(), 0, tensor([[5, 0]], undefined, i64)), 'SHAPE_MISMATCH', /out of bounds/],
  ['target class out of bounds (crossEntropy)', () => crossEntropy(x(), tensor([5, 0], undefined, i64)), 'SHAPE_MISMATCH', /out of bounds/],
  ['negating a bool tensor', () => tensor([1, 0], undefined, { dtype: 'bool' }).neg(), 'DTYPE', /bool tensor/],
  ['a second backward through a freed graph', () => {
    const leaf = tensor([1, 2], undefined, { ...f64, requiresGrad: true });
    const out = leaf.mul(leaf).sum();
    grad(out, [leaf]);
    return grad(out, [leaf]);
  }, 'INVALID_ARGUMENT', /backward through the graph a second time/],
  ['an allocation larger than memory', () => zeros([1e6, 1e6]), 'OUT_OF_MEMORY', /^full: .*(can't allocate memory|out of memory)/],
];

describe.each([
  ['errors raised by LibTorch', fromLibtorch],
  ['creating tensors', creation], ['Tensor methods', methods], ['autograd and scopes', autograd],
  ['functional ops', functional], ['problems and solvers', solverPieces],
])('%s', (_, cases) => {
  test.each(cases)('%s', (_name, call, code, message) => {
    let caught: unknown;
    try {
      tidy(call);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BilevelError);
    expect((caught as BilevelError).code).toBe(code);
    expect((caught as Error).message).toMatch(message);
  });
});

describe('calls that return promises reject', () => {
  const problem = () => defineProblem(definition());
  const solver = () => Solver.builder().build();
  test.each<[string, () => Promise<unknown>, RegExp]>([
    ['metrics(null)', () => problem().metrics(untyped(null)), /^metrics\.values: must be an object; got null$/],
    ['metrics with a number', () => problem().metrics({ x: [untyped(1)], y: [] }), /^metrics\.values\.x\[0\]: must be a Tensor; got 1$/],
    ['pretrainLower(null)', () => problem().pretrainLower(untyped(null)), /^pretrainLower\.options: must be an object; got null$/],
    ['pretrainLower lr NaN', () => problem().pretrainLower({ steps: 1, lr: NaN }), /^pretrainLower\.options\.lr: must be a finite number; got NaN$/],
    ['save(5)', () => solver().start(problem()).save(untyped(5)), /^save: save\(path, meta\) takes two strings$/],
    ['load(null)', () => solver().start(problem()).load(untyped(null)), /^load: load\(path\) takes a string$/],
    ['run(p) without options', () => solver().run(problem(), untyped(undefined)), /^run\.options\.iterations: must be an integer >= 0; got undefined$/],
    ['run(p, null)', () => solver().run(problem(), untyped(null)), /^run\.options: must be an object; got null$/],
    ['run(null, ...)', () => solver().run(untyped(null), { iterations: 1 }), /^run\.problem: must be a Problem; got null$/],
    ['onIteration 5', () => solver().run(problem(), { iterations: 1, onIteration: untyped(5) }), /^run\.options\.onIteration: must be a function; got 5$/],
    ['signal {}', () => solver().run(problem(), { iterations: 1, signal: untyped({}) }), /^run\.options\.signal: must be an AbortSignal; got an object$/],
    ['advance(NaN)', () => solver().start(problems.toy.nonconvex()).advance(NaN, () => {}), /^advance\.iterations: must be an integer >= 0; got NaN$/],
  ])('%s', async (_name, call, message) => {
    const rejection = call();
    await expect(rejection).rejects.toBeInstanceOf(BilevelError);
    await expect(rejection).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
  });
});

// Generated cases: each argument of each tensor-level function replaced by each wrong value.
// Whatever the library makes of it, only a BilevelError may come out.
describe('no plain error escapes from any argument position', () => {
  const wrongValues: unknown[] = [
    undefined, null, NaN, Infinity, -1, 2.5, 1e300, 2 ** 53, '1', true, {}, [], [null], [1.5], [-2], Symbol('s'), 1n,
    () => 1, new Float32Array(new SharedArrayBuffer(8)), new DataView(new ArrayBuffer(8)), nested(100),
  ];
  const functions: [string, (...args: never[]) => unknown, () => unknown[]][] = [
    ['tensor', tensor, () => [[1, 2], [2], f64]],
    ['full', full, () => [[2], 1, f64]],
    ['zeros', zeros, () => [[2], f64]],
    ['ones', ones, () => [[2], f64]],
    ['eye', eye, () => [2, f64]],
    ['arange', arange, () => [0, 4, 1, f64]],
    ['linspace', linspace, () => [0, 1, 3, f64]],
    ['rand', rand, () => [[2], { generator: new Generator(0) }]],
    ['randn', randn, () => [[2], f64]],
    ['Generator', (seed: never) => new Generator(seed), () => [1]],
    ['randint', randint, () => [0, 4, [2], {}]],
    ['grad', grad, () => { const v = ones([2], { requiresGrad: true }); return [v.sum(), [v], {}]; }],
    ['manualSeed', manualSeed, () => [1]],
    ['noGrad', noGrad, () => [() => 1]],
    ['tidy', tidy, () => [() => 1]],
    ['cat', cat, () => [[x(), x()], 0]],
    ['stack', stack, () => [[x(), x()], 0]],
    ['where', where, () => [x().gt(1), x(), x()]],
    ['indexSelect', indexSelect, () => [x(), 0, index()]],
    ['slice', slice, () => [x(), 0, 0, 1, 1]],
    ['gather', gather, () => [x(), 0, tensor([[0, 1]], undefined, i64)]],
    ['softmax', softmax, () => [x(), 1]],
    ['logSoftmax', logSoftmax, () => [x(), 1]],
    ['crossEntropy', crossEntropy, () => [x(), tensor([0, 1], undefined, i64), 'sum']],
    ['linear', linear, () => [x(), x(), tensor([1, 2], undefined, f64)]],
    ['conv2d', conv2d, () => [image(), image(), { stride: 1, padding: 0 }]],
    ['maxPool2d', maxPool2d, () => [image(), 2, 2]],
    ['avgPool2d', avgPool2d, () => [image(), [2, 2], [1, 1]]],
    ['batchNorm', batchNorm, () => [x(), undefined, undefined, 1e-5]],
  ];
  const methodCalls: [string, () => unknown[]][] = [
    ['add', () => [x()]], ['pow', () => [2]], ['reshape', () => [[4]]], ['transpose', () => [0, 1]], ['squeeze', () => [0]],
    ['clamp', () => [0, 1]], ['norm', () => [2, [0], false]], ['sum', () => [[0], true]], ['to', () => ['float32']],
    ['add_', () => [1]], ['copy_', () => [x()]], ['requiresGrad_', () => [true]],
  ];
  const calls: [string, () => unknown][] = [
    ...functions.flatMap(([name, fn, args]) =>
      args().flatMap((_, position) => wrongValues.map((wrong): [string, () => unknown] => [
        `${name} argument ${position}`, () => { const a = args(); a[position] = wrong; return fn(...(a as never[])); },
      ]))),
    ...methodCalls.flatMap(([name, args]) =>
      args().flatMap((_, position) => wrongValues.map((wrong): [string, () => unknown] => [
        `Tensor.${name} argument ${position}`,
        () => { const a = args(); a[position] = wrong; return (x() as unknown as Record<string, (...v: unknown[]) => unknown>)[name](...a); },
      ]))),
  ];

  test(`${calls.length} calls`, () => {
    const escaped: string[] = [];
    for (const [name, call] of calls) {
      try {
        tidy(() => { call(); });
      } catch (err) {
        if (!(err instanceof BilevelError)) escaped.push(`${name}: ${(err as Error).name}: ${(err as Error).message}`);
      }
    }
    expect(escaped).toEqual([]);
  });
});
