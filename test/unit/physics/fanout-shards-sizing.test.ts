/**
 * Fan-out, shards, sizing and queueing against the seeds' worked examples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../../src/base/index.js';
import {
  cellsFor,
  coherencyDomainCeiling,
  compositeLatency,
  compositeProbability,
  coordinatedOmissionBias,
  correlatedCompositeProbability,
  correlatedFloor,
  effectiveBeta,
  empiricalDistribution,
  kingmanWait,
  littleL,
  littleW,
  mm1,
  mm1ResponsePercentile,
  mm1WaitPercentile,
  planCell,
  planPartitions,
  requiredServerPercentile,
  requiredServerPercentileCorrelated,
  requiredTreePercentile,
  shadowCeiling,
  shadowGap,
  simulateHedging,
  spectrumDistribution,
  stallExposure,
  uslNMax,
  uslXMax,
  zipfHotShardShare,
  zipfTopShare,
} from '../../../src/physics/index.js';

const close = (a: number, b: number, tol: number, what = '') =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} ± ${tol}`);

test('fanout - 0.99^50 ≈ 0.605: a per-server P99 is a composite coin flip (seed 004)', () => {
  close(compositeProbability(0.99, 50), 0.605, 0.0005);
});

test('fanout - composite P99 needs P99.9 at 10, P99.99 at 100, P99.999 at 1,000 (seed 004)', () => {
  // q^(1/N) = 0.998995 at N = 10: the prose's "P99.9" is the rounded value.
  close(requiredServerPercentile(0.99, 1), 0.99, 1e-15);
  close(requiredServerPercentile(0.99, 10), 0.999, 1.1e-5);
  close(requiredServerPercentile(0.99, 100), 0.9999, 1.1e-6);
  close(requiredServerPercentile(0.99, 1000), 0.99999, 1.1e-7);
  // Trees: k = 10, depth d charges one decade per level.
  close(requiredTreePercentile(0.99, 10, 1), 0.999, 1.1e-5);
  close(requiredTreePercentile(0.99, 10, 2), 0.9999, 1.1e-6);
  close(requiredTreePercentile(0.99, 10, 3), 0.99999, 1.1e-7);
  // The relay race: 10 counter shards at composite P99 need each shard at P99.9.
  close(requiredServerPercentile(0.99, 10), 0.999, 1.1e-5);
  assert.throws(() => requiredServerPercentile(1.2, 10), { code: 'SHOCK_PHYSICS_DOMAIN' });
});

test('fanout - composite latency from an empirical distribution is its q^(1/N) quantile', () => {
  const samples = Array.from({ length: 100_001 }, (_, i) => i / 1000); // uniform on [0, 100]
  const dist = empiricalDistribution(samples);
  close(compositeLatency(dist, 0.99, 1), 99, 1e-9);
  close(compositeLatency(dist, 0.99, 10), 100 * 0.99 ** 0.1, 1e-6);
  const spectrum = spectrumDistribution([
    { p: 0, value: 1 },
    { p: 0.5, value: 5 },
    { p: 0.99, value: 10 },
    { p: 0.999, value: 30 },
    { p: 1, value: 50 },
  ]);
  close(spectrum.quantile(0.99), 10, 1e-12);
  close(compositeLatency(spectrum, 0.99, 10), 10 + ((0.99 ** 0.1 - 0.99) / 0.009) * 20, 1e-9);
});

test('fanout - the correlated-event floor: composite ≤ 1 − p_c whatever the servers do (seed 004)', () => {
  assert.equal(correlatedFloor(0.001), 0.999);
  close(correlatedCompositeProbability(1, 100, 0.02), 0.98, 1e-12);
  assert.equal(requiredServerPercentileCorrelated(0.99, 10, 0.02), null, 'P99 is unreachable at p_c = 2%');
  const r = requiredServerPercentileCorrelated(0.99, 10, 0.001)!;
  close((1 - 0.001) * r ** 10, 0.99, 1e-12);
});

test('fanout - kernel jitter: 10 shards × 50 ms per 30 s at 300 checks/s ≈ 5 checks/s in a pause (seed 004)', () => {
  const e = stallExposure(10, 50, 30_000, 300);
  // The seed's "5 per second" is the union bound 10 × 50/30,000 × 300; the exact independent figure is 4.96.
  close(e.requestsPerSec, 5, 0.05);
  close(e.fraction, 1 - (1 - 50 / 30_000) ** 10, 1e-15);
});

test('fanout - hedging lowers the composite tail at the cost of extra load (seeded simulation)', () => {
  const rng = mulberry32(7);
  // Bimodal: 99% fast (1–2 ms), 1% slow (50–100 ms) — the heavy tail hedging is for.
  const samples = Array.from({ length: 20_000 }, () => (rng.next() < 0.99 ? 1 + rng.next() : 50 + 50 * rng.next()));
  const dist = empiricalDistribution(samples);
  const r = simulateHedging(dist, mulberry32(1), { fanout: 10, trials: 20_000, percentiles: [0.5, 0.99] });
  const p99 = r.percentiles[1];
  assert.ok(p99.hedged < p99.plain / 5, `P99 ${p99.plain} → ${p99.hedged}`);
  close(r.extraLoad, 0.1, 0.02);
  const again = simulateHedging(dist, mulberry32(1), { fanout: 10, trials: 20_000, percentiles: [0.5, 0.99] });
  assert.deepEqual(r, again, 'seeded: the same numbers again');
});

test('shards - the shadow ceiling γ/(α_hot·f): f = 0.8, α_hot = 0.3 → 4.2γ against 12γ (seed 004)', () => {
  close(shadowCeiling(1, 0.3, 0.8), 4.17, 0.005);
  const gap = shadowGap({ gamma: 1, alpha: 0.02, beta: 0.001 }, 0.3, 0.8);
  assert.equal(gap.binding, 'shadow');
  // "cuts the achievable maximum to 35% of the model's promise": the formula gives 4.17/12.25 = 34%.
  close(gap.reachable, 0.34, 0.005);
  close(gap.xMax - gap.shadow, 8.1, 0.1, "the flowchart's 7.8γ unreachable uses X_max = 12γ");
});

test('shards - effective β under sharding: β·((1 − ρ)/S + ρ)', () => {
  close(effectiveBeta(0.01, 1, 0.3), 0.01, 1e-15);
  close(effectiveBeta(0.01, 10, 0), 0.001, 1e-15);
  close(effectiveBeta(0.01, 10, 1), 0.01, 1e-15);
  // The counter-shard case: 5% cross-shard traffic. The seed lost S and the new summit; with S = 5 the formula gives
  // β_eff = 0.0024 and N_max = 20 (about double the 9.8), X_max × 1.69 ("nearly doubling").
  const b = effectiveBeta(0.01, 5, 0.05);
  close(b, 0.0024, 1e-12);
  close(uslNMax(0.04, b), 20, 1e-9);
  close(uslXMax({ gamma: 1000, alpha: 0.04, beta: b }) / uslXMax({ gamma: 1000, alpha: 0.04, beta: 0.01 }), 1.69, 0.01);
});

test('shards - Zipf hot-key share and coherency domains', () => {
  close(zipfTopShare(10, 1), 1 / 2.9289682539682538, 1e-12);
  close(zipfTopShare(100, 0, 10), 0.1, 1e-12);
  assert.equal(zipfTopShare(1, 2), 1);
  close(zipfHotShardShare(10, 1, 4), 0.3414 + (1 - 0.3414) / 4, 1e-3);
  const c = coherencyDomainCeiling([
    { name: 'ingest', params: { gamma: 1000, alpha: 0.01, beta: 0.0001 } },
    { name: 'quota', params: { gamma: 1000, alpha: 0.04, beta: 0.01 }, trafficShare: 0.5 },
  ]);
  assert.equal(c.binding, 'quota');
  close(c.ceiling, uslXMax({ gamma: 1000, alpha: 0.04, beta: 0.01 }) / 0.5, 1e-9);
});

test('sizing - partitions: 1.2M at 200k per consumer → 6, 12 deployed at 2×, 50% (A2 §4.3)', () => {
  const p = planPartitions(1_200_000, 200_000);
  assert.equal(p.required, 6);
  assert.equal(p.deployed, 12);
  close(p.utilisation, 0.5, 1e-12);
  assert.equal(planPartitions(1_200_001, 200_000).required, 7);
  assert.throws(() => planPartitions(0, 1), { code: 'SHOCK_PHYSICS_DOMAIN' });
});

test('sizing - cell capacity = min(network, database, consumers) = 100k, database-bound (A2 §6.2)', () => {
  const c = planCell({
    networkBytesPerSec: 10e9 / 8,
    eventBytes: 1000,
    databaseWritesPerSec: 100_000,
    consumers: 6,
    consumerPerSec: 200_000,
  });
  close(c.ceilings[0].eventsPerSec, 1_250_000, 1e-6);
  assert.equal(c.capacity, 100_000);
  assert.equal(c.bottleneck, 'database');
  assert.deepEqual(c.plannedRange, [60_000, 70_000]);
  assert.equal(cellsFor(1_000_000, c.plannedPerSec), 16);
});

test('queueing - Little, Kingman, M/M/1 and the coordinated-omission bound', () => {
  assert.equal(littleL(1000, 0.05), 50);
  assert.equal(littleW(50, 1000), 0.05);
  close(coordinatedOmissionBias(0.9), 10, 1e-12, 'ρ = 0.9 → 10× (seed 004, Proposition 9)');
  const m = mm1(900, 1000);
  close(m.responseMean, 0.01, 1e-15);
  close(m.waitMean, 0.009, 1e-15);
  close(kingmanWait(0.9, 1, 1, 0.001), m.waitMean, 1e-15, 'Kingman is exact for M/M/1');
  close(mm1ResponsePercentile(900, 1000, 0.99), Math.log(100) / 100, 1e-15);
  close(mm1WaitPercentile(900, 1000, 0.99), Math.log(0.9 / 0.01) / 100, 1e-15);
  assert.throws(() => mm1(1000, 1000), { code: 'SHOCK_PHYSICS_DOMAIN' });
});
