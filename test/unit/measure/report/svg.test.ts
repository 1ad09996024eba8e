/**
 * The generic inline-SVG plotting module: nice ticks, linear and log scales, and charts whose points carry their data
 * coordinates and land where the axes say.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createScale,
  escapeXml,
  logTicks,
  niceStep,
  niceTicks,
  renderChart,
} from '../../../../src/measure/report/svg.js';
import { formatNumber, formatPercent } from '../../../../src/measure/report/format.js';

test('svg - nice ticks are 1-2-5 steps covering the range', () => {
  assert.deepEqual(niceTicks(0, 4348, 6), [0, 1000, 2000, 3000, 4000, 5000]);
  assert.deepEqual(niceTicks(0.2, 0.97, 5), [0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(3, 3), [2.6, 2.8, 3, 3.2, 3.4]);
  assert.equal(niceStep(0.7), 1);
  assert.equal(niceStep(1.7), 2);
  assert.equal(niceStep(37), 50);
  assert.deepEqual(logTicks(3, 4000), [1, 10, 100, 1000, 10000]);
  assert.deepEqual(logTicks(1, 50), [1, 2, 5, 10, 20, 50, 100]);
});

test('svg - linear and log scales map and invert', () => {
  const lin = createScale('linear', [0, 10], [100, 600]);
  assert.equal(lin.map(5), 350);
  assert.equal(lin.invert(350), 5);
  const log = createScale('log', [1, 1000], [400, 100]);
  assert.ok(Math.abs(log.map(10) - 300) < 1e-9);
  assert.ok(Math.abs(log.invert(200) - 100) < 1e-9);
});

test('svg - a chart carries its plot area, domains, ticks and point data for checking', () => {
  const svg = renderChart({
    id: 'c1',
    title: 'A <title> & more',
    x: { label: 'N', min: 0 },
    y: { label: 'X', includeZero: true },
    series: [
      { kind: 'band', name: 'band', x: [1, 2, 3], lower: [1, 2, 3], upper: [2, 3, 4] },
      {
        kind: 'line',
        name: 'fit',
        points: [
          { x: 1, y: 1 },
          { x: 3, y: 3 },
        ],
      },
      { kind: 'points', name: 'measured', points: [{ x: 2, y: 2.5, attrs: { 'data-n': 2 }, title: 'N = 2' }] },
    ],
    markers: [{ x: 2.5, label: 'N_max' }],
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" class="chart" id="c1"/);
  assert.match(svg, /A &lt;title&gt; &amp; more/);
  const attr = (name: string) => Number(new RegExp(`${name}="([^"]+)"`).exec(svg)![1]);
  const [left, top, width, height] = ['data-plot-left', 'data-plot-top', 'data-plot-width', 'data-plot-height'].map(
    attr,
  );
  const [xMin, xMax, yMin, yMax] = ['data-x-min', 'data-x-max', 'data-y-min', 'data-y-max'].map(attr);
  assert.equal(xMin, 0);
  assert.equal(yMin, 0);
  const circle = /<circle class="point" cx="([^"]+)" cy="([^"]+)"[^>]*data-x="2" data-y="2.5" data-n="2"/.exec(svg);
  assert.ok(circle, 'the point carries data-x, data-y and the caller’s data-n');
  assert.ok(Math.abs(Number(circle![1]) - (left + ((2 - xMin) / (xMax - xMin)) * width)) < 0.01);
  assert.ok(Math.abs(Number(circle![2]) - (top + height - ((2.5 - yMin) / (yMax - yMin)) * height)) < 0.01);
  assert.match(svg, /<title>N = 2<\/title>/);
  assert.match(svg, /class="marker" data-x="2.5" data-label="N_max"/);
  assert.match(svg, /<polygon class="band"/);
  assert.match(svg, /class="legend"/);
  assert.doesNotMatch(svg, /NaN|Infinity/);
  assert.equal(renderChart({ x: { label: 'a' }, y: { label: 'b' }, series: [] }).includes('NaN'), false, 'empty chart');
});

test('svg - log axes drop non-positive values instead of drawing NaN', () => {
  const svg = renderChart({
    x: { label: 'N', kind: 'log' },
    y: { label: 'ms', kind: 'log' },
    series: [
      {
        kind: 'points',
        name: 'p',
        points: [
          { x: 0, y: 5 },
          { x: 10, y: 0 },
          { x: 100, y: 50 },
        ],
      },
    ],
  });
  assert.equal((svg.match(/<circle class="point"/g) ?? []).length, 1);
  assert.doesNotMatch(svg, /NaN|Infinity/);
  assert.match(svg, /data-x-scale="log"/);
});

test('format - numbers, percentages and the infinities in words', () => {
  assert.equal(formatNumber(4424.8), '4,425');
  assert.equal(formatNumber(0.039995, 4), '0.04');
  assert.equal(formatNumber(7.892e-5, 4), '7.892e-5');
  assert.equal(formatNumber(Infinity), '∞');
  assert.equal(formatNumber(NaN), '—');
  assert.equal(formatPercent(-0.194), '−19.4%');
  assert.equal(escapeXml(`"<a>'&`), '&quot;&lt;a&gt;&#39;&amp;');
});
