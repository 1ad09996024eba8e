/**
 * Hot shards and coherency domains (seed 004, "The Equipartition Trap — Shadow Constraint", Definition 11). A hot
 * shard that takes a fraction f of the writes and serialises with its local contention α_hot caps the whole cluster
 * at γ/(α_hot·f), whatever the node count; a cluster of coherency domains is capped by its tightest domain; and S
 * independent shards with a fraction ρ of cross-shard operations pay an effective β·((1 − ρ)/S + ρ).
 */
import { shockError } from '../base/index.js';
import { uslNMax, uslXMax, type UslParams } from './usl.js';

function domain(message: string): never {
  throw shockError('SHOCK_PHYSICS_DOMAIN', message);
}

/** Generalised harmonic number H(m, s) = Σ_{i=1..m} i^(−s). */
export function harmonic(m: number, s: number): number {
  let h = 0;
  // Summing small terms first keeps the rounding error down for large m.
  for (let i = Math.floor(m); i >= 1; i--) h += i ** -s;
  return h;
}

/**
 * The share of requests that go to the `top` most popular of K keys under a Zipf law with exponent s:
 * H(top, s)/H(K, s). s = 0 is uniform (top/K); K = 10, s = 1 gives the hottest key 34%. K is bounded at 10⁸.
 */
export function zipfTopShare(keys: number, s: number, top = 1): number {
  if (!(Number.isInteger(keys) && keys >= 1 && keys <= 1e8))
    domain(`keys must be a whole number in [1, 1e8], got ${keys}`);
  if (!(Number.isFinite(s) && s >= 0)) domain(`the Zipf exponent must be >= 0, got ${s}`);
  if (!(Number.isInteger(top) && top >= 1 && top <= keys))
    domain(`top must be a whole number in [1, keys], got ${top}`);
  return harmonic(top, s) / harmonic(keys, s);
}

/**
 * The share of traffic on the hottest of S shards when keys are hashed to shards: the hottest key's share plus an
 * even 1/S of the rest (a first-order estimate: it ignores the chance that two hot keys share a shard).
 */
export function zipfHotShardShare(keys: number, s: number, shards: number): number {
  if (!(Number.isInteger(shards) && shards >= 1)) domain(`shards must be a whole number >= 1, got ${shards}`);
  const hot = zipfTopShare(keys, s, 1);
  return Math.min(1, hot + (1 - hot) / shards);
}

/**
 * The shadow ceiling: a hot shard with local contention α_hot carrying a fraction f of the writes caps the cluster
 * at γ/(α_hot·f). f = 0.8, α_hot = 0.30 → 4.2γ (seed 004).
 */
export function shadowCeiling(gamma: number, alphaHot: number, hotShare: number): number {
  if (!(gamma > 0)) domain(`gamma must be > 0, got ${gamma}`);
  if (!(alphaHot > 0 && alphaHot <= 1)) domain(`alpha_hot must be in (0, 1], got ${alphaHot}`);
  if (!(hotShare > 0 && hotShare <= 1)) domain(`the hot share f must be in (0, 1], got ${hotShare}`);
  return gamma / (alphaHot * hotShare);
}

/** The shadow ceiling against the USL's own peak: which binds, and the fraction of X_max that stays reachable. */
export function shadowGap(
  params: UslParams,
  alphaHot: number,
  hotShare: number,
): { shadow: number; xMax: number; reachable: number; binding: 'shadow' | 'usl' } {
  const shadow = shadowCeiling(params.gamma, alphaHot, hotShare);
  const xMax = uslXMax(params);
  return { shadow, xMax, reachable: Math.min(1, shadow / xMax), binding: shadow < xMax ? 'shadow' : 'usl' };
}

/** One coherency domain: its own USL and the share of the cluster's traffic it must carry. */
export interface CoherencyDomain {
  readonly name: string;
  readonly params: UslParams;
  /** Fraction of cluster traffic through this domain (default 1: every request passes it). */
  readonly trafficShare?: number;
}

/**
 * Coherency-domain decomposition: each domain caps the cluster at X_max(domain)/share; the cluster ceiling is the
 * minimum, and the binding domain is named.
 */
export function coherencyDomainCeiling(domains: readonly CoherencyDomain[]): {
  ceiling: number;
  binding: string;
  domains: { name: string; nMax: number; xMax: number; clusterCap: number }[];
} {
  if (domains.length === 0) domain('need at least one coherency domain');
  const rows = domains.map((d) => {
    const share = d.trafficShare ?? 1;
    if (!(share > 0 && share <= 1)) domain(`domain ${d.name}: traffic share must be in (0, 1], got ${share}`);
    const xMax = uslXMax(d.params);
    return { name: d.name, nMax: uslNMax(d.params.alpha, d.params.beta), xMax, clusterCap: xMax / share };
  });
  const binding = rows.reduce((a, b) => (b.clusterCap < a.clusterCap ? b : a));
  return { ceiling: binding.clusterCap, binding: binding.name, domains: rows };
}

/**
 * Effective coherency under S shards with a fraction ρ of cross-shard operations: β_eff = β·((1 − ρ)/S + ρ)
 * (Definition 11: shard-local operations pay 1/S of the pairs, cross-shard ones the full term).
 */
export function effectiveBeta(beta: number, shards: number, crossShard: number): number {
  if (!(beta >= 0)) domain(`beta must be >= 0, got ${beta}`);
  if (!(Number.isFinite(shards) && shards >= 1)) domain(`shards must be >= 1, got ${shards}`);
  if (!(crossShard >= 0 && crossShard <= 1)) domain(`the cross-shard fraction must be in [0, 1], got ${crossShard}`);
  return beta * ((1 - crossShard) / shards + crossShard);
}
