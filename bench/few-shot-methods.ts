// npm run bench:few-shot [-- --iterations T] [--gpu]: the few-shot methods of `bilevel compare`
// (RHG, T-RHG, BDA, AIT with and without the authors' regularizer, MAML) on the offline
// pair-composite benchmark, 5-way 1-shot and 5-shot, each evaluated on the same 600 test
// episodes; writes docs/few-shot.md beside the paper's Table 4. Each finished run is appended to
// bench/results/few-shot.jsonl (committed) and never redone, so the table (90 minutes on 2 cores)
// can be built over several invocations; --doc rewrites docs/few-shot.md from that file alone.
// --gpu: the GPU protocol (84 x 84 images, ResNet-12 of widths 64-160-320-640, the authors' 80k
// UL iterations unless --iterations says otherwise).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { setNumThreads, versions, type IterationRecord } from '../lib';
import { methodConfig, sharedProblems } from '../lib/engine/compare';
import { evaluateMetrics } from '../lib/engine/evaluation';
import { runLoop } from '../lib/engine/loop';
import { methodPresets, type MethodName } from '../lib/method-presets';
import { createProblem, createSolver, validateRunConfig, type RunConfig } from '../lib/run-config';
import type { FewShotMetrics } from '../lib/tasks/few-shot';
import type { Problem } from '../lib/problem';
import { appendResult, machinesOf, readResults, resultsFile, type Provenance } from './results-file';

interface Protocol { gpu: boolean; iterations: number; imageSize: number; backbone: 'convnet4' | 'resnet12'; channels: number; device: string }

/** A row of the table: a method of `bilevel compare`, with the problem fields it runs with. */
interface Variant { name: string; method: MethodName; label: string; problem?: Record<string, unknown> }
// The authors' regularizer as their code writes it: weight 0.25 (||w||_2 + ||0.1 * 1||_2)^(0.5/2).
const VARIANTS: Variant[] = [
  ...(['rhg', 'trhg', 'bda', 'ait'] as const).map((method) => ({ name: method, method, label: methodPresets[method].label })),
  { name: 'ait-smoothed-lq', method: 'ait', label: `${methodPresets.ait.label}, the authors' smoothed-lq regularizer`, problem: { regularizer: 'smoothed-lq' } },
  { name: 'maml', method: 'maml', label: methodPresets.maml.label },
];
const SHOTS = [1, 5];
const LOWER = { lr: 0.1, steps: 10 };
const UPPER_LR = 0.001;
const META_BATCH = 4;
const TEST_EPISODES = 600;
const THREADS = 2;

// The paper's Table 4 (ConvNet-4 on miniImageNet, 5-way): 1-shot / 5-shot.
const PUBLISHED: Partial<Record<string, [number, number]>> = {
  rhg: [48.89, 63.02], trhg: [47.67, 63.7], bda: [49.08, 62.17], ait: [49.8, 64.76], maml: [48.7, 63.11],
};

type RunRecord = {
  protocol: 'cpu' | 'gpu'; variant: string; shots: number; iterations: number;
  testAccuracy: number; testConfidence95: number; testEpisodes: number; secondsPerIteration: number; peakMiB: number; wallTimeSeconds: number;
  /** The machine's mean 1-minute load average over the run (absent in records older than it). */
  loadAverage?: number;
} & Provenance;
const RESULTS_FILE = resultsFile('few-shot.jsonl');

function protocolFromArguments(): Protocol {
  const { values } = parseArgs({
    args: process.argv.slice(2), options: { iterations: { type: 'string' }, gpu: { type: 'boolean' }, doc: { type: 'boolean' } },
  });
  const gpu = values.gpu === true;
  const iterations = values.iterations === undefined ? (gpu ? 80_000 : 600) : Number.parseInt(values.iterations, 10);
  return gpu
    ? { gpu, iterations, imageSize: 84, backbone: 'resnet12', channels: 64, device: 'cuda' }
    : { gpu, iterations, imageSize: 28, backbone: 'convnet4', channels: 32, device: 'cpu' };
}

