/**
 * Fan-out tail amplification (Dean & Barroso, "The Tail at Scale", CACM 56(2), 2013; seed 004, Proposition 8).
 * A request that fans out to N servers and waits for all of them is as slow as the slowest: with independent
 * servers, P(composite ≤ t) = F(t)^N. So a composite percentile q needs each server at q^(1/N), and a tree of width k
 * and depth d needs q^(1/k^d) at the leaves. Shared infrastructure breaks independence: with probability p_c all
 * servers are slow together, which puts a floor under the composite tail that no per-server work removes.
 */
import { shockError, type Rng } from '../base/index.js';
import { quantileSorted } from './stats.js';

function checkProbability(name: string, p: number, open = true): void {
  const ok = open ? p > 0 && p < 1 : p >= 0 && p <= 1;
  if (!(Number.isFinite(p) && ok)) {
    throw shockError(
      'SHOCK_PHYSICS_DOMAIN',
      `${name} must be a probability in ${open ? '(0, 1)' : '[0, 1]'}, got ${p}`,
    );
  }
}

function checkCount(name: string, n: number): void {
  if (!(Number.isFinite(n) && n >= 1)) throw shockError('SHOCK_PHYSICS_DOMAIN', `${name} must be >= 1, got ${n}`);
}

/** P(all N servers answer within the per-server q-quantile) = q^N. 0.99^50 ≈ 0.605. */
export function compositeProbability(qServer: number, fanout: number): number {
  checkProbability('the per-server probability', qServer, false);
  checkCount('fan-out', fanout);
  return qServer ** fanout;
}

/**
 * The per-server percentile that delivers composite percentile q at fan-out N: q^(1/N) (Dean & Barroso). For
 * q = 0.99: N = 10 → 0.998995 (P99.9), 100 → 0.9998995 (P99.99), 1,000 → 0.99998995 (P99.999).
 */
export function requiredServerPercentile(qComposite: number, fanout: number): number {
  checkProbability('the composite percentile', qComposite);
  checkCount('fan-out', fanout);
  return qComposite ** (1 / fanout);
}

/**
 * A tree of width k and depth d touches k^d leaves on the critical path of the slowest branch: each leaf must hit
 * q^(1/k^d). Each level of depth at k = 10 costs one decade of precision (seed 004, "The Microservices Latency Loan").
 */
export function requiredTreePercentile(qComposite: number, width: number, depth: number): number {
  checkCount('tree width', width);
  if (!(Number.isInteger(depth) && depth >= 0))
    throw shockError('SHOCK_PHYSICS_DOMAIN', `tree depth must be a whole number >= 0, got ${depth}`);
  return requiredServerPercentile(qComposite, width ** depth);
}

/** "Nines" of a percentile: 0.999 → 3. */
export function nines(p: number): number {
  return -Math.log10(1 - p);
}

/** A latency distribution that can be asked for quantiles: samples, an HDR histogram, a fitted law. */
export interface LatencyDistribution {
  /** The latency at probability p in (0, 1]. */
  quantile(p: number): number;
  /** A random draw (for the simulations); optional. */
  sample?(rng: Rng): number;
}

/** The empirical distribution of latency samples (type-7 quantiles; draws pick a sample uniformly). */
export function empiricalDistribution(samples: readonly number[]): LatencyDistribution {
  const sorted = samples.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0)
    throw shockError('SHOCK_PHYSICS_DOMAIN', 'the latency distribution needs at least one finite sample');
  return {
    quantile: (p) => quantileSorted(sorted, Math.min(1, Math.max(0, p))),
    sample: (rng) => sorted[Math.floor(rng.next() * sorted.length)],
  };
}

/** A distribution from (percentile, value) pairs, e.g. an HDR percentile spectrum; linear between the pairs. */
export function spectrumDistribution(
  points: readonly { readonly p: number; readonly value: number }[],
): LatencyDistribution {
  const sorted = points.filter((pt) => Number.isFinite(pt.p) && Number.isFinite(pt.value)).sort((a, b) => a.p - b.p);
  if (sorted.length === 0) throw shockError('SHOCK_PHYSICS_DOMAIN', 'the percentile spectrum is empty');
  const quantile = (p: number): number => {
    if (p <= sorted[0].p) return sorted[0].value;
    for (let i = 1; i < sorted.length; i++) {
      if (p <= sorted[i].p) {
        const a = sorted[i - 1];
        const b = sorted[i];
        return b.p === a.p ? b.value : a.value + ((p - a.p) / (b.p - a.p)) * (b.value - a.value);
      }
    }
    return sorted[sorted.length - 1].value;
  };
  return { quantile, sample: (rng) => quantile(rng.next()) };
}

/**
 * The composite latency at percentile q for fan-out N from a per-server distribution: the server's latency at
 * q^(1/N) (exact under independence).
 */
export function compositeLatency(dist: LatencyDistribution, qComposite: number, fanout: number): number {
  return dist.quantile(requiredServerPercentile(qComposite, fanout));
}

/**
 * The correlated-event mixture (seed 004, "the independence trap"): with probability p_c a shared component is
 * degraded and every server is slow at once (within t with probability g); otherwise servers are independent:
 *
 *     P(composite ≤ t) = (1 − p_c)·F(t)^N + p_c·g.
 *
 * Returns that probability for per-server F(t) = `qServer`.
 */
export function correlatedCompositeProbability(
  qServer: number,
  fanout: number,
  pCorrelated: number,
  gSlowWithin = 0,
): number {
  checkProbability('the correlated-event probability', pCorrelated, false);
  checkProbability('the slow-regime probability', gSlowWithin, false);
  return (1 - pCorrelated) * compositeProbability(qServer, fanout) + pCorrelated * gSlowWithin;
}

