// Loads the native addon once and tells the user exactly what to do when it cannot be loaded.
import * as path from 'node:path';
import type * as Binding from '../binding';
import { BilevelError } from './errors';

function load(): typeof Binding {
  const file = path.join(__dirname, '..', 'build', 'Release', 'bilevel.node');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as typeof Binding;
  } catch (err) {
    throw new Error(
      `bilevel: could not load the native addon ${file}.\n` +
        'If it was never built, make LibTorch available and rebuild:\n' +
        '  sudo bash node_modules/bilevel/scripts/install-libtorch.sh   # Debian/Ubuntu: libtorch-dev\n' +
        '  npm rebuild bilevel                                          # or set LIBTORCH=/path/to/libtorch first\n' +
        `Loader said: ${(err as Error).message}`,
    );
  }
}

export const native: typeof Binding = load();
native.setErrorClass(BilevelError as never);
