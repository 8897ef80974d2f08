// Reports: report.html with its charts as inline SVG (rendered in Node by Vega-Lite), opened in a
// real headless Chromium, which must show line marks for every method on every chart.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

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

// The figures of the page as the browser parsed it: chart file -> number of line marks drawn.
function lineMarks(dom: string): Record<string, number> {
  const figures = [...dom.matchAll(/<figure class="chart" data-chart="([^"]+)">([\s\S]*?)<\/figure>/g)];
  return Object.fromEntries(figures.map(([, chart, body]) => [
    chart,
    [...body.matchAll(/<g[^>]*class="mark-line role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/g)]
      .reduce((n, [, group]) => n + (group.match(/<path[^>]*d="M[^"]+"/g) ?? []).length, 0),
  ]));
}

(chromium ? describe : describe.skip)('report.html in headless Chromium', () => {
  test('compare on Eq. 20: every chart draws one line per method; the SVG files sit beside it', () => {
    const config = {
      problem: { name: 'toy/nonconvex' },
      solver: { dynamics: { type: 'gd', lr: 0.1, steps: 20 }, hypergradient: { type: 'reverse' }, upper: { optimizer: 'sgd', lr: 0.01 } },
      iterations: 60,
    };
    const configFile = path.join(workDir, 'eq20.json');
    fs.writeFileSync(configFile, JSON.stringify(config));
    const out = path.join(workDir, 'compare');
    const cli = spawnSync(process.execPath, ['--import', tsxLoader, path.join(root, 'lib', 'cli.ts'), 'compare', configFile,
      '--methods', 'rhg,iaptt,cg', '--out', out, '--quiet'], { encoding: 'utf8' });
    expect(cli.status).toBe(0);
    for (const file of ['report.html', 'upper.svg', 'distance.svg', 'kbar.svg', 'time.svg']) {
      expect(fs.existsSync(path.join(out, file))).toBe(true);
    }
    expect(lineMarks(renderedDom(path.join(out, 'report.html')))).toEqual({
      'upper.svg': 3, 'distance.svg': 3, 'kbar.svg': 3, 'time.svg': 3,
    });
    // Each method's own run has its own one-line report.
    expect(lineMarks(renderedDom(path.join(out, 'rhg', 'report.html')))).toEqual({
      'upper.svg': 1, 'distance.svg': 1, 'kbar.svg': 1, 'time.svg': 1,
    });
  }, 120_000);
});
