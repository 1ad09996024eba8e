/// <reference lib="dom" />
/**
 * The fit report in a real browser: `shock fit --report` writes the HTML, headless Chromium (Debian `chromium`
 * through playwright-core) opens it, and every plotted point must sit where its data says — its cx/cy against the
 * chart's axes, read back from the tick marks the page draws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium, skipWithoutChromium } from '../helpers/browser.js';
import { runCli, tempDir } from '../helpers/cli.js';

interface ChartCheck {
  id: string;
  points: { x: number; y: number; n: number; cx: number; cy: number }[];
  xTicks: { value: number; px: number }[];
  yTicks: { value: number; px: number }[];
  markers: { x: number; px: number; label: string }[];
  bands: number;
  lines: number;
  box: { width: number; height: number };
}

test(
  'fit report - renders in Chromium and the points are where the data says',
  { skip: skipWithoutChromium },
  async () => {
    const { dir, cleanup } = tempDir();
    const browser = await launchChromium();
    try {
      const html = join(dir, 'fit.html');
      const r = await runCli([
        'fit',
        'examples/counter-shard-campaign.csv',
        '--report',
        html,
        '--bootstrap',
        '200',
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const fit = JSON.parse(r.stdout);
      const source = readFileSync(html, 'utf8');
      assert.doesNotMatch(
        source,
        /<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/,
        'self-contained: no script, nothing fetched',
      );

      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (req) => requests.push(req.url()));
      // tsx compiles the evaluated callback with esbuild's keepNames, which calls a __name helper the page lacks.
      await page.addInitScript('window.__name = (f) => f;');
      await page.goto(pathToFileURL(html).toString());
      assert.deepEqual(errors, []);
      assert.deepEqual(
        requests.filter((u) => !u.startsWith('file:')),
        [],
        'the page fetches nothing',
      );
      assert.match(await page.title(), /USL fit/);
      assert.equal(await page.locator('#roi-table tbody tr').count(), fit.roi.length);
      assert.ok((await page.locator('.card').count()) >= 5);

      const charts: ChartCheck[] = await page.evaluate(() =>
        ['throughput-chart', 'efficiency-chart'].map((id) => {
          const svg = document.getElementById(id)!;
          const num = (el: Element, name: string) => Number(el.getAttribute(name));
          const rect = svg.getBoundingClientRect();
          return {
            id,
            points: [...svg.querySelectorAll('circle.point')].map((c) => ({
              x: num(c, 'data-x'),
              y: num(c, 'data-y'),
              n: num(c, 'data-n'),
              cx: num(c, 'cx'),
              cy: num(c, 'cy'),
            })),
            xTicks: [...svg.querySelectorAll('.x-axis .tick')].map((t) => ({
              value: num(t, 'data-value'),
              px: num(t.querySelector('line')!, 'x1'),
            })),
            yTicks: [...svg.querySelectorAll('.y-axis .tick')].map((t) => ({
              value: num(t, 'data-value'),
              px: num(t.querySelector('line')!, 'y1'),
            })),
            markers: [...svg.querySelectorAll('.marker')].map((m) => ({
              x: num(m, 'data-x'),
              px: num(m.querySelector('line')!, 'x1'),
              label: m.getAttribute('data-label') ?? '',
            })),
            bands: svg.querySelectorAll('polygon.band').length,
            lines: svg.querySelectorAll('polyline.line').length,
            box: { width: rect.width, height: rect.height },
          };
        }),
      );

      const rows: { n: number; x: number }[] = fit.rows;
      for (const chart of charts) {
        assert.ok(chart.box.width > 300 && chart.box.height > 200, `${chart.id} is laid out`);
        assert.equal(chart.points.length, rows.length, `${chart.id}: one point per measurement`);
        assert.ok(chart.bands >= 1, `${chart.id}: the band is drawn`);
        assert.ok(chart.lines >= 2, `${chart.id}: curve and ideal`);
        // Pixel ↔ value from two ticks of each axis: the page's own axes are the reference.
        const fromTicks = (ticks: { value: number; px: number }[]) => {
          const a = ticks[0];
          const b = ticks[ticks.length - 1];
          return (v: number) => a.px + ((v - a.value) / (b.value - a.value)) * (b.px - a.px);
        };
        const xPx = fromTicks(chart.xTicks);
        const yPx = fromTicks(chart.yTicks);
        chart.points.forEach((p, i) => {
          const row = rows[i];
          assert.equal(p.n, row.n, `${chart.id} point ${i}: data-n`);
          assert.equal(p.x, row.n);
          const expectedY = chart.id === 'throughput-chart' ? row.x : row.x / (row.n * fit.gamma);
          assert.ok(Math.abs(p.y - expectedY) <= 1e-9 * Math.abs(expectedY), `${chart.id} point ${i}: data-y`);
          assert.ok(Math.abs(p.cx - xPx(p.x)) < 0.6, `${chart.id} point ${i}: cx ${p.cx} vs ${xPx(p.x)}`);
          assert.ok(Math.abs(p.cy - yPx(p.y)) < 0.6, `${chart.id} point ${i}: cy ${p.cy} vs ${yPx(p.y)}`);
        });
        const nMax = chart.markers.find((m) => m.label.startsWith('N_max'));
        assert.ok(nMax, `${chart.id}: N_max marker`);
        assert.ok(Math.abs(nMax!.x - fit.nMax) < 1e-9);
        assert.ok(Math.abs(nMax!.px - xPx(fit.nMax)) < 0.6);
        // Larger throughput is higher on the page.
        const top = chart.points.reduce((a, b) => (b.y > a.y ? b : a));
        const bottom = chart.points.reduce((a, b) => (b.y < a.y ? b : a));
        assert.ok(top.cy < bottom.cy);
      }
      await page.screenshot({ path: join(dir, 'fit.png'), fullPage: true });
    } finally {
      await browser.close();
      cleanup();
    }
  },
);