/** The run config every variant of a setting starts from: gd on the heads, Adam on the backbone. */
function baseConfig(p: Protocol, shots: number): RunConfig {
  return validateRunConfig({
    problem: {
      name: 'few-shot', ways: 5, shots, queries: 15, metaBatch: META_BATCH, imageSize: p.imageSize, backbone: p.backbone,
      channels: p.channels, evaluationEpisodes: TEST_EPISODES, adaptSteps: LOWER.steps, adaptLr: LOWER.lr,
    },
    solver: { dynamics: { type: 'gd', ...LOWER }, hypergradient: { type: 'reverse' }, upper: { optimizer: 'adam', lr: UPPER_LR } },
    iterations: p.iterations, seed: 0, dtype: 'float32', device: p.device,
  });
}

function variantConfig(base: RunConfig, variant: Variant): RunConfig {
  return methodConfig(validateRunConfig({ ...base, problem: { ...base.problem, ...variant.problem } }), variant.method);
}

/** T UL iterations through the engine's loop, then the metrics on the test episodes. */
async function runVariant(config: RunConfig, problem: Problem<FewShotMetrics>, label: string) {
  const started = Date.now();
  using run = (await createSolver(config, problem)).start(problem);
  let seconds = 0;
  let peak = 0;
  const onRecord = (record: IterationRecord) => {
    seconds += (record.unrollMs + record.hypergradientMs + record.updateMs) / 1000;
    peak = Math.max(peak, record.peakBytes);
  };
  const every = Math.max(1, Math.floor(config.iterations / 4));
  // Sampled with the progress lines: how much else ran beside the timed iterations.
  const loads: number[] = [];
  const progress = async (done: number) => {
    loads.push(os.loadavg()[0]);
    console.error(`  ${label}: ${done} of ${config.iterations} iterations, ${((Date.now() - started) / 60000).toFixed(1)} min`);
  };
  await runLoop(run, { iterations: config.iterations, onRecord, cadences: [{ every, atEnd: false, act: progress }] });
  const m = await evaluateMetrics(problem, run);
  return {
    testAccuracy: m.testAccuracy, testConfidence95: m.testConfidence95, testEpisodes: m.testEpisodes,
    secondsPerIteration: seconds / config.iterations, peakMiB: peak / 2 ** 20, wallTimeSeconds: (Date.now() - started) / 1000,
    loadAverage: loads.reduce((sum, load) => sum + load, 0) / Math.max(1, loads.length),
  };
}

const recordOf = (records: RunRecord[], p: Protocol, variant: string, shots: number) => records.find((r) =>
  r.protocol === (p.gpu ? 'gpu' : 'cpu') && r.variant === variant && r.shots === shots && r.iterations === p.iterations);

function table(p: Protocol, records: RunRecord[]): string {
  const rows = SHOTS.flatMap((shots) => VARIANTS.flatMap((variant) => {
    const r = recordOf(records, p, variant.name, shots);
    if (r === undefined) return [];
    const published = PUBLISHED[variant.name]?.[SHOTS.indexOf(shots)];
    return [`| 5-way ${shots}-shot | ${variant.label} | ${(100 * r.testAccuracy).toFixed(2)} ± ${(100 * r.testConfidence95).toFixed(2)} | ` +
      `${r.secondsPerIteration.toFixed(3)} | ${r.loadAverage?.toFixed(1) ?? '–'} | ${r.peakMiB.toFixed(0)} | ${(r.wallTimeSeconds / 60).toFixed(1)} | ` +
      `${published?.toFixed(2) ?? ''} |`];
  }));
  return ['| setting | method | test accuracy (%) ± 95% CI | s / UL iteration | load | peak MiB | minutes | published (Table 4, miniImageNet) |',
    '|---|---|---:|---:|---:|---:|---:|---:|', ...rows].join('\n');
}

