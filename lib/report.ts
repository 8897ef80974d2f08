// Run reports: one self-contained report.html with a summary table per method, a chart of every
// series the records hold (each against the UL iteration and against the solver's cumulative time),
// and the config, seed and versions that produced it. The charts are rendered to SVG in Node by
// Vega-Lite, inlined into the page and also written beside it as SVG files. Vega and Vega-Lite are
// loaded when a report is first written, not with the library: about a third of require('bilevel').
import * as path from 'node:path';
import type * as vegaLite from 'vega-lite';
import type { TaskViews } from './engine/evaluation';
import { writeFileDurably } from './engine/output-folder';
import type { IterationRecord } from './solver';

/** One metrics.jsonl line: an iteration's record, with what was evaluated there. */
export type ReportPoint = IterationRecord & {
  distanceToOptimum?: number;
  /** Task metrics where they were evaluated (e.g. testAccuracy, f1). */
  metrics?: Record<string, number>;
};

export interface ReportSeries {
  method: string;
  status: 'completed' | 'interrupted' | 'failed';
  /** Why it failed (status "failed"). */
  error?: string;
  points: ReportPoint[];
  /** The method's own solver config, when it differs from the report's config (compare). */
  solver?: unknown;
  /** What shows its final solution (problem.views()): `samples` and `modes` ([N, 2] each) are drawn. */
  views?: TaskViews;
}

export interface Report {
  title: string;
  /** The run config (validated, defaults filled in). */
  config: unknown;
  seed: number;
  /** The library's versions (bilevel, libtorch); the report adds Node's and Vega-Lite's. */
  versions: Record<string, string>;
  series: ReportSeries[];
}

/** A chart of one series: its value at each point, where recorded. */
interface Chart {
  file: string;
  title: string;
  value: (point: ReportPoint) => number | undefined;
  /** Log scale: for norms and distances, which span orders of magnitude (values <= 0 are not drawn). */
  log?: boolean;
  /** The half-width of a band around the value (a confidence interval), where recorded. */
  halfWidth?: (point: ReportPoint) => number | undefined;
}

const recordCharts: Chart[] = [
  { file: 'upper.svg', title: 'F(x, y_K)', value: (p) => p.upper },
  { file: 'lower.svg', title: 'f(x, y_K)', value: (p) => p.lower },
  { file: 'gradient-norm-x.svg', title: '||hypergradient in x||', value: (p) => p.gradientNormX, log: true },
  { file: 'gradient-norm-z.svg', title: '||hypergradient in z|| (initAuxiliary)', value: (p) => p.gradientNormZ, log: true },
  { file: 'kbar.svg', title: 'Kbar (K without PTT)', value: (p) => p.steps },
  { file: 'unroll-ms.svg', title: 'ms per iteration: LL unroll', value: (p) => p.unrollMs },
  { file: 'hypergradient-ms.svg', title: 'ms per iteration: hypergradient', value: (p) => p.hypergradientMs },
  { file: 'update-ms.svg', title: 'ms per iteration: UL update', value: (p) => p.updateMs },
  { file: 'distance.svg', title: '||x - x*|| / ||x*||', value: (p) => p.distanceToOptimum, log: true },
];

// Drawn from the series' views, not from their points.
const samplesChart: Chart = { file: 'samples.svg', title: 'generated samples over the true modes', value: () => undefined };

// A metric <stem>Accuracy with a metric <stem>Confidence95 beside it (few-shot's testAccuracy and
// testConfidence95) is drawn with its 95% interval as a band.
const confidenceOf = (name: string) => (name.endsWith('Accuracy') ? `${name.slice(0, -'Accuracy'.length)}Confidence95` : undefined);

const metricCharts = (names: string[]): Chart[] => names.map((name) => {
  const confidence = confidenceOf(name);
  const halfWidth = confidence !== undefined && names.includes(confidence) ? (p: ReportPoint) => p.metrics?.[confidence] : undefined;
  return { file: `metric-${name}.svg`, title: name, value: (p) => p.metrics?.[name], halfWidth };
});

