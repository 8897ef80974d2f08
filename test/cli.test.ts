// The `bilevel` command end to end, as a child process on the toy problems: run and its outputs,
// validate, info, exit codes, malformed configs (message and JSON path), interrupted and failed
// runs, output folders (made, refused, replaced), the commands that work without the native
// addon, and the committed JSON Schema and docs against the schemas they describe. Each child
// process loads LibTorch (about 2 s of CPU), so the long tables of refusals call the same main()
// in this process, and a few of them also go through a child process.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  BammSchema, dynamicsSchemas, hypergradientSchemas, initAuxiliarySchemas, optimizerSchemas, PriorSchema, versions,
} from '../lib';
import { main } from '../lib/cli';
import { problemSchemas } from '../lib/run-config';
import { schemaFiles } from '../lib/schema-files';

const root = path.join(__dirname, '..');
const cliSource = path.join(root, 'lib', 'cli.ts');
const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
const packageVersion = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
const aitExample = path.join(root, 'examples', 'configs', 'nonconvex-ait.json');

const RECORD_FIELDS = [
  'iteration', 'upper', 'lower', 'steps', 'gradientNormX', 'gradientNormZ', 'unrollMs', 'hypergradientMs', 'updateMs',
  'peakBytes',
].sort();

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

let workDir: string;
beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-cli-'));
});
afterAll(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});

/**
 * The CLI from its TypeScript source, in workDir (where the default runs/ lands). One that hangs is
 * killed after a minute, with SIGKILL: a process stuck in a synchronous loop never runs its handlers.
 */
function startCli(args: string[], source = cliSource, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(process.execPath, ['--import', tsxLoader, source, ...args],
    { cwd: workDir, env, stdio: 'pipe', timeout: 60_000, killSignal: 'SIGKILL' });
}

function finished(child: ChildProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const cli = (args: string[]) => finished(startCli(args));

/** main() of lib/cli.ts in this process, its output collected. */
async function cliInProcess(args: string[]): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } });
  return { code, stdout, stderr };
}

/** Runs fn over items with at most `limit` at once: each CLI process loads LibTorch. */
async function inBatches<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit) results.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return results;
}

function writeConfig(name: string, config: unknown): string {
  const file = path.join(workDir, `${name}.json`);
  fs.writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return file;
}

const readJson = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
const readMetrics = (dir: string) =>
  fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, number>);

const aitSolver = {
  dynamics: { type: 'gd', lr: 0.1, steps: 50 },
  hypergradient: { type: 'reverse' },
  initAuxiliary: { optimizer: 'sgd', lr: 0.2 },
  truncation: 'pessimistic',
  upper: { optimizer: 'sgd', lr: 0.01 },
};
const nonconvexConfig = { problem: { name: 'toy/nonconvex', x0: [-6], y0: [0] }, solver: aitSolver, iterations: 5 };

