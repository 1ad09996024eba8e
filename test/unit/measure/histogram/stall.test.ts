import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeStall, createLatencyHistogram, recordLatencyMs } from '../../../../src/measure/histogram/index.js';
import { mulberry32 } from '../../../../src/base/index.js';

/** A body around 2 ms (uniform 1.5–2.5 ms) plus a fraction of stalled requests spread over 100–300 ms. */
function window(stallFraction: number, n = 20_000) {
  const rng = mulberry32(9);
  const h = createLatencyHistogram();
  for (let i = 0; i < n; i++) {
    const stalled = i < n * stallFraction;
    recordLatencyMs(h, stalled ? 100 + 200 * rng.next() : 1.5 + rng.next());
  }
  return h;
}

test('stall - a window with 5% stalled requests has P99/P50 > 8, a boundary below the stall, and is flagged', () => {
  const s = analyzeStall(window(0.05));
  assert.equal(s.stallPopulation, true);
  assert.ok(s.ratioP99P50 > 8);
  assert.ok(s.boundaryMs !== null && s.boundaryMs >= 1.5 && s.boundaryMs < 100, String(s.boundaryMs));
  assert.ok(Math.abs(s.fractionAbove - 0.05) < 0.002, String(s.fractionAbove));
  assert.equal(s.rerun, true);
});

test('stall - a 1% stall population is found but stays under the 2% re-run threshold', () => {
  const s = analyzeStall(window(0.01));
  assert.ok(s.boundaryMs !== null && s.boundaryMs < 100);
  assert.ok(Math.abs(s.fractionAbove - 0.01) < 0.002, String(s.fractionAbove));
  assert.equal(s.rerun, false);
});

test('stall - a smooth body without a stall has no kink and is not flagged', () => {
  const s = analyzeStall(window(0));
  assert.equal(s.stallPopulation, false);
  assert.equal(s.boundaryMs, null);
  assert.equal(s.rerun, false);
  // An exponential body: a steep but smooth tail is not a stall boundary.
  const rng = mulberry32(3);
  const h = createLatencyHistogram();
  for (let i = 0; i < 20_000; i++) recordLatencyMs(h, -Math.log(1 - rng.next()) * 5);
  assert.equal(analyzeStall(h).boundaryMs, null);
  assert.equal(analyzeStall(createLatencyHistogram()).rerun, false);
});
