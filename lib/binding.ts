// Loads the native addon on first use, and tells the user exactly what to do when it cannot be loaded.
import * as path from 'node:path';
import type * as Binding from '../binding';
import { BilevelError } from './errors';

const addonFile = path.join(__dirname, '..', 'build', 'Release', 'bilevel.node');

function load(): typeof Binding {
  let addon: typeof Binding;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(addonFile) as typeof Binding;
  } catch (err) {
    throw new BilevelError(
      'NATIVE',
      `bilevel: could not load the native addon ${addonFile}.\n` +
        'If it was never built, make LibTorch available and rebuild:\n' +
        '  sudo bash node_modules/bilevel/scripts/install-libtorch.sh   # Debian/Ubuntu: libtorch-dev\n' +
        '  npm rebuild bilevel                                          # or set LIBTORCH=/path/to/libtorch first\n' +
        // The loader's first line says why; the rest is its require stack.
        `Loader said: ${(err as Error).message.split('\n')[0]}`,
      err as Error,
    );
  }
  addon.setErrorClass(BilevelError as never);
  return addon;
}

let loaded: typeof Binding | undefined;

/** The addon, loaded now if it was not yet; a BilevelError (NATIVE) with the fixes when it cannot be. */
export function loadNative(): typeof Binding {
  loaded ??= load();
  return loaded;
}

/**
 * The addon, loaded on the first access to any of its members, so that what needs no LibTorch
 * (the CLI's --help, --version, reading configs) works without it and `import 'bilevel'` is cheap.
 */
export const native: typeof Binding = new Proxy({} as typeof Binding, {
  get: (_, member) => Reflect.get(loadNative(), member),
});
