// Tiny IDX datasets (the MNIST / Fashion-MNIST file format) written for the tests of the tasks that
// read them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

/** An IDX image file of `count` images of rows x cols; pixel(i, j): pixel j of image i. */
export function idxImages(count: number, rows: number, cols: number, pixel: (i: number, j: number) => number): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x803, 0);
  header.writeUInt32BE(count, 4);
  header.writeUInt32BE(rows, 8);
  header.writeUInt32BE(cols, 12);
  const size = rows * cols;
  const body = Buffer.alloc(count * size);
  for (let i = 0; i < count * size; i++) body[i] = pixel(Math.floor(i / size), i % size);
  return Buffer.concat([header, body]);
}

export function idxLabels(labels: number[]): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(0x801, 0);
  header.writeUInt32BE(labels.length, 4);
  return Buffer.concat([header, Buffer.from(labels)]);
}

export interface IdxDatasetShape {
  train: number;
  test: number;
  side: number;
}

/**
 * Training image i has every pixel equal to i and test image i every pixel 100 + i, labels i % 10,
 * so a row of features tells which image it came from. `edit` replaces files by name.
 */
export function writeIdxDataset(
  dir: string, gzip = false, edit: Partial<Record<string, Buffer>> = {}, shape: IdxDatasetShape = { train: 40, test: 20, side: 4 },
): void {
  const { train, test, side } = shape;
  const files: Record<string, Buffer> = {
    'train-images-idx3-ubyte': idxImages(train, side, side, (i) => i),
    'train-labels-idx1-ubyte': idxLabels(Array.from({ length: train }, (_, i) => i % 10)),
    't10k-images-idx3-ubyte': idxImages(test, side, side, (i) => 100 + i),
    't10k-labels-idx1-ubyte': idxLabels(Array.from({ length: test }, (_, i) => i % 10)),
    ...edit,
  };
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) {
    if (gzip) fs.writeFileSync(path.join(dir, `${name}.gz`), zlib.gzipSync(bytes!));
    else fs.writeFileSync(path.join(dir, name), bytes!);
  }
}
