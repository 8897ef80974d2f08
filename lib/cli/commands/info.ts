// bilevel info [--json]: the package's and the native addon's versions and build, which addon file
// loaded and why; where none loads, the loader's whole message with the fixes (exit 1).
import * as path from 'node:path';
import type { NativeVersions } from '../../../binding';
import { addonChoice } from '../../binding';
import { errorRecord } from '../../engine/result';
import { versions } from '../../index';
import { packageVersion } from '../../package-version';
import { parseOptions } from '../arguments';
import { EXIT } from '../exit';
import type { Terminal } from '../terminal';

export function infoCommand(term: Terminal, args: string[]): number {
  const { values } = parseOptions('info', args, { json: { type: 'boolean', default: false } });
  const bilevel = packageVersion();
  let native: NativeVersions;
  try {
    native = versions();
  } catch (err) {
    // Where a user looks when the addon does not load: its whole message, with the fixes.
    const error = errorRecord(err);
    if (values.json) term.stdout.write(`${JSON.stringify({ bilevel, error })}\n`);
    else term.stdout.write(`bilevel ${bilevel}\n`);
    term.stderr.write(`${error.message}\n`);
    return EXIT.failure;
  }
  const addon = addonChoice();
  const info = {
    bilevel, libtorch: native.libtorch, cuda: native.cuda, threads: native.threads, napi: native.napi, build: native.build, addon,
  };
  const packageDir = path.join(__dirname, '..', '..', '..');
  const passedOver = addon.passedOver.map((p) => `\n  passed over ${p.variant}: ${p.reason}`).join('');
  if (values.json) {
    term.stdout.write(`${JSON.stringify(info)}\n`);
  } else {
    term.stdout.write(
      `bilevel ${info.bilevel}\nlibtorch ${info.libtorch}\ncuda ${info.cuda ? 'available' : 'not available'}\n` +
        `threads ${info.threads}\nnapi ${info.napi}\n` +
        `build ${info.build.type}, ${info.build.compiler}, C++ ${info.build.cxx}, cxx11 ABI ${info.build.cxx11Abi ? 'on' : 'off'}, ${info.build.parallel}\n` +
        `addon ${path.relative(packageDir, addon.file)} (${addon.variant}: ${addon.why})${passedOver}\n`,
    );
  }
  return EXIT.success;
}
