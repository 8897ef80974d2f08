// The public types as a user's editor sees them: solver.config's members typed (read below with no
// casts; ts-jest type-checks this file, so a wrong type or an unused @ts-expect-error fails it),
// metrics() typed per task, and every option's default shown on hover (TypeScript's language
// service, as editors use it).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import {
  Solver, adam, bda, gd, tasks, truncated, type HyperCleaningMetrics, type SolverConfig,
} from '../lib';

describe('solver.config', () => {
  const solver = Solver.builder()
    .dynamics(bda({ mu: 0.25 }))
    .hypergradient(truncated({ steps: 10 }))
    .upper(adam({ beta2: 0.99 }))
    .initAuxiliary({ set: { min: -1 } })
    .build();

  test('its members are typed: each family narrows by its tag to the member\'s fields', () => {
    const { config } = solver;
    if (config.type === 'bamm' || config.type === 'training') throw new Error('a builder makes trajectory solvers');
    const { dynamics, hypergradient, upper, initAuxiliary } = config;
    expect(dynamics.type).toBe('bda');
    if (dynamics.type === 'bda') expect([dynamics.mu, dynamics.upperLr, dynamics.steps]).toEqual([0.25, 0.1, 10]);
    expect(hypergradient.type === 'truncated' && hypergradient.steps).toBe(10);
    if (upper.optimizer === 'adam') expect([upper.lr, upper.beta2]).toEqual([0.001, 0.99]);
    expect(initAuxiliary && [initAuxiliary.optimizer, initAuxiliary.lr, initAuxiliary.set]).toEqual(['sgd', 0.01, { min: -1 }]);
    // @ts-expect-error: gd has no mu
    if (dynamics.type === 'gd') expect(dynamics.mu).toBeUndefined();
  });

  test('sl-BAMM\'s config narrows by type too', () => {
    const config: SolverConfig = Solver.bamm({ tau: 0.5 }).config;
    expect(config.type === 'bamm' && [config.tau, config.mu0]).toEqual([0.5, 0.9]);
  });

  test('training\'s config narrows by type: dynamics and the schedule, nothing of a UL', () => {
    const config: SolverConfig = Solver.training({ dynamics: gd({ steps: 4 }), lowerLrSchedule: { epochs: 3 } }).config;
    expect(config.type === 'training' && [config.dynamics.steps, config.lowerLrSchedule]).toEqual([4, { type: 'cosine', epochs: 3, minimum: 0, iterationsPerEpoch: 1 }]);
    // @ts-expect-error: training has no hypergradient
    if (config.type === 'training') expect(config.hypergradient).toBeUndefined();
  });
});

// The names hyper-cleaning's metrics() states, spelled as its type requires (a compile error if
// one is missing or unknown).
const hyperCleaningMetricNames: Record<keyof HyperCleaningMetrics, true> = {
  testAccuracy: true, precision: true, recall: true, f1: true, validationLoss: true,
};
const fashion = '/usr/share/datasets/fashion-mnist';
const haveFashion = fs.existsSync(path.join(fashion, 'train-images-idx3-ubyte.gz'));
if (!haveFashion) console.warn(`Fashion-MNIST not found in ${fashion}: the metrics names test is skipped (apt-get install dataset-fashion-mnist)`);

(haveFashion ? test : test.skip)('hyper-cleaning\'s metrics() returns the names its type states, and only those', async () => {
  const problem = await tasks.hyperCleaning({ root: fashion, trainSize: 20, validationSize: 10, testSize: 10 });
  const metrics = await problem.metrics(problem.initial());
  expect(Object.keys(metrics).sort()).toEqual(Object.keys(hyperCleaningMetricNames).sort());
  expect(metrics.testAccuracy).toBeGreaterThanOrEqual(0);
  // @ts-expect-error: not a hyper-cleaning metric
  expect(metrics.accuracy).toBeUndefined();
});

describe('hover', () => {
  const root = path.join(__dirname, '..');
  const file = path.join(__dirname, 'hover-sample.ts'); // never written: the language service reads `source`
  const source = `import { Solver, adam, cg, gd, tasks } from '../lib';
gd({ lr: 0.5 });
cg({ tolerance: 1e-6 });
adam({ beta2: 0.99 });
Solver.bamm({ tau: 0.1 });
Solver.builder().prior({ weight: 2 }).pessimisticTruncation({ recompute: true });
tasks.hyperCleaning({ hidden: 30 });
const solver = Solver.builder().build();
if (solver.config.type !== 'bamm' && solver.config.type !== 'training') solver.config.lowerStart;
`;
  const { options } = ts.parseJsonConfigFileContent(ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, root);
  const read = (name: string) => (name === file ? source : ts.sys.readFile(name));
  const service = ts.createLanguageService({
    getScriptFileNames: () => [file],
    getScriptVersion: () => '1',
    getScriptSnapshot: (name) => {
      const text = read(name);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => root,
    getCompilationSettings: () => options,
    getDefaultLibFileName: ts.getDefaultLibFilePath,
    fileExists: (name) => name === file || ts.sys.fileExists(name),
    readFile: read,
  });

  /** The documentation and the @default an editor shows on hovering `word` (its first occurrence after `after`). */
  function hover(word: string, after = ''): { documentation: string; default?: string } {
    const position = source.indexOf(word, source.indexOf(after));
    const info = service.getQuickInfoAtPosition(file, position);
    const tag = info?.tags?.find((t) => t.name === 'default');
    return {
      documentation: ts.displayPartsToString(info?.documentation),
      ...(tag === undefined ? {} : { default: ts.displayPartsToString(tag.text) }),
    };
  }

  test.each([
    ['lr', 'gd(', '0.1', /step size/i],
    ['tolerance', 'cg(', '1e-10', /\|\|r\|\|/],
    ['beta2', 'adam(', '0.999', /second-moment/i],
    ['tau', 'bamm(', '0.025', /tau/],
    ['weight', 'prior(', '1', /lambda/],
    ['recompute', 'pessimisticTruncation(', 'false', /Kbar/],
    ['hidden', 'hyperCleaning(', '300', /hidden units/i],
    ['lowerStart', 'solver.config', '\'fixed\'', /y_0/],
  ])('%s (in %s) shows its meaning and @default %s', (word, after, defaultValue, meaning) => {
    const shown = hover(word, after);
    expect(shown.default).toBe(defaultValue);
    expect(shown.documentation).toMatch(meaning);
  });
});
