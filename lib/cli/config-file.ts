// The config file a command is given: read (a file that cannot be read is a UsageError naming it),
// then parsed, or loaded (problem and solver built). Refusals of the config exit with 2; a missing
// device or a native failure with 1.
import * as fs from 'node:fs';
import { loadNative } from '../binding';
import { loadRunConfig, parseRunConfig, type LoadedRun, type RunConfig, type RunConfigOverrides } from '../run-config';
import { UsageError, asUsageErrors } from './exit';

export function readConfigFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: cannot read the config (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** The validated config (defaults filled in, overrides applied); builds nothing. */
export function parseConfigFile(file: string, overrides: RunConfigOverrides = {}): RunConfig {
  const text = readConfigFile(file);
  return asUsageErrors(() => parseRunConfig(text, file, overrides));
}

/** The validated config with its problem and solver. */
export function loadConfigFile(file: string, overrides: RunConfigOverrides = {}): Promise<LoadedRun> {
  const text = readConfigFile(file);
  return asUsageErrors(() => loadRunConfig(text, file, overrides));
}

/**
 * Loads the native addon for a command that needs it (run, compare) before the config is read, so
 * that one that does not load is reported as such, not under the config path of the first native check.
 */
export function needNativeAddon(): void {
  loadNative();
}