describe('run', () => {
  // One config per toy problem, each with a different solver; few iterations, all at once.
  const toyRuns = [
    {
      name: 'convex',
      config: { problem: { name: 'toy/convex', n: 4 }, solver: {
        dynamics: { type: 'gd', lr: 0.5, steps: 20 }, hypergradient: { type: 'cg' }, upper: { optimizer: 'adam', lr: 0.01 },
      }, iterations: 1000 },
      // --iterations overrides the config's 1000.
      extraArgs: ['--iterations', '4'],
      iterations: 4, yVariables: 2, zVariables: 0,
    },
    {
      name: 'singleton',
      config: { problem: { name: 'toy/singleton', n: 3 }, solver: {
        dynamics: { type: 'nesterov', lr: 0.002, steps: 10 }, hypergradient: { type: 'reverse' },
        initAuxiliary: { optimizer: 'momentum', lr: 0.05 }, upper: { optimizer: 'sgd', lr: 0.01 },
      }, iterations: 6, dtype: 'float32' },
      extraArgs: [], iterations: 6, yVariables: 2, zVariables: 2,
    },
    { name: 'nonconvex', config: nonconvexConfig, extraArgs: [], iterations: 5, yVariables: 1, zVariables: 1 },
    {
      name: 'bamm-convex',
      config: { problem: { name: 'toy/bamm-convex', n: 10 }, solver: { type: 'bamm' }, iterations: 7, seed: 3 },
      extraArgs: [], iterations: 7, yVariables: 2, zVariables: 0,
    },
  ];

  test('each toy problem: one metrics line per iteration with the record fields, and result.json', async () => {
    const outcomes = await inBatches(toyRuns, 4, (run) =>
      cli(['run', writeConfig(run.name, run.config), '--out', path.join(workDir, 'out', run.name), '--quiet', ...run.extraArgs]));
    toyRuns.forEach((run, i) => {
      const { code, stdout, stderr } = outcomes[i];
      expect({ name: run.name, code, stderr }).toEqual({ name: run.name, code: 0, stderr: '' });
      expect(stdout).toBe(''); // --quiet
      const dir = path.join(workDir, 'out', run.name);
      const records = readMetrics(dir);
      expect(records).toHaveLength(run.iterations);
      records.forEach((record, t) => {
        // Toys know their optimum: some records also carry the distance to it (for the report).
        expect(Object.keys(record).filter((k) => k !== 'distanceToOptimum').sort()).toEqual(RECORD_FIELDS);
        expect(record.iteration).toBe(t);
      });
      expect(records.at(-1)!.distanceToOptimum).toBeGreaterThanOrEqual(0);
      const result = readJson(path.join(dir, 'result.json'));
      const steps = records.map((r) => r.steps);
      expect(result).toMatchObject({
        status: 'completed',
        iterations: run.iterations,
        upper: records[records.length - 1].upper,
        lower: records[records.length - 1].lower,
        kBar: { first: steps[0], last: steps[steps.length - 1], min: Math.min(...steps), max: Math.max(...steps) },
        versions: { bilevel: packageVersion, libtorch: versions().libtorch },
      });
      expect(result.distanceToOptimum).toEqual(expect.any(Number));
      expect(result.wallTimeSeconds).toBeGreaterThan(0);
      expect(result.x).toHaveLength(1);
      expect(result.y).toHaveLength(run.yVariables);
      expect(result.z).toHaveLength(run.zVariables);
      // The config echoed as run: overrides applied, defaults filled in.
      const config = result.config as Record<string, unknown>;
      expect(config).toMatchObject({ ...run.config, iterations: run.iterations });
      expect(config).toMatchObject({ seed: expect.any(Number), dtype: expect.any(String), device: 'cpu' });
    });
    const singleton = readJson(path.join(workDir, 'out', 'singleton', 'result.json'));
    expect((singleton.config as { solver: { lowerStart: string } }).solver.lowerStart).toBe('fixed');
  });

  test('the example: AIT on Eq. 20 from (-6, 0) reaches x* = 3 pi / 4; progress on stderr, the summary on stdout; default output dir', async () => {
    fs.copyFileSync(aitExample, path.join(workDir, 'nonconvex-ait.json'));
    const { code, stdout, stderr } = await cli(['run', 'nonconvex-ait.json']);
    expect(code).toBe(0);
    expect(fs.existsSync(path.join(workDir, 'runs', 'nonconvex-ait', 'checkpoint.bin'))).toBe(true);
    // Not a terminal: a plain progress line every 10%, on stderr.
    const progress = stderr.trim().split('\n');
    expect(progress.map((line) => line.split(' ').slice(0, 2).join(' ')))
      .toEqual(Array.from({ length: 10 }, (_, i) => `iteration ${60 * (i + 1)}/600`));
    expect(progress[0]).toMatch(/^iteration 60\/600 \(10%\) {2}F \S+ {2}Kbar \d+ {2}[\d.]+ it\/s {2}ETA [\d.]+ s$/);
    // stdout holds the result only.
    expect(stdout).toMatch(/^completed 600 iterations in [\d.]+ s: F = \S+, \|\|x - x\*\|\| \/ \|\|x\*\|\| = \S+; outputs in runs\/nonconvex-ait\n$/);
    const dir = path.join(workDir, 'runs', 'nonconvex-ait');
    expect(readMetrics(dir)).toHaveLength(600);
    const result = readJson(path.join(dir, 'result.json'));
    expect(result.distanceToOptimum).toBeLessThan(0.05);
    expect((result.x as number[][])[0][0]).toBeCloseTo((3 * Math.PI) / 4, 1);
    expect(result.kBar).toMatchObject({ last: expect.any(Number) });
  });

  // SIGHUP comes when the terminal closes: the pipes are closed first, as the terminal would be gone.
  test.each([['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const)('%s stops between iterations and leaves valid outputs', async (signal, exitCode) => {
    const out = path.join(workDir, 'out', `interrupted-${signal}`);
    const hangup = signal === 'SIGHUP';
    const child = startCli(['run', writeConfig('long', { ...nonconvexConfig, iterations: 1_000_000 }), '--out', out, ...(hangup ? [] : ['--quiet'])]);
    const done = finished(child);
    const metricsFile = path.join(out, 'metrics.jsonl');
    // Wait for the first records, then interrupt.
    for (let waited = 0; !(fs.existsSync(metricsFile) && fs.readFileSync(metricsFile, 'utf8').split('\n').length > 5); waited += 50) {
      if (waited > 60_000) throw new Error('no metrics after 60 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (hangup) {
      child.stdout!.destroy();
      child.stderr!.destroy();
    }
    child.kill(signal);
    const { code, stderr } = await done;
    expect(stderr).toBe('');
    expect(code).toBe(exitCode);
    const text = fs.readFileSync(metricsFile, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const records = readMetrics(out);
    const result = readJson(path.join(out, 'result.json'));
    expect(result).toMatchObject({ status: 'interrupted', iterations: records.length });
    expect(records.length).toBeGreaterThan(4);
    expect(records.length).toBeLessThan(1_000_000);
    expect(result.upper).toBe(records[records.length - 1].upper);
    // No temporary file left; the report and its charts are there.
    expect(fs.readdirSync(out).filter((file) => !file.endsWith('.svg')).sort()).toEqual(['checkpoint.bin', 'metrics.jsonl', 'report.html', 'result.json']);
    expect(fs.readdirSync(out).filter((file) => file.endsWith('.svg'))).toContain('upper.svg');
  });

  test('a non-finite objective fails the run with exit code 1, a one-line message and result.json saying why', async () => {
    const config = { ...nonconvexConfig, problem: { name: 'toy/nonconvex', x0: [1e200] } };
    const out = path.join(workDir, 'out', 'non-finite');
    const { code, stderr } = await cli(['run', writeConfig('non-finite', config), '--out', out]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^[^\n]*iteration 0: F\(x, y_K\) = inf is not finite[^\n]*\n$/);
    const result = readJson(path.join(out, 'result.json'));
    expect(result).toMatchObject({
      status: 'failed',
      error: { code: 'NON_FINITE', message: expect.stringMatching(/iteration 0: F\(x, y_K\) = inf is not finite/) },
      iterations: 0, upper: null, lower: null, kBar: null,
      config: { problem: { x0: [1e200] } },
      versions: { bilevel: packageVersion, libtorch: versions().libtorch },
    });
    expect(result.x).toBeUndefined();
    expect(readMetrics(out)).toEqual([]);
  });
});

describe('output folders', () => {
  const config = () => writeConfig('short', { ...nonconvexConfig, iterations: 3 });

  // node's recursive mkdir retries such a folder and its parent forever (the parent exists, the
  // folder still gives ENOENT): before the fix these runs hung.
  test('a folder that cannot be made (under /proc): exit 1 at once, naming the folder and the reason', async () => {
    if (!fs.existsSync('/proc/self')) return; // Linux procfs only
    const outcomes = await Promise.all([
      cli(['run', config(), '--out', '/proc/bilevel-x']),
      cli(['run', config(), '--out', '/proc/bilevel-x/deeper']),
      cli(['compare', config(), '--methods', 'rhg', '--out', '/proc/bilevel-y']),
    ]);
    expect(outcomes).toEqual([
      { code: 1, stdout: '', stderr: '/proc/bilevel-x: cannot create the output folder (ENOENT: no such file or directory)\n' },
      { code: 1, stdout: '', stderr: '/proc/bilevel-x/deeper: cannot create the output folder (ENOENT: no such file or directory)\n' },
      { code: 1, stdout: '', stderr: '/proc/bilevel-y: cannot create the output folder (ENOENT: no such file or directory)\n' },
    ]);
  });

  test('a file where the folder should be: exit 1 naming it', async () => {
    const file = path.join(workDir, 'a-file');
    fs.writeFileSync(file, '');
    expect(await cliInProcess(['run', config(), '--out', path.join(file, 'out'), '--quiet'])).toEqual({
      code: 1, stdout: '', stderr: `${path.join(file, 'out')}: cannot create the output folder (ENOTDIR: not a directory)\n`,
    });
  });

  test('a non-empty folder is refused (exit 2) unless --resume or --force; --force removes the previous outputs only', async () => {
    const out = path.join(workDir, 'out', 'taken');
    expect(await cliInProcess(['run', config(), '--out', out, '--quiet'])).toMatchObject({ code: 0 });
    const refusal = `${out}: the output folder is not empty; use --resume to continue the run there, or --force to replace it\n`;
    expect(await cliInProcess(['run', config(), '--out', out, '--quiet'])).toEqual({ code: 2, stdout: '', stderr: refusal });
    fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
    const someone = path.join(workDir, 'out', 'someone');
    fs.mkdirSync(someone);
    fs.writeFileSync(path.join(someone, 'notes.txt'), 'mine');
    expect(await cliInProcess(['run', config(), '--out', someone, '--quiet'])).toMatchObject({ code: 2 });
    expect(await cliInProcess(['run', config(), '--out', out, '--quiet', '--resume', '--force'])).toEqual({
      code: 2, stdout: '', stderr: 'run: --resume continues the run in the output folder, --force replaces it: give one\n',
    });
    expect(await cliInProcess(['compare', config(), '--methods', 'rhg', '--out', out, '--quiet'])).toEqual({
      code: 2, stdout: '', stderr: `${out}: the output folder is not empty; use --force to replace it\n`,
    });
    // What a previous run or comparison left that this run would not write goes too.
    fs.writeFileSync(path.join(out, 'metric-f1.svg'), '<svg/>');
    fs.writeFileSync(path.join(out, 'result.json.partial'), '{');
    fs.mkdirSync(path.join(out, 'rhg'));
    fs.writeFileSync(path.join(out, 'rhg', 'metrics.jsonl'), '');
    expect(await cliInProcess(['run', config(), '--out', out, '--quiet', '--iterations', '2', '--force'])).toMatchObject({ code: 0, stderr: '' });
    const files = fs.readdirSync(out).sort();
    expect(files).toContain('notes.txt');
    expect(files).not.toContain('metric-f1.svg');
    expect(files).not.toContain('result.json.partial');
    expect(files).not.toContain('rhg');
    expect(readMetrics(out)).toHaveLength(2);
    expect(readJson(path.join(out, 'result.json')).iterations).toBe(2);
    expect(await cliInProcess(['compare', config(), '--methods', 'rhg', '--out', out, '--quiet', '--force'])).toMatchObject({ code: 0, stderr: '' });
    expect(fs.readdirSync(out)).toEqual(expect.arrayContaining(['compare.json', 'notes.txt', 'rhg']));
    expect(fs.readdirSync(out)).not.toContain('result.json');
  });
});

/** A copy of the sources (lib/, package.json, binding.d.ts) in `dir` without build/, as after a failed install. */
function sourcesWithoutAddon(dir: string): void {
  fs.mkdirSync(dir);
  fs.cpSync(path.join(root, 'lib'), path.join(dir, 'lib'), { recursive: true });
  for (const file of ['package.json', 'binding.d.ts']) fs.copyFileSync(path.join(root, file), path.join(dir, file));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
}

describe('without the native addon', () => {
  let copy: string;
  beforeAll(() => {
    copy = path.join(workDir, 'no-addon');
    sourcesWithoutAddon(copy);
  });

  test('--help, --version and validate work; info reports the load failure with the fixes (exit 1)', async () => {
    const source = path.join(copy, 'lib', 'cli.ts');
    const [help, version, info, infoJson, validate] = await Promise.all([
      ['--help'], ['--version'], ['info'], ['info', '--json'], ['validate', aitExample],
    ].map((args) => finished(startCli(args, source))));
    expect(help).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^usage:/) });
    expect(version).toEqual({ code: 0, stderr: '', stdout: `${packageVersion}\n` });
    expect(info.code).toBe(1);
    expect(info.stdout).toBe(`bilevel ${packageVersion}\n`);
    expect(info.stderr).toContain(`bilevel: no native addon loads on this machine (${process.platform}-${process.arch}). Tried:\n` +
      '  nothing: this package ships no binary for this platform and none was compiled\nFixes, any one of:\n');
    expect(info.stderr).toMatch(/\n {2}- compile against your LibTorch: LIBTORCH=.* npm rebuild bilevel --build-from-source .*\n {2}- choose a binary with BILEVEL_VARIANT \(this package has: source\)\n$/);
    expect(infoJson.code).toBe(1);
    expect(JSON.parse(infoJson.stdout)).toEqual({ bilevel: packageVersion, error: { code: 'NATIVE', message: expect.stringContaining('npm rebuild bilevel') } });
    // validate checks the schema, and says what needs the core: the combination check and the problem.
    expect(validate).toEqual({
      code: 0,
      stdout: `${aitExample}: valid against the schema (toy/nonconvex, gd + reverse + initAuxiliary + pessimistic truncation, 600 iterations)\n`,
      stderr: expect.stringMatching(/^bilevel: not checked: the solver combination and the problem, which need the native addon .*bilevel info/),
    });
    const invalid = path.join(workDir, 'no-addon-invalid.json');
    fs.writeFileSync(invalid, JSON.stringify({ ...JSON.parse(fs.readFileSync(aitExample, 'utf8')), iterations: 0 }));
    expect(await finished(startCli(['validate', invalid], source))).toEqual({
      code: 2, stdout: '', stderr: 'iterations: must be an integer in [1, 1000000]; got 0\n',
    });
  });
});

