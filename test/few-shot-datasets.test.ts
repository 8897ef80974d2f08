// The few-shot task on image files: class folders, Omniglot's layout and miniImageNet's CSV splits
// written here by independent encoders (pngjs, jpeg-js), read back through tasks.fewShot and a run
// config (paths relative to the config file), the decoded-image cache, and the errors that name
// the file at fault.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { tasks, type Tensor } from '../lib';
import { loadRunConfig } from '../lib/run-config';
import { expectRejects } from './helpers';

const size = 16;
let folder: string;
beforeEach(() => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-few-shot-files-'));
});
afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

/** Random RGB pixels, [height, width, 3] bytes. */
const randomPixels = (seed: number) => Uint8Array.from({ length: size * size * 3 }, (_, i) => (i * 131 + seed * 71 + ((i * seed) % 17)) % 256);
/** A smooth RGB picture (JPEG keeps it within a few levels). */
const smoothPixels = (seed: number) => Uint8Array.from({ length: size * size * 3 }, (_, i) => {
  const [row, col, channel] = [Math.floor(i / (3 * size)), Math.floor(i / 3) % size, i % 3];
  return 20 + 4 * row + 3 * col + 10 * channel + seed;
});

function rgba(rgb: Uint8Array): Buffer {
  const out = Buffer.alloc(size * size * 4, 255);
  for (let p = 0; p < size * size; p++) out.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
  return out;
}

function writePng(file: string, rgb: Uint8Array, gray = false): void {
  const png = new PNG({ width: size, height: size });
  png.data = rgba(rgb);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(png, { colorType: gray ? 0 : 2 }));
}

function writeJpeg(file: string, rgb: Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, jpeg.encode({ data: rgba(rgb), width: size, height: size }, 100).data);
}

/** [height, width, 3] bytes as the task's [3, height, width] values in [0, 1]. */
const planar = (rgb: Uint8Array) => Array.from({ length: rgb.length }, (_, i) => {
  const [channel, pixel] = [Math.floor(i / (size * size)), i % (size * size)];
  return rgb[3 * pixel + channel] / 255;
});

const episodes = { imageSize: size, ways: 2, shots: 1, queries: 1, metaBatch: 1, channels: 2, evaluationEpisodes: 2, dtype: 'float64' } as const;
const values = (t: Tensor) => Array.from(t.toArray() as Float64Array);

test('class folders: the PNG pixels come through exactly, the JPEG ones within a few levels, and a second load reads the cache', async () => {
  const train = ['ant', 'bee', 'cat'].map((name, c) => [0, 1].map((i) => ({ file: `${folder}/data/train/${name}/${i}.png`, rgb: randomPixels(2 * c + i + 1) })));
  const test = ['dog', 'eel'].map((name, c) => [0, 1].map((i) => ({ file: `${folder}/data/test/${name}/${i}.jpg`, rgb: smoothPixels(2 * c + i) })));
  train.flat().forEach(({ file, rgb }) => writePng(file, rgb));
  test.flat().forEach(({ file, rgb }) => writeJpeg(file, rgb));
  const cacheDir = `${folder}/cache`;
  const options = { dataset: 'folders', root: `${folder}/data`, cacheDir, ...episodes } as const;
  using task = await tasks.fewShot(options);
  const data = task.data();
  expect(data.trainImages.shape).toEqual([6, 3, size, size]);
  expect(values(data.trainImages)).toEqual(train.flat().flatMap(({ rgb }) => planar(rgb)));
  const jpegError = Math.max(...values(data.testImages).map((v, i) => Math.abs(v - test.flat().flatMap(({ rgb }) => planar(rgb))[i])));
  expect(jpegError).toBeLessThanOrEqual(4 / 255);
  expect(fs.readdirSync(cacheDir).filter((name) => name.startsWith(`folders-${size}px-3c-`))).toHaveLength(2);

  using again = await tasks.fewShot(options);
  expect(values(again.data().trainImages)).toEqual(values(data.trainImages));
  // A changed file is a new cache entry, not stale images.
  writePng(train[0][0].file, randomPixels(99));
  using changed = await tasks.fewShot(options);
  expect(values(changed.data().trainImages).slice(0, 3 * size * size)).toEqual(planar(randomPixels(99)));
  expect(fs.readdirSync(cacheDir)).toHaveLength(3);
});

