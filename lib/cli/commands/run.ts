// bilevel run CONFIG.json [--out DIR] [--iterations N] [--device cpu|cuda|cuda:N] [--resume | --force] [--quiet]
//   [--nproc N]: one config run into a folder by the engine (lib/engine/run-folder.ts); with --nproc,
// as N local ranks (lib/cli/launch-ranks.ts). A rank of a process group (torchrun's variables in the
// environment) solves data-parallel with the others: rank 0 writes the folder, the others follow.
import * as path from 'node:path';
import { followRun } from '../../engine/follow-run';
import { claimOutputFolder } from '../../engine/output-folder';
import { runIntoFolder } from '../../engine/run-folder';
import { folderRunOptions, onlyConfigArgument, parseDeviceOption, parseIterationsOption, parseOptions } from '../arguments';
import { loadConfigFile, needNativeAddon } from '../config-file';
import { UsageError, asUsageErrors } from '../exit';
import { summaryLine } from '../format';
import { launchRanksIfAsked, processesOption } from '../launch-ranks';
import { createProgress } from '../progress';
import { runAsRank } from '../rank-roles';
import { printError, type Terminal } from '../terminal';

/** The exit code: 0, or 128 + the stop signal that interrupted the run. */
export async function runCommand(term: Terminal, args: string[]): Promise<number> {
  const { values, positionals } = parseOptions('run', args, {
    ...folderRunOptions,
    device: { type: 'string' },
    resume: { type: 'boolean', default: false },
    ...processesOption,
  });
  const configPath = onlyConfigArgument('run', positionals);
  const resume = values.resume === true;
  const force = values.force === true;
  if (resume && force) throw new UsageError('run: --resume continues the run in the output folder, --force replaces it: give one');
  const overrides = { iterations: parseIterationsOption(values.iterations), device: parseDeviceOption(values.device) };
  needNativeAddon();
  const launched = launchRanksIfAsked(term, ['run'], args, values.nproc);
  if (launched !== undefined) return launched;
  const loaded = await loadConfigFile(configPath, overrides);
  const outDir = values.out ?? path.join('runs', path.basename(configPath, path.extname(configPath)));
  const quiet = values.quiet === true;
  return runAsRank({
    claim: () => asUsageErrors(() => claimOutputFolder(outDir, { keep: resume, force, remedy: 'use --resume to continue the run there, or --force to replace it' })),
    follow: (options) => followRun(loaded, options),
    lead: async (signal, processGroup) => {
      const result = await runIntoFolder(loaded, outDir, {
        signal,
        resume,
        processGroup,
        progress: createProgress(term, quiet, loaded.config.iterations),
        warn: (message) => printError(term, message),
      });
      if (!quiet) term.stdout.write(`${summaryLine(result, outDir)}\n`);
      return result;
    },
  });
}
