// bilevel compare CONFIG.json --methods rhg,ait,... [--out DIR] [--iterations N] [--force] [--quiet]:
// the methods on the config's problem, each run into OUT/METHOD by the engine
// (lib/engine/compare.ts), then a Markdown table of the outcomes on stdout.
import * as path from 'node:path';
import { Align, getMarkdownTable } from 'markdown-table-ts';
import { compareMethods, methodConfigs, sharedProblems, writeComparison, type ComparedMethod, type CompareObserver } from '../../engine/compare';
import { claimOutputFolder } from '../../engine/output-folder';
import { StopSignals } from '../../engine/signals';
import { createProblem } from '../../run-config';
import { folderRunOptions, onlyConfigArgument, parseIterationsOption, parseMethodsOption, parseOptions } from '../arguments';
import { needNativeAddon, parseConfigFile } from '../config-file';
import { EXIT, asUsageErrors } from '../exit';
import { formatNumber, summaryLine } from '../format';
import { createProgress } from '../progress';
import { printError, type Terminal } from '../terminal';

const cell = (value: number | null | undefined, digits = 6) =>
  (value === null || value === undefined ? '-' : formatNumber(Number(value.toPrecision(digits))));

/** The Markdown table: method, final F, Kbar, ms / iteration, peak MiB, then the task metrics or the distance to x*. */
function comparisonTable(methods: ComparedMethod[]): string {
  const metricNames = [...new Set(methods.flatMap((m) => Object.keys(m.metrics ?? {})))];
  const withDistance = methods.some((m) => m.distanceToOptimum !== null);
  // markdown-table-ts does not escape cells: the pipes of the norm are escaped here.
  const head = ['method', 'final F', 'Kbar (last)', 'ms / iteration', 'peak MiB', ...(withDistance ? ['\\|\\|x - x*\\|\\| / \\|\\|x*\\|\\|'] : []), ...metricNames];
  const body = methods.map((m) => [
    m.status === 'completed' ? m.method : `${m.method} (${m.status})`,
    cell(m.upper), cell(m.kBarLast), cell(m.msPerIteration, 3), cell(m.peakBytes === null ? null : m.peakBytes / 2 ** 20, 3),
    ...(withDistance ? [cell(m.distanceToOptimum, 4)] : []),
    ...metricNames.map((name) => cell(m.metrics?.[name], 4)),
  ]);
  return getMarkdownTable({ table: { head, body }, alignment: head.map((_, i) => (i === 0 ? Align.Left : Align.Right)) });
}

/** Each method's progress and outcome on the terminal, labelled with its name. */
const terminalObserver = (term: Terminal, quiet: boolean): CompareObserver => ({
  progress: (method, iterations) => createProgress(term, quiet, iterations, `${method}: `),
  finished: (method, result, methodDir) => {
    if (!quiet) term.stdout.write(`${method}: ${summaryLine(result, methodDir)}\n`);
  },
  failed: (method, error) => printError(term, `${method}: ${error.message}`),
});

/** The exit code: 128 + the stop signal that interrupted a method, else 1 when one failed, else 0. */
export async function compareCommand(term: Terminal, args: string[]): Promise<number> {
  const { values, positionals } = parseOptions('compare', args, { ...folderRunOptions, methods: { type: 'string' } });
  const configPath = onlyConfigArgument('compare', positionals);
  const methods = parseMethodsOption(values.methods);
  const overrides = { iterations: parseIterationsOption(values.iterations) };
  needNativeAddon();
  const base = parseConfigFile(configPath, overrides);
  const configs = asUsageErrors(() => methodConfigs(base, methods));
  const problem = await asUsageErrors(() => createProblem(base, path.dirname(configPath)));
  const outDir = values.out ?? path.join('runs', `${path.basename(configPath, path.extname(configPath))}-compare`);
  asUsageErrors(() => claimOutputFolder(outDir, { keep: false, force: values.force === true, remedy: 'use --force to replace it' }));
  // The stop signals interrupt the methods; compare.json and the report are written after them.
  const stop = new StopSignals();
  const problemOf = sharedProblems(base, problem, (config) => createProblem(config, path.dirname(configPath)));
  const compared = await compareMethods(configs, problemOf, outDir, stop.signal, terminalObserver(term, values.quiet === true))
    .finally(() => stop.release());
  await writeComparison(outDir, base, compared);
  term.stdout.write(`${comparisonTable(compared)}\n`);
  if (compared.some((m) => m.status === 'interrupted')) return stop.exitCode();
  return compared.some((m) => m.status === 'failed') ? EXIT.failure : EXIT.success;
}
