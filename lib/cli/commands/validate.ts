// bilevel validate CONFIG.json. The schema is checked in TypeScript; the solver's combination
// check and the problem (its sizes, its data files) are the native core's, so without a loadable
// addon validate says what it could not check (on stderr) and still exits 0 for a config valid
// against the schema.
import { loadNative } from '../../binding';
import { describeSolver } from '../../run-config';
import { onlyConfigArgument, parseOptions } from '../arguments';
import { loadConfigFile, parseConfigFile } from '../config-file';
import { EXIT } from '../exit';
import { printError, type Terminal } from '../terminal';

export async function validateCommand(term: Terminal, args: string[]): Promise<number> {
  const { positionals } = parseOptions('validate', args, {});
  const configPath = onlyConfigArgument('validate', positionals);
  const parsed = parseConfigFile(configPath);
  const summary = `${parsed.problem.name}, ${describeSolver(parsed.solver)}, ${parsed.iterations} iterations`;
  try {
    loadNative();
  } catch {
    term.stdout.write(`${configPath}: valid against the schema (${summary})\n`);
    printError(term, 'bilevel: not checked: the solver combination and the problem, which need the native addon '
      + '(it could not be loaded; bilevel info says why and how to fix it)');
    return EXIT.success;
  }
  (await loadConfigFile(configPath)).problem.dispose();
  term.stdout.write(`${configPath}: valid (${summary})\n`);
  return EXIT.success;
}
