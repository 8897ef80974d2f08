// Reports: report.html with a summary table, one chart per recorded series (inline SVG rendered in
// Node by Vega-Lite) and the run's config, seed and versions, opened in a real headless Chromium:
// what the browser parsed must hold every chart, each method's lines told apart by colour, dash and
// point shape, and one summary row per method.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeReport, type ReportPoint } from '../lib/report';

const root = path.join(__dirname, '..');
const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-report-'));
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find(
  (name) => spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0,
);
if (chromium === undefined) console.warn('No Chromium found: the report test is skipped (Debian: apt-get install chromium)');

function renderedDom(file: string): string {
  return execFileSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', pathToFileURL(file).href],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
}

const attributes = (element: string): Record<string, string> =>
  Object.fromEntries([...element.matchAll(/([\w-]+)="([^"]*)"/g)].map(([, name, value]) => [name, value]));

/** A chart as the browser parsed it: its drawn lines, point symbols and bands, each with its method and look. */
interface Chart {
  lines: { method: string; look: string }[];
  points: { method: string; shape: string }[];
  /** A band's first point, as its label gives it: method, low and high. */
  bands: { method: string; low: number; high: number }[];
}

function charts(dom: string): Record<string, Chart> {
  const figures = [...dom.matchAll(/<figure class="chart" data-chart="([^"]+)">([\s\S]*?)<\/figure>/g)];
  return Object.fromEntries(figures.map(([, file, body]) => {
    const marks = [...body.matchAll(/<path [^>]*>/g)].map(([element]) => attributes(element))
      .filter((a) => a['aria-label'] !== undefined && a.d?.startsWith('M'))
      .map((a) => Object.assign(a, { method: /method: ([^;]*)/.exec(a['aria-label'])![1] }));
    const labelled = (a: Record<string, string>, name: string) => Number(new RegExp(`; ${name}: ([^;]*)`).exec(a['aria-label'])![1]);
    return [file, {
      lines: marks.filter((a) => a['aria-roledescription'] === 'line mark')
        .map((a) => ({ method: a.method, look: `${a.stroke} ${a['stroke-dasharray'] ?? 'solid'}` })),
      points: marks.filter((a) => a['aria-roledescription'] === 'point').map((a) => ({ method: a.method, shape: a.d })),
      bands: marks.filter((a) => a['aria-roledescription'] === 'errorband')
        .map((a) => ({ method: a.method, low: labelled(a, 'low'), high: labelled(a, 'high') })),
    }];
  }));
}

/** The summary table's rows: the cells by column heading. */
function summaryRows(dom: string): Record<string, string>[] {
  const table = /<table class="summary">([\s\S]*?)<\/table>/.exec(dom)![1];
  const cells = (row: string, tag: string) => [...row.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map(([, text]) => text);
  const headings = cells(/<thead>([\s\S]*?)<\/thead>/.exec(table)![1], 'th');
  return [...table.matchAll(/<tr data-method="[^"]*">([\s\S]*?)<\/tr>/g)]
    .map(([, row]) => Object.fromEntries(cells(row, 'td').map((text, i) => [headings[i], text])));
}

/** Each method draws one line per view (against the iteration, against time) in one look of its own, with its own point shape. */
function expectMethodsApart(chart: Chart, methods: string[]): void {
  expect(chart.lines.map((l) => l.method).sort()).toEqual([...methods, ...methods].sort());
  const lookOf = (method: string) => new Set(chart.lines.filter((l) => l.method === method).map((l) => l.look));
  const shapeOf = (method: string) => new Set(chart.points.filter((p) => p.method === method).map((p) => p.shape));
  for (const method of methods) {
    expect(lookOf(method).size).toBe(1);
    expect(shapeOf(method).size).toBe(1);
  }
  expect(new Set(methods.map((m) => [...lookOf(m)][0])).size).toBe(methods.length);
  expect(new Set(methods.map((m) => [...shapeOf(m)][0])).size).toBe(methods.length);
}

const seriesCharts = ['upper.svg', 'lower.svg', 'gradient-norm-x.svg', 'kbar.svg', 'unroll-ms.svg', 'hypergradient-ms.svg', 'update-ms.svg', 'distance.svg'];

(chromium ? describe : describe.skip)('report.html in headless Chromium', () => {
  test('compare on Eq. 20: a summary row and a chart of every series per method, told apart; the config, seed and versions', () => {
    const config = {
      problem: { name: 'toy/nonconvex' },
      solver: { dynamics: { type: 'gd', lr: 0.1, steps: 20 }, hypergradient: { type: 'reverse' }, upper: { optimizer: 'sgd', lr: 0.01 } },
      iterations: 60,
      seed: 7,
    };
    const configFile = path.join(workDir, 'eq20.json');
    fs.writeFileSync(configFile, JSON.stringify(config));
    const out = path.join(workDir, 'compare');
    const methods = ['rhg', 'iaptt', 'cg'];
    const cli = spawnSync(process.execPath, ['--import', tsxLoader, path.join(root, 'lib', 'cli.ts'), 'compare', configFile,
      '--methods', methods.join(','), '--out', out, '--quiet'], { encoding: 'utf8' });
    expect(cli.status).toBe(0);
    // ||g_z|| is charted for the one method with initAuxiliary (iaptt); the others' is always 0.
    const files = [...seriesCharts, 'gradient-norm-z.svg'];
    for (const file of ['report.html', ...files]) expect(fs.existsSync(path.join(out, file))).toBe(true);

    const dom = renderedDom(path.join(out, 'report.html'));
    const drawn = charts(dom);
    expect(Object.keys(drawn).sort()).toEqual([...files].sort());
    for (const file of seriesCharts) expectMethodsApart(drawn[file], methods);
    expect(drawn['gradient-norm-z.svg'].lines.map((l) => l.method)).toEqual(['iaptt', 'iaptt']);

    const rows = summaryRows(dom);
    expect(rows.map((r) => [r.method, r.status, r.iterations])).toEqual(methods.map((m) => [m, 'completed', '60']));
    for (const row of rows) {
      for (const column of ['final F', 'final f', 'Kbar: last (min–max)', 'ms / iteration', 'peak MiB', '||x - x*|| / ||x*||']) {
        expect(row[column]).toMatch(/^[0-9-]/);
      }
    }
    const run = /<section id="run">([\s\S]*?)<\/section>/.exec(dom)![1];
    expect(run).toMatch(/<dt>seed<\/dt><dd>7<\/dd>/);
    expect(run).toMatch(/<dt>bilevel<\/dt><dd>\d+\.\d+\.\d+<\/dd>/);
    expect(run).toMatch(/<dt>libtorch<\/dt><dd>\d+\.\d+/);
    expect(run).toContain('"name": "toy/nonconvex"');
    for (const method of methods) expect(run).toContain(`solver of ${method}`);

    // Each method's own run has its own report: one method (named by its solver), no ||g_z|| for rhg.
    const own = renderedDom(path.join(out, 'rhg', 'report.html'));
    const ownRows = summaryRows(own);
    expect(ownRows.map((r) => [r.method, r.status])).toEqual([['gd + reverse', 'completed']]);
    expect(Object.keys(charts(own)).sort()).toEqual([...seriesCharts].sort());
    for (const chart of Object.values(charts(own))) expectMethodsApart(chart, ['gd + reverse']);
    // No metric here with a confidence interval: no bands.
    for (const chart of Object.values(drawn)) expect(chart.bands).toEqual([]);
  }, 180_000);

  test('an accuracy with its 95% interval recorded beside it (few-shot\'s) is drawn with the interval as a band', async () => {
    const points = (start: number): ReportPoint[] => [0, 1, 2].map((iteration) => ({
      iteration, upper: 1, lower: 1, steps: 3, unrollMs: 1, hypergradientMs: 1, updateMs: 1, peakBytes: 0, gradientNormX: 1, gradientNormZ: 0,
      metrics: { testAccuracy: start + 0.1 * iteration, testConfidence95: 0.02 * (iteration + 1) },
    } as ReportPoint));
    const out = path.join(workDir, 'band');
    fs.mkdirSync(out);
    await writeReport(out, {
      title: 'bands', config: {}, seed: 0, versions: {},
      series: [{ method: 'rhg', status: 'completed', points: points(0.4) }, { method: 'maml', status: 'completed', points: points(0.5) }],
    });
    const drawn = charts(renderedDom(path.join(out, 'report.html')));
    expectMethodsApart(drawn['metric-testAccuracy.svg'], ['rhg', 'maml']);
    // One band per method and view, from accuracy - interval to accuracy + interval.
    expect(drawn['metric-testAccuracy.svg'].bands.map((b) => b.method).sort()).toEqual(['maml', 'maml', 'rhg', 'rhg']);
    for (const band of drawn['metric-testAccuracy.svg'].bands) {
      const start = band.method === 'rhg' ? 0.4 : 0.5;
      expect(band.low).toBeCloseTo(start - 0.02, 10);
      expect(band.high).toBeCloseTo(start + 0.02, 10);
    }
    expect(drawn['metric-testConfidence95.svg'].bands).toEqual([]);
  }, 60_000);
});

test('the library loads without the report renderers; writing a report loads them', () => {
  // A fresh process: jest's module registry would hide what Node itself loaded.
  const script = `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register();
    const loaded = () => Object.keys(require.cache).some((file) => /node_modules[\\\\/]vega(-lite)?[\\\\/]/.test(file));
    require(${JSON.stringify(path.join(root, 'lib'))});
    const atLoad = loaded();
    require(${JSON.stringify(path.join(root, 'lib', 'report'))}).writeReport(${JSON.stringify(workDir)}, { title: 't', config: {}, seed: 0, versions: {}, series: [] })
      .then(() => console.log(JSON.stringify({ atLoad, afterReport: loaded() })));`;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ atLoad: false, afterReport: true });
}, 60_000);
