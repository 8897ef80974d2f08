// The task registry through the raw binding: one createTask for every built-in task, options read
// through the C++ declarations (unknown keys and out-of-range values refused on the calling
// thread), the problem built on a worker thread while the event loop keeps running.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadNative } from '../lib/binding';
import { tasks } from '../lib';

const native = loadNative();

test('an unknown task is refused with the names there are', () => {
  expect(() => native.createTaskSync('toy/cubic' as never, {} as never)).toThrow(
    /^createTask: no task named 'toy\/cubic' \(there are: toy\/convex, toy\/singleton, toy\/nonconvex, toy\/bamm-convex, hyper-cleaning, gan, few-shot, nas, nas-retrain\)$/);
});

test.each([
  ['toy/convex', { a: 1 }, /toy\/convex\.a: unknown field \(toy\/convex takes n, x0, y0, closedForm\)$/],
  ['toy/nonconvex', { n: 0 }, /toy\/nonconvex\.n must be an integer in \[1, 1e\+06\]; got 0$/],
  ['toy/nonconvex', { closedForm: 'yes' }, /toy\/nonconvex\.closedForm must be true or false$/],
  ['hyper-cleaning', { root: '/nowhere', model: 'resnet' }, /hyper-cleaning\.model must be one of linear, mlp; got 'resnet'$/],
  ['hyper-cleaning', { root: '/nowhere', seed: 2 ** 53 }, /hyper-cleaning\.seed must be an integer in \[0, 9\.0072e\+15\]; got 9\.0072e\+15$/],
] as const)('%s with %j is refused before anything is built', (name, options, message) => {
  expect(() => native.createTask(name, options as never)).toThrow(message);
});

test('defaults come from the declarations: toy/nonconvex is n = 1, a = c = 2, float64', () => {
  const { x, y } = native.createTaskSync('toy/nonconvex', {}).variables();
  expect(x[0].shape()).toEqual([1]);
  expect(y[0].shape()).toEqual([1]);
  expect(y[0].dtype()).toBe('float64');
});

test('a failure while building rejects the promise with the coded error', async () => {
  await expect(native.createTask('hyper-cleaning', { root: '/nowhere' })).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^createTask: dataset file train-images-idx3-ubyte\(\.gz\) not found in \/nowhere$/),
  });
});

const mnist = '/usr/share/datasets/mnist';
(fs.existsSync(path.join(mnist, 'train-images-idx3-ubyte')) ? test : test.skip)(
  'reading 70k MNIST images does not block the event loop: timers run while the task is built',
  async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = Date.now();
    const problem = await tasks.hyperCleaning({ dataset: 'mnist', root: mnist, seed: 0 });
    const elapsed = Date.now() - started;
    clearInterval(timer);
    expect(problem.data().trainFeatures.shape).toEqual([5000, 784]);
    // Blocked, the loop would not have ticked at all; free, it ticks about once per millisecond.
    expect(ticks).toBeGreaterThan(elapsed / 10);
    problem.dispose();
  },
);