/**
 * The floor under the composite tail: no per-server improvement lifts P(composite ≤ t) above 1 − p_c(1 − g). A
 * composite percentile q above it is unreachable. Returns the best reachable composite percentile.
 */
export function correlatedFloor(pCorrelated: number, gSlowWithin = 0): number {
  checkProbability('the correlated-event probability', pCorrelated, false);
  return 1 - pCorrelated * (1 - gSlowWithin);
}

/**
 * The per-server percentile that still delivers composite q under the mixture: ((q − p_c·g)/(1 − p_c))^(1/N), or
 * null when q is above the correlated floor (unreachable whatever the servers do).
 */
export function requiredServerPercentileCorrelated(
  qComposite: number,
  fanout: number,
  pCorrelated: number,
  gSlowWithin = 0,
): number | null {
  checkProbability('the composite percentile', qComposite);
  checkCount('fan-out', fanout);
  if (qComposite >= correlatedFloor(pCorrelated, gSlowWithin)) return null;
  return ((qComposite - pCorrelated * gSlowWithin) / (1 - pCorrelated)) ** (1 / fanout);
}

/**
 * Stall exposure (seed 004, "Add kernel jitter"): each of N servers pauses for `pauseMs` every `intervalMs`,
 * independently. The fraction of time at least one is paused is 1 − (1 − pause/interval)^N; times the request rate,
 * the requests per second that meet a pause. 10 shards × 50 ms per 30 s at 300 checks/s → about 5 per second.
 */
export function stallExposure(
  servers: number,
  pauseMs: number,
  intervalMs: number,
  requestsPerSec: number,
): { fraction: number; requestsPerSec: number } {
  checkCount('servers', servers);
  if (!(pauseMs >= 0 && intervalMs > 0 && pauseMs <= intervalMs)) {
    throw shockError(
      'SHOCK_PHYSICS_DOMAIN',
      `need 0 <= pause <= interval, got pause ${pauseMs} ms, interval ${intervalMs} ms`,
    );
  }
  const fraction = 1 - (1 - pauseMs / intervalMs) ** servers;
  return { fraction, requestsPerSec: fraction * requestsPerSec };
}

export interface HedgeSimulationOptions {
  readonly fanout: number;
  /** Send the hedge (a second copy to another server) when the first has not answered by this quantile (0.9 = P90). */
  readonly hedgeAfterQuantile?: number;
  /** Simulated composite requests (default 20,000; at most 1,000,000). */
  readonly trials?: number;
  /** Composite percentiles to report (default P50, P99, P99.9). */
  readonly percentiles?: readonly number[];
  /** Probability that a request meets a correlated slow event (both copies and all servers slow together). */
  readonly pCorrelated?: number;
  /** Extra latency of a correlated slow event, added to every server (default: the distribution's max). */
  readonly correlatedDelay?: number;
}

export interface HedgeSimulationResult {
  readonly fanout: number;
  readonly hedgeDelay: number;
  readonly trials: number;
  /** Composite latency at each percentile without hedging and with it. */
  readonly percentiles: readonly { readonly p: number; readonly plain: number; readonly hedged: number }[];
  /** Extra requests sent by hedging, as a fraction of the plain requests. */
  readonly extraLoad: number;
}

/**
 * Hedged requests by simulation on an empirical distribution (Dean & Barroso's "tied/hedged requests"): each of N
 * servers draws a latency L₁; if L₁ exceeds the hedge delay d (the P90 by default), a second copy is sent at d and
 * the server's time is min(L₁, d + L₂). The composite is the maximum over servers. Seeded; bounded in trials.
 */
export function simulateHedging(
  dist: LatencyDistribution,
  rng: Rng,
  options: HedgeSimulationOptions,
): HedgeSimulationResult {
  checkCount('fan-out', options.fanout);
  const trials = Math.min(1_000_000, Math.max(1, Math.floor(options.trials ?? 20_000)));
  const hedgeQ = options.hedgeAfterQuantile ?? 0.9;
  checkProbability('the hedge quantile', hedgeQ);
  const pc = options.pCorrelated ?? 0;
  checkProbability('the correlated-event probability', pc, false);
  const draw = dist.sample ?? ((r: Rng) => dist.quantile(r.next()));
  const hedgeDelay = dist.quantile(hedgeQ);
  const slowDelay = options.correlatedDelay ?? dist.quantile(1);
  const plain = new Float64Array(trials);
  const hedged = new Float64Array(trials);
  let hedges = 0;
  const fanout = Math.floor(options.fanout);
  for (let t = 0; t < trials; t++) {
    const extra = pc > 0 && rng.next() < pc ? slowDelay : 0;
    let worstPlain = 0;
    let worstHedged = 0;
    for (let s = 0; s < fanout; s++) {
      const first = draw(rng) + extra;
      let withHedge = first;
      if (first > hedgeDelay) {
        hedges++;
        withHedge = Math.min(first, hedgeDelay + draw(rng) + extra);
      }
      if (first > worstPlain) worstPlain = first;
      if (withHedge > worstHedged) worstHedged = withHedge;
    }
    plain[t] = worstPlain;
    hedged[t] = worstHedged;
  }
  plain.sort();
  hedged.sort();
  const ps = options.percentiles ?? [0.5, 0.99, 0.999];
  return {
    fanout,
    hedgeDelay,
    trials,
    percentiles: ps.map((p) => ({
      p,
      plain: quantileSorted(Array.from(plain), p),
      hedged: quantileSorted(Array.from(hedged), p),
    })),
    extraLoad: hedges / (trials * fanout),
  };
}