const metricNames = (series: ReportSeries[]): string[] =>
  [...new Set(series.flatMap((s) => s.points.flatMap((p) => Object.keys(p.metrics ?? {}))))].sort();

const iterationMs = (p: ReportPoint) => p.unrollMs + p.hypergradientMs + p.updateMs;

/** A drawn point: x is the iteration or the solver's time up to the end of the iteration. */
interface Datum {
  method: string;
  iteration: number;
  elapsedMs: number;
  value: number;
  /** value -+ the chart's half-width, where it has one. */
  low?: number;
  high?: number;
  /** Carries a point symbol (a few per line, staggered between methods, so that overlapping lines stay apart). */
  marker: boolean;
}

const markersPerLine = 12;
const maxPointsPerLine = 1000;

/**
 * The points of one line, at most maxPointsPerLine of them: a longer line keeps its first and last
 * point and the lowest and highest of each of its consecutive buckets, so spikes stay visible.
 */
function envelope<P extends { value: number }>(points: P[]): P[] {
  if (points.length <= maxPointsPerLine) return points;
  const size = Math.ceil(points.length / (maxPointsPerLine / 2 - 1));
  const kept = new Set([0, points.length - 1]);
  for (let start = 0; start < points.length; start += size) {
    let low = start;
    let high = start;
    for (let i = start; i < Math.min(start + size, points.length); i++) {
      if (points[i].value < points[low].value) low = i;
      if (points[i].value > points[high].value) high = i;
    }
    kept.add(low).add(high);
  }
  return [...kept].sort((a, b) => a - b).map((i) => points[i]);
}

function chartData(chart: Chart, series: ReportSeries[]): Datum[] {
  return series.flatMap(({ method, points }, methodIndex) => {
    let elapsedMs = 0;
    const drawn = envelope(points.flatMap((p) => {
      elapsedMs += iterationMs(p);
      const value = chart.value(p);
      const drawable = value !== undefined && Number.isFinite(value) && (!chart.log || value > 0);
      if (!drawable) return [];
      const halfWidth = chart.halfWidth?.(p);
      const band = halfWidth === undefined ? {} : { low: value - halfWidth, high: value + halfWidth };
      return [{ method, iteration: p.iteration, elapsedMs, value, ...band }];
    }));
    const stride = Math.max(1, Math.ceil(drawn.length / markersPerLine));
    const offset = Math.floor((methodIndex * stride) / series.length);
    return drawn.map((d, i) => ({ ...d, marker: (i + offset) % stride === 0 }));
  });
}

