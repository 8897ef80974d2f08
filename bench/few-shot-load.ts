// npm run bench:few-shot -- --load: how long loading a few-shot dataset of image files takes, once
// decoding the files and once reading the cache. Writes a miniImageNet-shaped layout (root/images
// of 500 x 375 JPEGs, train.csv, test.csv) in a temporary folder, creates the task at 84 x 84 twice
// with one cache folder, and prints a markdown table (recorded in docs/benchmarks.md).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import jpeg from 'jpeg-js';
import { setNumThreads, tasks } from '../lib';

const width = 500, height = 375, imageSize = 84, perClass = 60;
const split = { train: 16, test: 5 };

/** A picture with smooth shapes and some grain, as photographs compress (not flat, not noise). */
function picture(seed: number): Buffer {
  const data = Buffer.alloc(width * height * 4, 255);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      const at = 4 * (row * width + col);
      for (let c = 0; c < 3; c++) {
        const wave = Math.sin((col + 7 * seed) / (17 + 5 * c)) * Math.cos((row - 3 * seed) / (23 + c));
        data[at + c] = Math.max(0, Math.min(255, Math.round(128 + 90 * wave + ((row * 31 + col * 17 + seed * 13 + c) % 23) - 11)));
      }
    }
  }
  return data;
}

function writeDataset(root: string): { images: number; bytes: number } {
  fs.mkdirSync(path.join(root, 'images'), { recursive: true });
  let images = 0, bytes = 0, label = 0;
  for (const [name, classes] of Object.entries(split)) {
    const rows = ['filename,label'];
    for (let c = 0; c < classes; c++, label++) {
      for (let i = 0; i < perClass; i++, images++) {
        const file = `n${label}_${i}.jpg`;
        const encoded = jpeg.encode({ data: picture(images), width, height }, 85).data;
        fs.writeFileSync(path.join(root, 'images', file), encoded);
        bytes += encoded.length;
        rows.push(`${file},n${label}`);
      }
    }
    fs.writeFileSync(path.join(root, `${name}.csv`), `${rows.join('\n')}\n`);
  }
  return { images, bytes };
}

async function secondsToLoad(root: string, cacheDir: string): Promise<number> {
  const start = process.hrtime.bigint();
  using task = await tasks.fewShot({ dataset: 'mini-imagenet', root, cacheDir, imageSize, evaluationEpisodes: 1 });
  void task;
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export async function fewShotLoadTable(): Promise<void> {
  const threads = Math.min(2, os.cpus().length);
  setNumThreads(threads);
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-load-'));
  try {
    const root = path.join(folder, 'mini');
    const cacheDir = path.join(folder, 'cache');
    const { images, bytes } = writeDataset(root);
    const decoded = await secondsToLoad(root, cacheDir);
    const cached = await secondsToLoad(root, cacheDir);
    const cacheBytes = fs.readdirSync(cacheDir).reduce((sum, name) => sum + fs.statSync(path.join(cacheDir, name)).size, 0);
    console.log(`few-shot load: mini-imagenet layout, ${images} JPEGs of ${width} x ${height} (${(bytes / 1e6).toFixed(1)} MB), ` +
      `resized to ${imageSize} x ${imageSize} RGB, ${threads} threads\n`);
    console.log('| load | seconds | ms / image |');
    console.log('|---|---:|---:|');
    console.log(`| decoding the files (and writing the cache, ${(cacheBytes / 1e6).toFixed(1)} MB) | ${decoded.toFixed(2)} | ${(1000 * decoded / images).toFixed(2)} |`);
    console.log(`| from the cache | ${cached.toFixed(2)} | ${(1000 * cached / images).toFixed(3)} |`);
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}