function writeDoc(p: Protocol): void {
  const records = readResults<RunRecord>(RESULTS_FILE);
  const v = versions();
  const expected = SHOTS.length * VARIANTS.length;
  const recorded = SHOTS.flatMap((shots) => VARIANTS.filter((variant) => recordOf(records, p, variant.name, shots) !== undefined)).length;
  const doc = `# Few-shot classification on the offline pair-composite benchmark

Generated by \`npm run bench:few-shot${p.gpu ? ' -- --gpu' : ''}\` from bench/results/few-shot.jsonl (one line per finished run,
with its commit, CPU and date; ${machinesOf(records) || 'no run recorded yet'}; LibTorch ${v.libtorch}, ${THREADS} threads).
${recorded === expected ? 'Every run of the protocol is recorded.' : `${recorded} of ${expected} runs are recorded; run the command again for the others.`}

Protocol ([algorithms.md](algorithms.md) §13): double-MNIST (100 pair-composite classes, 64 meta-train /
20 meta-test, 200 images each), 5-way, 15 queries per class, meta-batch ${META_BATCH}, ${p.backbone === 'convnet4' ? 'ConvNet-4' : 'ResNet-12'} with
${p.channels} filters${p.backbone === 'resnet12' ? ' in the first block' : ''} on ${p.imageSize} x ${p.imageSize} images (batch norm on each task's own images), float32, seed 0.
y = one linear head per task from zero (MAML: each task's offset of the whole network), K = ${LOWER.steps} gd
steps of lr ${LOWER.lr}; x by Adam lr ${UPPER_LR}, T = ${p.iterations} UL iterations${p.gpu ? '' : ' (the authors: 80k; `-- --gpu` for their scale on a GPU)'}.
T-RHG differentiates the last K/2 steps; BDA mixes in F's gradient (mu 0.5); AIT adds IA (z, the heads' learned start,
by sgd at the LL step) and PTT. Evaluation: the same ${TEST_EPISODES} test episodes (held-out classes, built from the source's test
images) for every method, each adapting its head (MAML: its offsets) from the learned start by ${LOWER.steps} gd steps;
the mean accuracy ± 1.96 std / sqrt(n). s / UL iteration is the solver's own time (unroll, hypergradient,
update) averaged over the run; load is the machine's mean 1-minute load average meanwhile (2 is the
bench alone on 2 cores; more means other jobs shared them and the time is pessimistic; – where the
record predates it). Accuracies do not depend on the load: the runs are deterministic.

${table(p, records)}

The published numbers are on miniImageNet (84 x 84 natural images, 80k iterations); they are beside
the rows for orientation only: double-MNIST is an easier benchmark, and this protocol is short.
`;
  fs.writeFileSync(path.join(__dirname, '..', 'docs', 'few-shot.md'), doc);
}

export async function fewShotMethodTable(): Promise<void> {
  const p = protocolFromArguments();
  if (parseArgs({ args: process.argv.slice(2), options: { doc: { type: 'boolean' } }, strict: false }).values.doc) return writeDoc(p);
  setNumThreads(THREADS);
  for (const shots of SHOTS) {
    const base = baseConfig(p, shots);
    const problems = sharedProblems(base, await createProblem(base, process.cwd()), (config) => createProblem(config, process.cwd()));
    for (const variant of VARIANTS) {
      if (recordOf(readResults<RunRecord>(RESULTS_FILE), p, variant.name, shots) !== undefined) continue;
      const config = variantConfig(base, variant);
      const label = `${shots}-shot ${variant.name}`;
      const result = await runVariant(config, (await problems(config)) as Problem<FewShotMetrics>, label);
      console.error(`${label}: ${(100 * result.testAccuracy).toFixed(2)} ± ${(100 * result.testConfidence95).toFixed(2)}`);
      appendResult(RESULTS_FILE, { protocol: p.gpu ? 'gpu' : 'cpu', variant: variant.name, shots, iterations: p.iterations, ...result });
      writeDoc(p);
    }
  }
  writeDoc(p);
}