describe('validate, info and arguments', () => {
  test('validate accepts the examples; info reports versions; bad arguments exit with 2 (in a child process)', async () => {
    const cases: { args: string[]; code: number; stdout?: RegExp; stderr?: RegExp }[] = [
      { args: ['validate', aitExample], code: 0, stdout: /nonconvex-ait\.json: valid \(toy\/nonconvex, gd \+ reverse \+ initAuxiliary \+ pessimistic truncation, 600 iterations\)\n$/ },
      { args: ['info'], code: 0, stdout: new RegExp(`^bilevel ${packageVersion}\nlibtorch \\S+\ncuda (available|not available)\nthreads \\d+\nnapi \\d+\nbuild (release|debug), .+, C\\+\\+ \\d+, cxx11 ABI (on|off), .+\naddon build/Release/bilevel.node \\(source: compiled from source on this machine\\)\n$`) },
      { args: ['run', aitExample, '--device', 'gpu'], code: 2, stderr: /^--device: must be "cpu", "cuda" or "cuda:N"; got "gpu"\n$/ },
    ];
    const outcomes = await inBatches(cases, 4, (c) => cli(c.args));
    cases.forEach((c, i) => {
      const { code, stdout, stderr } = outcomes[i];
      expect({ args: c.args, code, stderr: c.stderr ? '' : stderr }).toEqual({ args: c.args, code: c.code, stderr: '' });
      if (c.stdout) expect(stdout).toMatch(c.stdout);
      if (c.stderr) expect(stderr).toMatch(c.stderr);
    });
  });

  test('main(): the examples, info, usage and refused arguments', async () => {
    const cases: { args: string[]; code: number; stdout?: RegExp; stderr?: RegExp }[] = [
      { args: ['validate', aitExample], code: 0, stdout: /nonconvex-ait\.json: valid \(toy\/nonconvex, gd \+ reverse \+ initAuxiliary \+ pessimistic truncation, 600 iterations\)\n$/ },
      { args: ['validate', path.join(root, 'examples', 'configs', 'nonconvex-rhg.json')], code: 0, stdout: /valid \(toy\/nonconvex, gd \+ reverse, 600 iterations\)/ },
      { args: ['info'], code: 0, stdout: new RegExp(`^bilevel ${packageVersion}\nlibtorch \\S+\ncuda (available|not available)\nthreads \\d+\nnapi \\d+\nbuild (release|debug), .+, C\\+\\+ \\d+, cxx11 ABI (on|off), .+\naddon build/Release/bilevel.node \\(source: compiled from source on this machine\\)\n$`) },
      { args: ['--help'], code: 0, stdout: /^usage:/ },
      { args: ['--version'], code: 0, stdout: new RegExp(`^${packageVersion}\n$`) },
      { args: ['-V'], code: 0, stdout: new RegExp(`^${packageVersion}\n$`) },
      { args: [], code: 2, stderr: /^expected a command \(run, compare, validate, nas or info; bilevel --help for usage\)\n$/ },
      { args: ['fly'], code: 2, stderr: /^unknown command "fly"/ },
      { args: ['run'], code: 2, stderr: /^run: expected one CONFIG\.json argument; got 0\n$/ },
      { args: ['run', aitExample, '--iterations', '0'], code: 2, stderr: /^--iterations: must be an integer >= 1; got "0"\n$/ },
      { args: ['run', aitExample, '--device', 'gpu'], code: 2, stderr: /^--device: must be "cpu", "cuda" or "cuda:N"; got "gpu"\n$/ },
      { args: ['run', aitExample, '--fast'], code: 2, stderr: /^run: Unknown option '--fast'\n$/ },
      { args: ['validate', 'missing.json'], code: 2, stderr: /^missing\.json: cannot read the config \(ENOENT\)\n$/ },
    ];
    for (const c of cases) {
      const { code, stdout, stderr } = await cliInProcess(c.args);
      expect({ args: c.args, code }).toEqual({ args: c.args, code: c.code });
      if (c.stdout) expect(stdout).toMatch(c.stdout);
      if (c.stderr) expect(stderr).toMatch(c.stderr);
    }
    const json = await cliInProcess(['info', '--json']);
    expect(json.code).toBe(0);
    const native = versions();
    expect(JSON.parse(json.stdout)).toEqual({
      bilevel: packageVersion, libtorch: native.libtorch, cuda: native.cuda, threads: native.threads, napi: native.napi,
      build: native.build,
      addon: { file: path.join(root, 'build', 'Release', 'bilevel.node'), variant: 'source', why: 'compiled from source on this machine', passedOver: [] },
    });
    expect(native.build).toMatchObject({ type: 'release', cxx: expect.any(Number), parallel: expect.stringMatching(/\S/) });
  });

  // Each malformed config: the one-line message on stderr, starting with the JSON path at fault.
  const base = { ...nonconvexConfig, iterations: 600, seed: 0, dtype: 'float64', device: 'cpu' };
  const withSolver = (solver: Record<string, unknown>) => ({ ...base, solver: { ...aitSolver, ...solver } });
  const malformed: { name: string; config: unknown; message: RegExp }[] = [
    { name: 'JSON syntax', config: '{\n  "iterations": 5,\n}', message: /^\S*json-syntax\.json:3:1: invalid JSON: / },
    { name: 'JSON without a value', config: '{\n  "problem": }', message: /^\S*json-without-a-value\.json:2:14: invalid JSON: Unexpected token '}'$/ },
    { name: 'not an object', config: '[1, 2]', message: /^\(root\): must be an object; got \[1,2\]$/ },
    { name: 'unknown problem', config: { ...base, problem: { name: 'toy/foo' } },
      message: /^problem\.name: must be one of toy\/convex, toy\/singleton, toy\/nonconvex, toy\/bamm-convex, hyper-cleaning, gan, few-shot, nas, nas-retrain; got "toy\/foo"$/ },
    { name: 'missing solver', config: { ...base, solver: undefined }, message: /^solver: required field is missing$/ },
    { name: 'unknown top-level field', config: { ...base, iteration: 3 }, message: /^iteration: unknown field \(allowed: \$schema, problem, solver, iterations, seed, dtype, device, checkpointEvery, metricsEvery, priorAnchor\)$/ },
    { name: 'unknown solver field', config: withSolver({ hypergradeint: {} }), message: /^solver\.hypergradeint: unknown field \(allowed: type, dynamics, hypergradient, upper, / },
    { name: 'lr <= 0', config: withSolver({ dynamics: { type: 'gd', lr: -1 } }), message: /^solver\.dynamics\.lr: must be a number > 0; got -1$/ },
    { name: 'steps not an integer', config: withSolver({ dynamics: { type: 'gd', steps: 2.5 } }), message: /^solver\.dynamics\.steps: must be an integer in \[1, 100000\]; got 2\.5$/ },
    { name: 'unknown dynamics', config: withSolver({ dynamics: { type: 'newton' } }), message: /^solver\.dynamics\.type: must be one of gd, bda, nesterov, accelerated, heavyBall; got "newton"$/ },
    { name: 'unknown upper option', config: withSolver({ upper: { optimizer: 'adam', beta3: 0.5 } }), message: /^solver\.upper\.beta3: unknown field \(allowed: optimizer, lr, beta1, beta2, eps, weightDecay\)$/ },
    { name: 'truncation of an unknown kind', config: withSolver({ truncation: 'optimistic' }),
      message: /^solver\.truncation: must be one of "none", "pessimistic" or \{"type": "pessimistic", "recompute": boolean\}; got "optimistic"$/ },
    { name: 'cg with pessimistic truncation', config: withSolver({ initAuxiliary: false, hypergradient: { type: 'cg' } }),
      message: /^solver: pessimisticTruncation .* needs the reverse or forward hypergradient, not cg$/ },
    { name: 'prior without initAuxiliary', config: withSolver({ initAuxiliary: false, prior: { weight: 1 } }),
      message: /^solver: prior regularizes the auxiliary variable z, so it needs initAuxiliary$/ },
    { name: 'initAuxiliary true', config: withSolver({ initAuxiliary: true }), message: /^solver\.initAuxiliary: must be false or an object; got true$/ },
    { name: 'bamm out of range', config: { ...base, solver: { type: 'bamm', mu0: 1 } }, message: /^solver\.mu0: must be a number in \(0, 1\); got 1$/ },
    { name: 'iterations 0', config: { ...base, iterations: 0 }, message: /^iterations: must be an integer in \[1, 1000000\]; got 0$/ },
    { name: 'wrong dtype', config: { ...base, dtype: 'float16' }, message: /^dtype: must be one of "float32", "float64"; got "float16"$/ },
    { name: 'bad device string', config: { ...base, device: 'gpu:0' }, message: /^device: must be "cpu", "cuda" or "cuda:N"; got "gpu:0"$/ },
    { name: 'x0 of the wrong length', config: { ...base, problem: { name: 'toy/nonconvex', x0: [1, 2] } }, message: /^problem\.x0: expected 1 elements, got 2$/ },
    { name: 'y0 with one variable too few', config: { ...base, problem: { name: 'toy/convex', n: 2, y0: [[1, 1]] } }, message: /^problem\.y0: expected 2 tensors, got 1$/ },
    { name: 'a for a problem without a', config: { ...base, problem: { name: 'toy/convex', a: 1 } }, message: /^problem\.a: unknown field \(allowed: name, n, closedForm, x0, y0\)$/ },
    { name: 'checkpointEvery 0', config: { ...base, checkpointEvery: 0 }, message: /^checkpointEvery: must be an integer in \[1, 1000000\]; got 0$/ },
  ];

  test(`${malformed.length} malformed configs: exit code 2, one line naming the JSON path`, async () => {
    for (const c of malformed) {
      const { code, stdout, stderr } = await cliInProcess(['validate', writeConfig(c.name.replace(/\W+/g, '-').toLowerCase(), c.config)]);
      expect({ name: c.name, code, stdout }).toEqual({ name: c.name, code: 2, stdout: '' });
      expect(stderr.endsWith('\n') && stderr.split('\n').length === 2).toBe(true);
      expect({ name: c.name, message: stderr.trimEnd() }).toEqual({ name: c.name, message: expect.stringMatching(c.message) });
    }
  });

  test('run refuses a malformed config the same way, before creating any output (in a child process)', async () => {
    const out = path.join(workDir, 'out', 'refused');
    const { code, stderr } = await cli(['run', writeConfig('refused', { ...base, iterations: 0 }), '--out', out]);
    expect(code).toBe(2);
    expect(stderr).toBe('iterations: must be an integer in [1, 1000000]; got 0\n');
    expect(fs.existsSync(out)).toBe(false);
  });

  test('a device this machine lacks is a run failure (exit 1) naming the device', async () => {
    if (versions().cuda) return; // with CUDA the run is valid; nothing to refuse
    const { code, stderr } = await cliInProcess(['validate', writeConfig('cuda', { ...base, device: 'cuda' })]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^device: device 'cuda' requested but .*\n$/);
  });
});

describe('the schema and the docs', () => {
  test.each(Object.entries(schemaFiles()))('schema/%s is the one generated from its TypeBox schema (npm run schema)', (name, text) => {
    expect(fs.readFileSync(path.join(root, 'schema', name), 'utf8')).toBe(text);
  });

  test('docs/config.md names every problem, variant and option of the schemas', () => {
    const docs = fs.readFileSync(path.join(root, 'docs', 'config.md'), 'utf8');
    const families = [problemSchemas, dynamicsSchemas, hypergradientSchemas, optimizerSchemas, initAuxiliarySchemas];
    const names = new Set<string>();
    for (const family of families) {
      for (const [tag, schema] of Object.entries(family)) {
        names.add(tag);
        Object.keys(schema.properties).forEach((key) => names.add(key));
      }
    }
    [PriorSchema, BammSchema].forEach((schema) => Object.keys(schema.properties).forEach((key) => names.add(key)));
    const missing = [...names].filter((name) => !docs.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});

describe('prebuilt binaries', () => {
  // A copy of the sources whose prebuilds/ holds the addon built here as the prebuilt for LibTorch
  // 1.13, and the same binary with its LibTorch library names changed to 0.99, as a prebuilt built
  // for a LibTorch this machine does not have: the dynamic loader refuses it.
  let copy: string;
  let variant: string; // of the addon built here: libtorch<major>.<minor>-cpu
  const prebuilds = () => path.join(copy, 'prebuilds', `${process.platform}-${process.arch}`);
  const writePrebuilt = (name: string, binary: Buffer, libtorch: string) => {
    fs.writeFileSync(path.join(prebuilds(), `bilevel.${name}.node`), binary);
    fs.writeFileSync(path.join(prebuilds(), `${name}.json`), JSON.stringify({
      variant: name, libtorch, cuda: false, cxx11Abi: true, needs: [`libtorch_cpu.so.${libtorch.slice(0, 4)}`], builtOn: 'test',
    }));
  };
  beforeAll(() => {
    copy = path.join(workDir, 'prebuilt');
    sourcesWithoutAddon(copy);
    fs.mkdirSync(prebuilds(), { recursive: true });
    const built = fs.readFileSync(path.join(root, 'build', 'Release', 'bilevel.node'));
    const version = /^(\d+\.\d+)/.exec((JSON.parse(execFileSync(process.execPath, ['-e',
      'process.stdout.write(JSON.stringify(require(process.argv[1]).versions()))', path.join(root, 'build', 'Release', 'bilevel.node')],
    { encoding: 'utf8' })) as { libtorch: string }).libtorch)![1];
    variant = `libtorch${version}-cpu`;
    writePrebuilt(variant, built, `${version}.0`);
    // Same length, so the ELF string table stays intact: only the names differ.
    const other = Buffer.from(built.toString('latin1').replaceAll(`.so.${version}`, '.so.0.99'), 'latin1');
    writePrebuilt('libtorch0.99-cpu', other, '0.99.0');
  });

  test('the one built for this LibTorch loads; the other is passed over with the LibTorch it needs; info says which and why', async () => {
    const info = await finished(startCli(['info', '--json'], path.join(copy, 'lib', 'cli.ts')));
    expect(info).toMatchObject({ code: 0, stderr: '' });
    const { addon } = JSON.parse(info.stdout) as { addon: { file: string; variant: string; why: string; passedOver: unknown[] } };
    expect(addon).toEqual({
      file: path.join(prebuilds(), `bilevel.${variant}.node`),
      variant,
      why: `prebuilt for LibTorch ${variant.slice('libtorch'.length, -'-cpu'.length)}`,
      passedOver: [{ variant: 'libtorch0.99-cpu', reason: 'it needs LibTorch 0.99 (libtorch_cpu.so.0.99 was not found)' }],
    });
    const text = await finished(startCli(['info'], path.join(copy, 'lib', 'cli.ts')));
    expect(text.stdout).toContain(`\naddon prebuilds/${process.platform}-${process.arch}/bilevel.${addon.variant}.node (${addon.variant}: ${addon.why})\n` +
      '  passed over libtorch0.99-cpu: it needs LibTorch 0.99 (libtorch_cpu.so.0.99 was not found)\n');
  });

  test('BILEVEL_VARIANT takes only the binary it names, and refuses one that does not load or is not shipped', async () => {
    const source = path.join(copy, 'lib', 'cli.ts');
    const withVariant = (variant: string) => finished(startCli(['info'], source, { ...process.env, BILEVEL_VARIANT: variant }));
    const [refused, unknown, fromSource] = await Promise.all([withVariant('libtorch0.99-cpu'), withVariant('cuda'), withVariant('source')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Tried:\n  libtorch0.99-cpu: it needs LibTorch 0.99 (libtorch_cpu.so.0.99 was not found)\nFixes, any one of:\n');
    expect(refused.stderr).toMatch(new RegExp(`this package has: source, libtorch0\\.99-cpu, ${variant}\\)\n$`));
    expect(unknown.stderr).toBe(`bilevel: BILEVEL_VARIANT=cuda names no binary of this package (${process.platform}-${process.arch}: source, libtorch0.99-cpu, ${variant})\n`);
    expect(fromSource.stderr).toContain(`Tried:\n  source: ${path.join(copy, 'build', 'Release', 'bilevel.node')} does not exist\n`);
  });
});
