// Run reports: convergence charts rendered to SVG in Node with Vega-Lite (F, the distance to the
// optimum when known, Kbar, time per iteration, and each task metric), written beside the run as
// SVG files and inlined into one self-contained report.html.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

/** One method's curve points: the fields of its metrics.jsonl lines the charts use. */
export interface ReportPoint {
  iteration: number;
  upper: number;
  steps: number;
  unrollMs: number;
  hypergradientMs: number;
  updateMs: number;
  distanceToOptimum?: number;
  /** Task metrics where they were evaluated (e.g. testAccuracy, f1). */
  metrics?: Record<string, number>;
}

export interface ReportSeries {
  method: string;
  points: ReportPoint[];
}

interface Chart {
  file: string;
  title: string;
  field: string;
  log: boolean;
}

type Row = { method: string; iteration: number } & Record<string, number | string | undefined>;

const charts: Chart[] = [
  { file: 'upper.svg', title: 'F(x, y_K)', field: 'upper', log: false },
  { file: 'distance.svg', title: '||x - x*|| / ||x*||', field: 'distance', log: true },
  { file: 'kbar.svg', title: 'Kbar (K without PTT)', field: 'kBar', log: false },
  { file: 'time.svg', title: 'ms per UL iteration', field: 'ms', log: false },
];

function rows(series: ReportSeries[]): Row[] {
  return series.flatMap(({ method, points }) => points.map((p) => ({
    method,
    iteration: p.iteration,
    upper: p.upper,
    distance: p.distanceToOptimum,
    kBar: p.steps,
    ms: p.unrollMs + p.hypergradientMs + p.updateMs,
    ...Object.fromEntries(Object.entries(p.metrics ?? {}).map(([name, value]) => [`metric.${name}`, value])),
  })));
}

/** One chart per task metric the runs evaluated (hyper-cleaning: testAccuracy, f1, ...). */
function metricCharts(values: Row[]): Chart[] {
  const names = new Set(values.flatMap((r) => Object.keys(r).filter((k) => k.startsWith('metric.'))));
  return [...names].sort().map((field) => ({ file: `${field.replace('.', '-')}.svg`, title: field.slice('metric.'.length), field, log: false }));
}

async function renderSvg(chart: Chart, values: Row[]): Promise<string> {
  const points = values.filter((r) => Number.isFinite(r[chart.field] as number) && (!chart.log || (r[chart.field] as number) > 0))
    .map((r) => ({ method: r.method, iteration: r.iteration, value: r[chart.field] }));
  const spec: vegaLite.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: chart.title,
    width: 560,
    height: 260,
    data: { values: points },
    mark: { type: 'line', interpolate: 'linear', point: points.length <= 30 },
    encoding: {
      x: { field: 'iteration', type: 'quantitative', title: 'UL iteration' },
      y: { field: 'value', type: 'quantitative', title: chart.title, scale: chart.log ? { type: 'log' } : { zero: false } },
      color: { field: 'method', type: 'nominal', title: 'method', legend: { labelLimit: 400 } },
    },
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function writeAtomically(file: string, text: string): void {
  const partial = `${file}.partial`;
  fs.writeFileSync(partial, text);
  fs.renameSync(partial, file);
}

/**
 * Writes the charts of these runs into dir (one SVG per chart) and report.html with them inlined.
 * The distance chart is left out when no point has a distance.
 */
export async function writeReport(dir: string, title: string, series: ReportSeries[]): Promise<string[]> {
  const values = rows(series);
  const wanted = [...charts.filter((c) => c.field !== 'distance' || values.some((r) => r.distance !== undefined)), ...metricCharts(values)];
  const rendered: { chart: Chart; svg: string }[] = [];
  for (const chart of wanted) rendered.push({ chart, svg: await renderSvg(chart, values) });
  for (const { chart, svg } of rendered) writeAtomically(path.join(dir, chart.file), svg);
  const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}figure{margin:0 0 2rem}</style></head>
<body><h1>${escape(title)}</h1>
<p>${series.map((s) => `${escape(s.method)}: ${s.points.length} iterations`).join(' &middot; ')}</p>
${rendered.map(({ chart, svg }) => `<figure class="chart" data-chart="${chart.file}">${svg}</figure>`).join('\n')}
</body></html>
`;
  writeAtomically(path.join(dir, 'report.html'), html);
  return ['report.html', ...rendered.map((r) => r.chart.file)];
}
