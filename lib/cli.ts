#!/usr/bin/env node
// The `bilevel` command: runs described by JSON config files (docs/config.md).
//   bilevel run CONFIG.json [--out DIR] [--iterations N] [--device cpu|cuda|cuda:N] [--resume | --force] [--quiet] [--nproc N]
//   bilevel compare CONFIG.json --methods rhg,ait,... [--out DIR] [--iterations N] [--force] [--quiet]
//   bilevel validate CONFIG.json
//   bilevel nas search SEARCH.json [--out DIR] [--resume | --force] [--quiet]; bilevel nas derive RUN_DIR
//   bilevel nas sweep SWEEP.json [--out DIR]
//   bilevel info [--json]
//   bilevel --version
// This file only dispatches: each command parses its arguments in lib/cli/commands/ and wires the
// engine (lib/engine/), which runs configs into folders.
// stdout carries only results (summary lines, tables, JSON); progress and messages go to stderr.
// Exit codes: 0 success, 1 run failure, 2 invalid config or arguments, 128 + signal number when
// SIGINT / SIGTERM / SIGHUP stopped a run (its outputs are still complete and valid).
import { compareCommand } from './cli/commands/compare';
import { infoCommand } from './cli/commands/info';
import { NAS_USAGE, nasCommand } from './cli/commands/nas';
import { runCommand } from './cli/commands/run';
import { validateCommand } from './cli/commands/validate';
import { EXIT, UsageError } from './cli/exit';
import { printError, processTerminal, type Terminal } from './cli/terminal';
import { methodNames } from './method-presets';
import { packageVersion } from './package-version';

export type { Terminal } from './cli/terminal';

const USAGE = `usage:
  bilevel run CONFIG.json [--out DIR] [--iterations N] [--device cpu|cuda|cuda:N] [--resume | --force] [--quiet] [--nproc N]
  bilevel compare CONFIG.json --methods ${methodNames.join(',')} [--out DIR] [--iterations N] [--force] [--quiet]
  bilevel validate CONFIG.json
${NAS_USAGE}
  bilevel info [--json]
  bilevel --version
A non-empty --out folder is refused unless --resume continues the run there or --force replaces it.
--nproc N runs N local ranks data-parallel (each on its share of every batch; rank 0 writes the folder).
The config format: docs/config.md; its JSON Schema: schema/bilevel-run.schema.json.`;

/** Runs one command line (without `node cli.js`) and returns the exit code. */
export async function main(argv: string[], term: Terminal = processTerminal): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(term, args);
      case 'compare':
        return await compareCommand(term, args);
      case 'validate':
        return await validateCommand(term, args);
      case 'nas':
        return await nasCommand(term, args);
      case 'info':
        return infoCommand(term, args);
      case 'help':
      case '--help':
      case '-h':
        term.stdout.write(`${USAGE}\n`);
        return EXIT.success;
      case '--version':
      case '-V':
        term.stdout.write(`${packageVersion()}\n`);
        return EXIT.success;
      default: {
        const fault = command === undefined ? 'expected a command' : `unknown command ${JSON.stringify(command)}`;
        throw new UsageError(`${fault} (run, compare, validate, nas or info; bilevel --help for usage)`);
      }
    }
  } catch (err) {
    printError(term, err instanceof Error ? err.message : String(err));
    return err instanceof UsageError ? EXIT.invalid : EXIT.failure;
  }
}

if (require.main === module) {
  // After a hangup the terminal is gone and writes to it fail (EIO; EPIPE for a closed pipe): the
  // run must still finish its outputs and exit with 128 + SIGHUP, not die of an unhandled error.
  [process.stdout, process.stderr].forEach((stream) => stream.on('error', () => undefined));
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
