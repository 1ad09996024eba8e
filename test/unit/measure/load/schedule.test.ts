import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArrivalSequence,
  constantProfile,
  CumulativeIntensity,
  parseStages,
} from '../../../../src/measure/load/index.js';
import { mulberry32 } from '../../../../src/base/index.js';

function drain(seq: ArrivalSequence, bound = 1_000_000) {
  const out = [];
  for (let a = seq.next(); a !== null && out.length < bound; a = seq.next()) out.push(a);
  return out;
}

test('schedule - stages parse as k6 DURATION:RATE pairs', () => {
  assert.deepEqual(parseStages('30s:1000,60s:5000'), [
    { durationMs: 30_000, ratePerSecTarget: 1000 },
    { durationMs: 60_000, ratePerSecTarget: 5000 },
  ]);
  assert.deepEqual(parseStages('500ms:10, 2m:0'), [
    { durationMs: 500, ratePerSecTarget: 10 },
    { durationMs: 120_000, ratePerSecTarget: 0 },
  ]);
});

test('schedule - malformed stages fail with SHOCK_LOAD_BAD_OPTION naming every bad item', () => {
  for (const bad of ['30s', '30s:', 'x:100', '30s:100,abc', '0s:100', '10s:0', '30s:-5', '']) {
    assert.throws(() => parseStages(bad), { code: 'SHOCK_LOAD_BAD_OPTION' }, bad);
  }
  assert.throws(
    () => parseStages('30s,1m:x'),
    (err: { message: string }) => /"30s"/.test(err.message) && /"1m:x"/.test(err.message),
  );
});

test('schedule - a constant rate places request i at i / r, computed from the start (no drift)', () => {
  const intensity = new CumulativeIntensity(constantProfile(1000, 10_000));
  const arrivals = drain(new ArrivalSequence(intensity, 'constant', mulberry32(1)));
  assert.equal(arrivals.length, 10_000);
  for (const i of [0, 1, 999, 5000, 9999]) {
    assert.equal(arrivals[i].seq, i);
    assert.ok(Math.abs(arrivals[i].dueMs - i) < 1e-9, `${arrivals[i].dueMs}`);
  }
});

test('schedule - a linear ramp inverts the cumulative intensity Λ(t) = r0·t + (r1 − r0)·t²/2T', () => {
  // 0 → 1000 req/s over 10 s: Λ(t) = 0.05·t² (t in ms, Λ in requests), 5000 requests in all.
  const intensity = new CumulativeIntensity({
    ratePerSecInitial: 0,
    stages: [{ durationMs: 10_000, ratePerSecTarget: 1000 }],
  });
  assert.ok(Math.abs(intensity.countTotal - 5000) < 1e-6);
  for (const n of [1, 100, 1250, 4999]) {
    const t = intensity.timeOfCountMs(n) as number;
    assert.ok(Math.abs(0.5 * (1000 / 1000 / 10_000) * t * t - n) < 1e-6, `n=${n} t=${t}`);
  }
  assert.equal(intensity.timeOfCountMs(5000), null);
  // Ramp down and hold: 30s:1000,60s:5000 — 30 000 then 180 000 more.
  const two = new CumulativeIntensity({ ratePerSecInitial: 1000, stages: parseStages('30s:1000,60s:5000') });
  assert.ok(Math.abs(two.countTotal - 210_000) < 1e-6);
  assert.ok(Math.abs((two.timeOfCountMs(30_000) as number) - 30_000) < 1e-6);
});

test('schedule - Poisson arrivals have the target mean count and exponential gaps', () => {
  const intensity = new CumulativeIntensity(constantProfile(1000, 100_000));
  const arrivals = drain(new ArrivalSequence(intensity, 'poisson', mulberry32(7)));
  // Count ~ Poisson(100 000): within 5 standard deviations (±1 581).
  assert.ok(Math.abs(arrivals.length - 100_000) < 1600, String(arrivals.length));
  const gaps = arrivals.slice(1).map((a, i) => a.dueMs - arrivals[i].dueMs);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  const cv = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length) / mean;
  assert.ok(Math.abs(mean - 1) < 0.02 && Math.abs(cv - 1) < 0.03, `mean ${mean} cv ${cv}`);
});

test('schedule - workers split a constant schedule into interleaved parts whose union is the whole', () => {
  const intensity = new CumulativeIntensity(constantProfile(500, 2000));
  const whole = drain(new ArrivalSequence(intensity, 'constant', mulberry32(1)));
  const parts = [0, 1, 2].flatMap((w) => drain(new ArrivalSequence(intensity, 'constant', mulberry32(1), w, 3)));
  parts.sort((a, b) => a.seq - b.seq);
  assert.deepEqual(parts, whole);
});