/** Colour, stroke dash and point shape all tell the methods apart. */
function chartSpec(chart: Chart, data: Datum[], methods: string[]): vegaLite.TopLevelSpec {
  const band = data.some((d) => d.low !== undefined)
    ? [{ mark: { type: 'errorband' as const, opacity: 0.2 }, encoding: { y: { field: 'low', type: 'quantitative' as const }, y2: { field: 'high' } } }]
    : [];
  // The same domain on every chart keeps a method's look when others are missing from one; the
  // same legend on the three channels merges them into one legend.
  const method = {
    field: 'method', type: 'nominal', title: 'method', scale: { domain: methods }, legend: { labelLimit: 400, symbolStrokeWidth: 2 },
  } as const;
  const view = (x: { field: string; title: string }) => ({
    width: 380,
    height: 240,
    encoding: {
      x: { ...x, type: 'quantitative' as const },
      y: { field: 'value', type: 'quantitative' as const, title: chart.title, scale: chart.log ? { type: 'log' as const } : { zero: false } },
      color: method,
    },
    layer: [
      ...band,
      { mark: { type: 'line' as const, strokeWidth: 1.5 }, encoding: { strokeDash: method } },
      { transform: [{ filter: 'datum.marker' }], mark: { type: 'point' as const, filled: true, size: 45 }, encoding: { shape: method } },
    ],
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: chart.title,
    data: { values: data },
    hconcat: [
      view({ field: 'iteration', title: 'UL iteration' }),
      view({ field: 'elapsedMs', title: 'solver time, cumulative (ms)' }),
    ],
  };
}

type Pairs = [number, number][];
const pairsOf = (view: unknown): Pairs | undefined =>
  (Array.isArray(view) && view.every((p) => Array.isArray(p) && p.length === 2) ? (view as Pairs) : undefined);

/**
 * The generated samples of each method over the true modes (the GAN task), one panel per method;
 * undefined when no series has both views.
 */
function samplesSpec(series: ReportSeries[]): vegaLite.TopLevelSpec | undefined {
  const values = series.flatMap((s) => {
    const samples = pairsOf(s.views?.samples);
    const modes = pairsOf(s.views?.modes);
    if (samples === undefined || modes === undefined) return [];
    return [...samples.map(([x, y]) => ({ method: s.method, x, y, kind: 'generated' })), ...modes.map(([x, y]) => ({ method: s.method, x, y, kind: 'true mode' }))];
  });
  if (values.length === 0) return undefined;
  return {
    data: { values },
    facet: { field: 'method', type: 'nominal', title: null },
    columns: 3,
    spec: {
      width: 260,
      height: 260,
      mark: { type: 'point', filled: true },
      encoding: {
        x: { field: 'x', type: 'quantitative', scale: { domain: [-10, 10] }, title: null },
        y: { field: 'y', type: 'quantitative', scale: { domain: [-10, 10] }, title: null },
        color: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['generated', 'true mode'], range: ['#4c78a8', '#e45756'] } },
        size: { field: 'kind', type: 'ordinal', legend: null, scale: { domain: ['generated', 'true mode'], range: [6, 120] } },
        opacity: { field: 'kind', type: 'ordinal', legend: null, scale: { domain: ['generated', 'true mode'], range: [0.35, 1] } },
      },
    },
  } as vegaLite.TopLevelSpec;
}

/** The rendering libraries, loaded on first use. */
async function renderers() {
  const [vega, vegaLiteModule] = await Promise.all([import('vega'), import('vega-lite')]);
  return { vega, vegaLite: vegaLiteModule };
}

