import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../../../src/base/index.js';
import { fitWindows, pointsFromWindows, retrogradeCheck, sanityCheck } from '../../../../src/measure/lab/fit.js';
import type { WindowRecord } from '../../../../src/measure/lab/windows.js';

function law(gamma: number, alpha: number, beta: number, n: number): number {
  return (gamma * n) / (1 + alpha * (n - 1) + beta * n * (n - 1));
}

function window(n: number, x: number, attempt: number, kept = true): WindowRecord {
  return {
    kind: 'window',
    n,
    concurrency: 2 * n + 2,
    attempt,
    startedAt: '2026-11-23T12:00:00.000Z',
    durationMs: 1000,
    completed: Math.round(x),
    errors: 0,
    aboveStall: 0,
    throughputPerSec: x,
    ratioP99P50: 1.5,
    stallBoundaryMs: null,
    stealPct: 0,
    kept,
    reason: kept ? null : 'stall',
    firstError: null,
    histogram: '',
  };
}

/** Windows from a known law with seeded ±2% noise. */
function lawWindows(plan: number[], perN: number, seed = 3): WindowRecord[] {
  const rng = mulberry32(seed);
  const out: WindowRecord[] = [];
  for (const n of plan) {
    for (let i = 0; i < perN; i++) out.push(window(n, law(100, 0.05, 0.002, n) * (1 + 0.04 * (rng.next() - 0.5)), i));
  }
  return out;
}

test('lab fit - recovers a known law: point estimates close, N_max, ceiling, band and the retrograde confirmed', () => {
  const fitted = fitWindows(lawWindows([1, 2, 4, 8, 16, 32, 48], 5))!;
  const { gamma, alpha, beta, nMax } = fitted.fit;
  assert.ok(Math.abs(gamma.value - 100) < 2);
  assert.ok(Math.abs(alpha.value - 0.05) < 0.01);
  assert.ok(Math.abs(beta.value - 0.002) < 0.0004);
  assert.ok(gamma.low !== null && alpha.low !== null && beta.low !== null);
  assert.ok(nMax && Math.abs(nMax.value - Math.sqrt(0.95 / 0.002)) < 3);
  assert.ok(fitted.fit.sanity.passed);
  assert.ok(fitted.fit.autoscalerCeiling !== null);
  assert.equal(fitted.fit.retrograde.confirmed, true, fitted.fit.retrograde.note);
  assert.ok(fitted.band && fitted.band.n.length > 10);
});

test('lab fit - the 90% intervals cover the true coefficients about 90% of the time (30 seeded runs)', () => {
  const misses = { gamma: 0, alpha: 0, beta: 0 };
  const truth = { gamma: 100, alpha: 0.05, beta: 0.002 };
  const runs = 30;
  for (let seed = 1; seed <= runs; seed++) {
    const fit = fitWindows(lawWindows([1, 2, 4, 8, 16, 32], 4, seed), 1)!.fit;
    for (const name of ['gamma', 'alpha', 'beta'] as const) {
      const e = fit[name];
      if (!(e.low !== null && e.high !== null && e.low <= truth[name] && truth[name] <= e.high)) misses[name]++;
    }
  }
  // Nominal 10% (3 of 30); more than 7 would mean the intervals are far too narrow.
  for (const [name, count] of Object.entries(misses)) assert.ok(count <= 7, `${name} missed ${count} of ${runs}`);
});

test('lab fit - fewer than 5 distinct N gives a point estimate without intervals and says so', () => {
  const fitted = fitWindows(lawWindows([1, 4, 16], 3))!;
  assert.equal(fitted.fit.gamma.low, null);
  assert.equal(fitted.fit.autoscalerCeiling, null);
  assert.ok(fitted.fit.warnings.some((w) => /distinct N/.test(w)));
});

test('lab fit - discarded windows do not count; one N is nothing to fit', () => {
  const windows = [window(1, 100, 0), window(1, 5, 1, false), window(2, 190, 0, false)];
  const points = pointsFromWindows(windows);
  assert.deepEqual(
    points.map((p) => [p.n, p.throughputPerSec, p.windowsKept, p.windowsDiscarded]),
    [[1, 100, 1, 1]],
  );
  assert.equal(fitWindows(windows), null);
});

test('lab fit - the retrograde check needs a fall beyond the noise and points past N_max', () => {
  const p = (n: number, x: number, sd = 1) => ({
    n,
    concurrency: n,
    throughputPerSec: x,
    throughputSdPerSec: sd,
    windowsKept: 3,
    windowsDiscarded: 0,
  });
  assert.equal(retrogradeCheck([p(1, 10), p(8, 60), p(16, 40)], 10).confirmed, true);
  assert.equal(retrogradeCheck([p(1, 10), p(8, 60), p(16, 59)], 10).measured, false);
  assert.equal(retrogradeCheck([p(1, 10), p(8, 60), p(16, 40)], 20).confirmed, false);
  const sanity = sanityCheck([p(1, 10), p(2, 30)], { gamma: 10, alpha: 0, beta: 0 });
  assert.equal(sanity.passed, false);
  assert.equal(sanity.worstN, 2);
});
