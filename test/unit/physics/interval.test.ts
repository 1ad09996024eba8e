/**
 * Intervals: the delta method against a numerical derivative, the autoscaler ceiling example, the bootstrap's
 * reproducibility, and the statistical helpers against known values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  autoscalerCeiling,
  bootstrapUsl,
  fitCore,
  nMaxDeltaInterval,
  normalQuantile,
  quantileSorted,
  studentTQuantile,
  uslNMax,
  uslThroughput,
  type WeightedRows,
} from '../../../src/physics/index.js';

test('interval - autoscaler ceiling: N_max 18 with interval [14, 22] gives 12 (seed 004)', () => {
  assert.equal(autoscalerCeiling(14), 12);
  assert.equal(autoscalerCeiling(14.9), 12);
  assert.equal(autoscalerCeiling(2.5), null, 'less than one node');
  assert.equal(autoscalerCeiling(Infinity), null);
});

test('interval - delta method matches a numerical gradient and uses z = 1.645 at 90%', () => {
  const alpha = 0.04;
  const beta = 0.01;
  const cov = [
    [1e-5, -2e-7],
    [-2e-7, 4e-8],
  ];
  const d = nMaxDeltaInterval(alpha, beta, cov, 0.9)!;
  const h = 1e-7;
  const gA = (uslNMax(alpha + h, beta) - uslNMax(alpha - h, beta)) / (2 * h);
  const gB = (uslNMax(alpha, beta + h * 1e-2) - uslNMax(alpha, beta - h * 1e-2)) / (2 * h * 1e-2);
  const variance = gA * gA * cov[0][0] + 2 * gA * gB * cov[0][1] + gB * gB * cov[1][1];
  assert.ok(Math.abs(d.se - Math.sqrt(variance)) < 1e-6 * d.se);
  assert.ok(Math.abs(d.upper - d.nMax - 1.6448536 * d.se) < 1e-6);
  assert.equal(nMaxDeltaInterval(0.1, 0, cov), undefined, 'β = 0: N_max is unbounded');
});

test('interval - the normal and Student t quantiles', () => {
  assert.ok(Math.abs(normalQuantile(0.95) - 1.6448536269514722) < 1e-12);
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959963984540054) < 1e-12);
  assert.ok(Math.abs(normalQuantile(0.001) + 3.090232306167813) < 1e-10);
  assert.ok(Math.abs(studentTQuantile(0.975, 8) - 2.306004135) < 1e-8);
  assert.ok(Math.abs(studentTQuantile(0.95, 3) - 2.353363435) < 1e-8);
  assert.ok(Math.abs(studentTQuantile(0.95, 1) - 6.313751515) < 1e-7);
  assert.ok(Math.abs(studentTQuantile(0.05, 5) + 2.015048373) < 1e-8);
});

test('interval - type-7 quantiles, with infinities and without NaN', () => {
  assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantileSorted([1, 2, 3, 4], 0), 1);
  assert.equal(quantileSorted([1, 2, Infinity, Infinity], 0.95), Infinity);
  assert.equal(quantileSorted([1, 2, 3, Infinity], 0.5), 2.5);
});

test('interval - bootstrap: the same seed gives the same interval, another seed another', () => {
  const rows = [1, 2, 4, 6, 8, 12, 16, 24].map((n, i) => ({
    n,
    x: uslThroughput({ gamma: 100, alpha: 0.03, beta: 0.004 }, n) * (1 + 0.03 * Math.sin(7 * i)),
  }));
  const input = { rows, weights: rows.map(() => 1) };
  const fit = (sample: WeightedRows) => fitCore('nls', sample);
  const a = bootstrapUsl(input, fit, { resamples: 200, seed: 42, bandN: [1, 8, 16] })!;
  const b = bootstrapUsl(input, fit, { resamples: 200, seed: 42, bandN: [1, 8, 16] })!;
  const c = bootstrapUsl(input, fit, { resamples: 200, seed: 43, bandN: [1, 8, 16] })!;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.nMax, c.nMax);
  assert.equal(a.band!.n.length, 3);
  for (let k = 0; k < 3; k++) assert.ok(a.band!.lower[k] <= a.band!.upper[k]);
  assert.ok(a.nMax.lower < a.nMax.upper);
});
