// bilevel nas search SEARCH.json [--out DIR] [--resume | --force] [--quiet] [--nproc N]: one
// architecture search (lib/nas/search.ts) into a folder, a line per epoch on stdout, genotype.json
// at the end; with --nproc, as N local ranks (lib/cli/launch-ranks.ts), rank 0 writing the folder.
// bilevel nas derive RUN_DIR: the genotype of a search folder's final alphas, as JSON on stdout.
// bilevel nas retrain RETRAIN.json [--genotype FILE] [--out DIR] [--resume | --force] [--quiet] [--nproc N]:
// a genotype's evaluation network trained from scratch (lib/nas/retrain.ts), a line per epoch; with
// --nproc, as N ranks as nas search does.
// bilevel nas sweep SWEEP.json [--out DIR]: every method with every seed (lib/nas/sweep.ts), each
// search's end on stderr, the summary table on stdout; the same command continues a stopped sweep.
import * as path from 'node:path';
import { claimOutputFolder, writeFileDurably } from '../../engine/output-folder';
import { readResultFile } from '../../engine/result';
import { StopSignals } from '../../engine/signals';
import { deriveGenotype } from '../../nas/genotype';
import { followRetrain, nasRetrainRunConfig, retrain, type NasRetrainEpochRecord, type NasRetrainSettings } from '../../nas/retrain';
import { followSearch, nasRunConfig, search, type NasEpochRecord, type NasSearchSettings } from '../../nas/search';
import { NasSweepSchema, sweep, type NasSweepSettings, type NasSweepSummary, type Spread } from '../../nas/sweep';
import { validate } from '../../config';
import { parseJson } from '../../run-config';
import { tensor } from '../../tensor';
import { parseOptions } from '../arguments';
import { needNativeAddon, readConfigFile } from '../config-file';
import { EXIT, UsageError, asUsageErrors } from '../exit';
import { formatNumber, summaryLine } from '../format';
import { launchRanksIfAsked, processesOption } from '../launch-ranks';
import { runAsRank } from '../rank-roles';
import type { Terminal } from '../terminal';

export const NAS_USAGE = `  bilevel nas search SEARCH.json [--out DIR] [--resume | --force] [--quiet] [--nproc N]
  bilevel nas derive RUN_DIR
  bilevel nas retrain RETRAIN.json [--genotype GENOTYPE.json] [--out DIR] [--resume | --force] [--quiet]
  bilevel nas sweep SWEEP.json [--out DIR]`;

/** Settings whose task.root, when relative, is taken from the file's folder. */
function rootFromFile<S extends { task?: { root?: string } }>(settings: S, file: string): S {
  const root = settings.task?.root;
  return root === undefined ? settings : { ...settings, task: { ...settings.task, root: path.resolve(path.dirname(file), root) } };
}

/** The file's search settings, validated. */
function readSearchFile(file: string): NasSearchSettings {
  const settings = asUsageErrors(() => parseJson(readConfigFile(file), file)) as NasSearchSettings;
  asUsageErrors(() => nasRunConfig(settings, `${file}: search`));
  return rootFromFile(settings, file);
}

/** The file's sweep settings, validated. */
function readSweepFile(file: string): NasSweepSettings {
  const settings = asUsageErrors(() => validate(NasSweepSchema, parseJson(readConfigFile(file), file), `${file}: sweep`));
  return settings.search === undefined ? settings : { ...settings, search: rootFromFile(settings.search, file) };
}

const spreadText = (s: Spread, digits = 2, scale = 100) => `${(scale * s.mean).toFixed(digits)} +- ${(scale * s.std).toFixed(digits)}`;

