/**
 * Quantile regression against brute force: for fixed (α, β) the best γ is exact (a weighted quantile), so a fine grid
 * over (α, β) is an oracle the optimiser must match or beat.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../../src/base/index.js';
import {
  checkLoss,
  fitQuantileCore,
  quantileProfile,
  uslThroughput,
  weightedQuantile,
} from '../../../src/physics/index.js';

function noisy(seed: number, gamma: number, alpha: number, beta: number, ns: number[], windows: number) {
  const rng = mulberry32(seed);
  const rows = [];
  for (const n of ns)
    for (let w = 0; w < windows; w++)
      rows.push({ n, x: uslThroughput({ gamma, alpha, beta }, n) * (1 - 0.15 * rng.next() ** 2) });
  return rows;
}

test('quantile - the weighted quantile minimises the weighted check loss exactly', () => {
  const rng = mulberry32(9);
  for (let trial = 0; trial < 50; trial++) {
    const values = Array.from({ length: 7 }, () => rng.next() * 10);
    const weights = Array.from({ length: 7 }, () => 0.1 + rng.next());
    const tau = 0.05 + 0.9 * rng.next();
    const q = weightedQuantile(values, weights, tau);
    const loss = (c: number) => values.reduce((s, v, i) => s + weights[i] * checkLoss(v - c, tau), 0);
    for (const c of [...values, q - 1e-6, q + 1e-6]) assert.ok(loss(q) <= loss(c) + 1e-12);
  }
});

test('quantile - the optimiser matches or beats a fine brute-force grid', () => {
  for (const [seed, tau] of [
    [1, 0.1],
    [2, 0.5],
    [3, 0.9],
  ] as const) {
    const rows = noisy(seed, 100, 0.05, 0.004, [1, 2, 4, 8, 12, 16], 3);
    const fit = fitQuantileCore({ rows, weights: rows.map(() => 1) }, { tau }).estimate;
    let best = Infinity;
    for (let i = 0; i <= 150; i++) {
      for (let j = 0; j <= 150; j++) {
        best = Math.min(best, quantileProfile(rows, (i / 150) * 0.15, (j / 150) * 0.012, tau).loss);
      }
    }
    assert.ok(fit.loss <= best * (1 + 1e-9) + 1e-9, `τ = ${tau}: optimiser ${fit.loss} vs grid ${best}`);
    assert.ok(fit.alpha >= 0 && fit.beta >= 0);
  }
});

test('quantile - the P10 envelope sits under about 90% of the windows', () => {
  const rows = noisy(5, 1000, 0.03, 0.002, [1, 2, 4, 8, 16, 24, 32], 10);
  const fit = fitQuantileCore({ rows, weights: rows.map(() => 1) }, { tau: 0.1 }).estimate;
  const above = rows.filter((r) => r.x >= uslThroughput(fit, r.n) - 1e-9).length / rows.length;
  assert.ok(above >= 0.85 && above <= 0.95, `share above the envelope ${above}`);
});
