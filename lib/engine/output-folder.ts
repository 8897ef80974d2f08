// The folder a run or a comparison writes into: made (also where node's mkdir would loop), claimed
// (a folder holding anything is refused unless the caller continues or replaces what is there),
// and written durably (a reader sees a file's old content or its new, never a part).
import * as fs from 'node:fs';
import * as path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { BilevelError } from '../errors';
import { isMethodName } from '../method-presets';

/**
 * Writes file atomically (write-file-atomic: a temporary file beside it, fsync, rename), then
 * fsyncs the folder so the rename survives a crash.
 */
export function writeFileDurably(file: string, text: string): void {
  writeFileAtomic.sync(file, text);
  const folder = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(folder);
  } finally {
    fs.closeSync(folder);
  }
}

/**
 * mkdir -p, without fs.mkdirSync's `recursive`: where a parent exists but the folder still cannot
 * be made with ENOENT (e.g. under /proc), node retries the parent and the folder forever. Here a
 * folder is tried once, and once more after its parent was made.
 */
function makeFolder(folder: string, parentMade = false): void {
  try {
    fs.mkdirSync(folder);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && fs.statSync(folder).isDirectory()) return;
    if (code !== 'ENOENT' || parentMade) throw err;
    makeFolder(path.dirname(folder));
    makeFolder(folder, true);
  }
}

/** Makes an output folder; one that cannot be made is an IO error naming the folder and the reason. */
export function makeOutputFolder(folder: string): void {
  try {
    makeFolder(folder);
  } catch (err) {
    // node's message is "CODE: reason, syscall 'path'": keep "CODE: reason".
    const reason = (err as Error).message.split(', ')[0];
    throw new BilevelError('IO', `${folder}: cannot create the output folder (${reason})`, err as Error);
  }
}

/** The files a run or a comparison writes, also under the temporary names they have while written. */
const OUTPUT_FILE = /^(?:checkpoint\.bin|metrics\.jsonl|result\.json|compare\.json|report\.html|[\w-]+\.svg)(?:\.partial|\.[0-9a-f]+)?$/;

/** Removes what a run or a comparison wrote into folder (a comparison's method folders too); other files stay. */
function clearOutputs(folder: string): void {
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    const entryPath = path.join(folder, entry.name);
    if (entry.isFile() && OUTPUT_FILE.test(entry.name)) {
      fs.rmSync(entryPath);
    } else if (entry.isDirectory() && isMethodName(entry.name)) {
      clearOutputs(entryPath);
      if (fs.readdirSync(entryPath).length === 0) fs.rmdirSync(entryPath);
    }
  }
}

/**
 * Makes the output folder of a run or a comparison. One with anything in it is refused
 * (INVALID_ARGUMENT: it holds another run's outputs, or someone's files) unless `keep` (a resumed
 * run continues there) or `force` (the previous outputs are removed); `remedy` ends the refusal.
 */
export function claimOutputFolder(folder: string, { keep, force, remedy }: { keep: boolean; force: boolean; remedy: string }): void {
  makeOutputFolder(folder);
  if (keep || fs.readdirSync(folder).length === 0) return;
  if (!force) throw new BilevelError('INVALID_ARGUMENT', `${folder}: the output folder is not empty; ${remedy}`);
  clearOutputs(folder);
}