/** The sweep's summary as a markdown table. */
export function summaryTable(summary: NasSweepSummary): string {
  const selects = summary.methods.some((m) => m.selected !== undefined);
  const selected = (m: NasSweepSummary['methods'][number]) => (m.selected === undefined ? ''
    : ` seed ${m.selected.seed}: ${(100 * m.selected.validationAccuracy).toFixed(2)} / ${(100 * m.selected.testAccuracy).toFixed(2)} |`);
  const rows = summary.methods.map((m) =>
    `| ${m.method} | ${m.runs} | ${spreadText(m.testAccuracy)} | ${spreadText(m.validationAccuracy)} | ${spreadText(m.normalSkipConnections, 1, 1)} | ${spreadText(m.parameters, 2, 1e-6)} |${selects ? selected(m) : ''}`);
  const head = '| method | searches | test accuracy % | validation accuracy % | skip connections | params (M) |';
  const line = '|---|---|---|---|---|---|';
  return selects
    ? [`${head} selected by short retraining (held-out / test %) |`, `${line}---|`, ...rows].join('\n')
    : [head, line, ...rows].join('\n');
}

async function sweepCommand(term: Terminal, args: string[]): Promise<number> {
  const { values, positionals } = parseOptions('nas sweep', args, { out: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError(`nas sweep: expected one SWEEP.json argument; got ${positionals.length}`);
  const [file] = positionals;
  const settings = readSweepFile(file);
  const out = values.out ?? path.join('runs', path.basename(file, path.extname(file)));
  const retrains = settings.shortRetrain !== undefined;
  using stop = new StopSignals();
  const summary = await asUsageErrors(() => sweep({
    ...settings, out, signal: stop.signal,
    onRun: (run, runs) => {
      const ended = runs.filter((r) => r.status === 'failed' || (r.status === 'completed' && (!retrains || ['completed', 'failed'].includes(r.retrain?.status ?? '')))).length;
      // The stage that changed: the short retraining once the search has completed.
      const { status, error } = run.status === 'completed' && run.retrain !== undefined ? run.retrain : run;
      const stage = run.status === 'completed' && run.retrain !== undefined ? ' retrain' : '';
      term.stderr.write(`[${ended}/${runs.length}] ${run.name}${stage}: ${status}${error === undefined ? '' : ` (${error.split('\n').at(-1)})`}\n`);
    },
  }));
  term.stdout.write(`${summaryTable(summary)}\n`);
  if (summary.stopped) return stop.exitCode();
  return summary.failed.length > 0 ? EXIT.failure : EXIT.success;
}

const percent = (value: number) => `${(100 * value).toFixed(2)}%`;

/** "epoch 2: train 41.20% valid 39.80% test 40.10%, skip 1, Kbar 1, F 1.52, 12.3 s" */
export function epochLine(e: NasEpochRecord): string {
  const m = e.metrics;
  return `epoch ${e.epoch}: train ${percent(m.trainAccuracy)} valid ${percent(m.validationAccuracy)} test ${percent(m.testAccuracy)}, `
    + `skip ${m.normalSkipConnections}, Kbar ${formatNumber(e.kBar)}, F ${formatNumber(e.upper)}, ${e.seconds.toFixed(1)} s`;
}

/** "epoch 2: test 41.20%, f 1.52, 12.3 s" */
export function retrainEpochLine(e: NasRetrainEpochRecord): string {
  return `epoch ${e.epoch}: test ${percent(e.metrics.testAccuracy)}, f ${formatNumber(e.lower)}, ${e.seconds.toFixed(1)} s`;
}

/** What a command that runs one settings file into a folder (search, retrain; --nproc for both) reads off its arguments. */
function folderRun(command: string, args: string[], extra: Record<string, { type: 'string' }> = {}) {
  const { values, positionals } = parseOptions(`nas ${command}`, args, {
    out: { type: 'string' }, resume: { type: 'boolean', default: false }, force: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false }, ...processesOption, ...extra,
  });
  const what = command.toUpperCase();
  if (positionals.length !== 1) throw new UsageError(`nas ${command}: expected one ${what}.json argument; got ${positionals.length}`);
  const [file] = positionals;
  const resume = values.resume === true;
  if (resume && values.force === true) throw new UsageError(`nas ${command}: --resume continues the run in the output folder, --force replaces it: give one`);
  needNativeAddon();
  const out = (values.out as string | undefined) ?? path.join('runs', path.basename(file, path.extname(file)));
  const claim = () => asUsageErrors(() =>
    claimOutputFolder(out, { keep: resume, force: values.force === true, remedy: 'use --resume to continue the run there, or --force to replace it' }));
  const text = (name: string) => (values as Record<string, unknown>)[name] as string | undefined;
  return { file, out, resume, quiet: values.quiet === true, nproc: text('nproc'), text, claim };
}

async function retrainCommand(term: Terminal, args: string[]): Promise<number> {
  const { file, out, resume, quiet, nproc, text, claim } = folderRun('retrain', args, { genotype: { type: 'string' } });
  const read = asUsageErrors(() => parseJson(readConfigFile(file), file)) as NasRetrainSettings;
  const genotypeFile = text('genotype');
  const withGenotype = genotypeFile === undefined ? read
    : { ...read, task: { ...read.task, genotype: asUsageErrors(() => parseJson(readConfigFile(genotypeFile), genotypeFile)) } } as NasRetrainSettings;
  asUsageErrors(() => nasRetrainRunConfig(withGenotype, `${file}: retrain`));
  const settings = rootFromFile(withGenotype, file);
  const launched = launchRanksIfAsked(term, ['nas', 'retrain'], args, nproc);
  if (launched !== undefined) return launched;
  return runAsRank({
    claim,
    follow: (options) => followRetrain(settings, options),
    lead: async (signal, processGroup) => {
      const trained = await retrain({
        ...settings, out, resume, signal, processGroup,
        onEpoch: (record) => quiet || term.stdout.write(`${retrainEpochLine(record)}\n`),
      });
      if (!quiet) term.stdout.write(`${summaryLine(trained.result, out)}; test accuracy ${percent(trained.testAccuracy)}, ${trained.parameters} parameters\n`);
      return trained.result;
    },
  });
}

async function searchCommand(term: Terminal, args: string[]): Promise<number> {
  const { file, out, resume, quiet, nproc, claim } = folderRun('search', args);
  const settings = readSearchFile(file);
  const launched = launchRanksIfAsked(term, ['nas', 'search'], args, nproc);
  if (launched !== undefined) return launched;
  return runAsRank({
    claim,
    follow: (options) => followSearch(settings, options),
    lead: async (signal, processGroup) => {
      const searched = await search({
        ...settings, out, resume, signal, processGroup, onEpoch: (record) => quiet || term.stdout.write(`${epochLine(record)}\n`),
      });
      writeFileDurably(path.join(out, 'genotype.json'), `${JSON.stringify(searched.genotype)}\n`);
      if (!quiet) term.stdout.write(`${summaryLine(searched.result, out)}; genotype in ${path.join(out, 'genotype.json')}\n`);
      return searched.result;
    },
  });
}

function deriveCommand(term: Terminal, args: string[]): number {
  const { positionals } = parseOptions('nas derive', args, {});
  if (positionals.length !== 1) throw new UsageError(`nas derive: expected one RUN_DIR argument; got ${positionals.length}`);
  const result = asUsageErrors(() => readResultFile(positionals[0]));
  const problem = result.config.problem as { name: string; nodes?: number };
  if (result.status === 'failed' || problem.name !== 'nas') {
    throw new UsageError(`nas derive: ${positionals[0]} holds no finished architecture search (a nas run's result.json)`);
  }
  needNativeAddon();
  const alphas = (result.x as number[][][]).map((alpha) => tensor(alpha.flat(), [alpha.length, alpha[0].length]));
  term.stdout.write(`${JSON.stringify(deriveGenotype(alphas, { nodes: problem.nodes ?? 4 }))}\n`);
  return EXIT.success;
}

/** bilevel nas search | derive | retrain | sweep. */
export async function nasCommand(term: Terminal, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'search') return searchCommand(term, rest);
  if (sub === 'derive') return deriveCommand(term, rest);
  if (sub === 'retrain') return retrainCommand(term, rest);
  if (sub === 'sweep') return sweepCommand(term, rest);
  throw new UsageError(`nas: expected search, derive, retrain or sweep; got ${sub === undefined ? 'nothing' : JSON.stringify(sub)}`);
}