test('Omniglot\'s layout through a run config: root and cacheDir relative to the config file', async () => {
  for (const [split, alphabet] of [['images_background', 'Greek'], ['images_evaluation', 'Tengwar']]) {
    for (const character of ['character01', 'character02']) {
      for (const i of [0, 1]) writePng(`${folder}/omniglot/${split}/${alphabet}/${character}/${i}.png`, randomPixels(i + 3), true);
    }
  }
  const config = {
    problem: { name: 'few-shot', dataset: 'omniglot', root: 'omniglot', cacheDir: 'cache', ...episodes, dtype: undefined },
    iterations: 2, solver: { dynamics: { type: 'gd', lr: 0.1, steps: 2 }, hypergradient: { type: 'reverse' }, upper: { optimizer: 'adam', lr: 0.01 } },
  };
  const loaded = await loadRunConfig(JSON.stringify(config), `${folder}/run.json`);
  const data = loaded.problem.data();
  expect(data.trainImages.shape).toEqual([4, 1, size, size]);
  expect(data.testImages.shape).toEqual([4, 1, size, size]);
  expect(fs.readdirSync(`${folder}/cache`).filter((name) => name.startsWith(`omniglot-${size}px-1c-`))).toHaveLength(2);
  const metrics = await loaded.problem.metrics(loaded.problem.initial());
  expect(metrics.testEpisodes).toBe(2);
});

test('miniImageNet\'s CSV splits, and the errors that name the file at fault', async () => {
  const root = `${folder}/mini`;
  for (const i of [0, 1, 2, 3, 4, 5, 6, 7]) writeJpeg(`${root}/images/n${i}.jpg`, smoothPixels(i));
  fs.writeFileSync(`${root}/train.csv`, 'filename,label\nn0.jpg,n01\nn1.jpg,n01\nn2.jpg,n02\nn3.jpg,n02\n');
  fs.writeFileSync(`${root}/test.csv`, 'filename,label\nn4.jpg,n03\nn5.jpg,n03\nn6.jpg,n04\nn7.jpg,n04\n');
  const options = { dataset: 'mini-imagenet', root, cacheDir: '', ...episodes } as const;
  using task = await tasks.fewShot(options);
  expect(task.data().testImages.shape).toEqual([4, 3, size, size]);
  expect(fs.existsSync(`${folder}/cache`)).toBe(false);

  fs.writeFileSync(`${root}/test.csv`, 'filename,label\nn4.jpg,n03\nn5.jpg,n03\nmissing.jpg,n04\nn7.jpg,n04\n');
  await expectRejects(() => tasks.fewShot(options), 'INVALID_ARGUMENT', /test\.csv:4: .*missing\.jpg: no such file/);
  fs.writeFileSync(`${root}/test.csv`, 'filename,label\nn4.jpg,n03\nn5.jpg,n03\nn6.jpg,n04\nn7.jpg,n04\n');
  fs.writeFileSync(`${root}/images/n6.jpg`, 'not a picture');
  await expectRejects(() => tasks.fewShot(options), 'INVALID_ARGUMENT', /n6\.jpg: not a readable image \(neither PNG nor JPEG/);
  await expectRejects(() => tasks.fewShot({ ...options, root: undefined }), 'INVALID_ARGUMENT', /root: the mini-imagenet dataset needs its folder/);
  await expectRejects(() => tasks.fewShot({ ...options, root: `${folder}/nowhere` }), 'INVALID_ARGUMENT', /root: no such folder/);
  await expectRejects(() => tasks.fewShot({ ...options, dataset: 'folders' }), 'INVALID_ARGUMENT', /mini\/train: no such folder/);
});