async function renderSvg(spec: vegaLite.TopLevelSpec): Promise<string> {
  const { vega, vegaLite: compiler } = await renderers();
  const view = new vega.View(vega.parse(compiler.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

const formatNumber = (value: number | undefined, digits = 4): string => {
  if (value === undefined) return '–';
  return Number.isFinite(value) ? String(Number(value.toPrecision(digits))) : String(value);
};

const lastDefined = <T>(values: (T | undefined)[]): T | undefined => values.filter((v) => v !== undefined).at(-1);

/** The summary's columns: a heading and a method's cell. */
function summaryColumns(series: ReportSeries[]): { heading: string; cell: (s: ReportSeries) => string }[] {
  const last = (s: ReportSeries) => s.points.at(-1);
  const numeric = (heading: string, value: (s: ReportSeries) => number | undefined) =>
    ({ heading, cell: (s: ReportSeries) => formatNumber(value(s)) });
  const withDistance = series.some((s) => s.points.some((p) => p.distanceToOptimum !== undefined));
  return [
    { heading: 'method', cell: (s) => s.method },
    { heading: 'status', cell: (s) => (s.error === undefined ? s.status : `${s.status}: ${s.error}`) },
    { heading: 'iterations', cell: (s) => String(s.points.length) },
    numeric('final F', (s) => last(s)?.upper),
    numeric('final f', (s) => last(s)?.lower),
    {
      heading: 'Kbar: last (min–max)',
      cell: (s) => {
        if (s.points.length === 0) return '–';
        const kBars = s.points.map((p) => p.steps);
        return `${kBars.at(-1)} (${Math.min(...kBars)}–${Math.max(...kBars)})`;
      },
    },
    numeric('ms / iteration', (s) => (s.points.length === 0 ? undefined : s.points.reduce((sum, p) => sum + iterationMs(p), 0) / s.points.length)),
    numeric('peak MiB', (s) => (s.points.length === 0 ? undefined : Math.max(...s.points.map((p) => p.peakBytes)) / 2 ** 20)),
    ...(withDistance ? [numeric('||x - x*|| / ||x*||', (s) => lastDefined(s.points.map((p) => p.distanceToOptimum)))] : []),
    ...metricNames(series).map((name) => numeric(name, (s) => lastDefined(s.points.map((p) => p.metrics?.[name])))),
  ];
}

function summaryTable(series: ReportSeries[]): string {
  const columns = summaryColumns(series);
  const head = columns.map((c) => `<th>${escapeHtml(c.heading)}</th>`).join('');
  const rows = series.map((s) =>
    `<tr data-method="${escapeHtml(s.method)}">${columns.map((c) => `<td>${escapeHtml(c.cell(s))}</td>`).join('')}</tr>`);
  return `<table class="summary"><thead><tr>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function runSection(report: Report, vegaLiteVersion: string): string {
  const versions = { ...report.versions, node: process.versions.node, 'vega-lite': vegaLiteVersion };
  const facts = [['seed', String(report.seed)], ...Object.entries(versions)];
  const json = (value: unknown) => `<pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre>`;
  const solvers = report.series.filter((s) => s.solver !== undefined)
    .map((s) => `<details><summary>solver of ${escapeHtml(s.method)}</summary>${json(s.solver)}</details>`);
  return `<section id="run"><h2>Run</h2>
<dl>${facts.map(([name, value]) => `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>
<h3>Config</h3>
<div class="config">${json(report.config)}</div>
${solvers.join('\n')}
</section>`;
}

const style = `body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table.summary{border-collapse:collapse}table.summary th,table.summary td{padding:.25rem .6rem;border-bottom:1px solid #ddd}
table.summary td:not(:first-child){text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:0 0 2rem}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dd{margin:0}
pre{background:#f6f6f6;padding:.75rem;overflow:auto}`;

/**
 * Writes report.html into dir with the charts inlined, and each chart beside it as an SVG file.
 * A chart with nothing to draw is left out: the distance without a known optimum, ||g_z|| without
 * initAuxiliary (always 0), a task metric no run evaluated. Returns the files written.
 */
export async function writeReport(dir: string, report: Report): Promise<string[]> {
  const methods = report.series.filter((s) => s.points.length > 0).map((s) => s.method);
  const rendered: { chart: Chart; svg: string }[] = [];
  for (const chart of [...recordCharts, ...metricCharts(metricNames(report.series))]) {
    const data = chartData(chart, report.series);
    if (data.length > 0) rendered.push({ chart, svg: await renderSvg(chartSpec(chart, data, methods)) });
  }
  const samples = samplesSpec(report.series);
  if (samples !== undefined) rendered.unshift({ chart: samplesChart, svg: await renderSvg(samples) });
  for (const { chart, svg } of rendered) writeFileDurably(path.join(dir, chart.file), svg);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(report.title)}</title>
<style>${style}</style></head>
<body><h1>${escapeHtml(report.title)}</h1>
<section id="summary"><h2>Summary</h2>
${summaryTable(report.series)}
</section>
<section id="charts"><h2>Charts</h2>
<p>Each series against the UL iteration (left) and against the solver's time, unroll + hypergradient + update summed over the iterations (right). A line of more than ${maxPointsPerLine} points is drawn through the lowest and highest point of each of ${maxPointsPerLine / 2 - 1} consecutive stretches.</p>
${rendered.map(({ chart, svg }) => `<figure class="chart" data-chart="${chart.file}">${svg}</figure>`).join('\n')}
</section>
${runSection(report, (await renderers()).vegaLite.version)}
</body></html>
`;
  writeFileDurably(path.join(dir, 'report.html'), html);
  return ['report.html', ...rendered.map((r) => r.chart.file)];
}
