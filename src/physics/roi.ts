/**
 * Node ROI, "the Tax Return" (seed 004): for each node count, the throughput, the efficiency X(N)/(Nγ), the marginal
 * gain of the N-th node (X(N) − X(N − 1))/γ in units of one node, and a decision. The worked example (γ = 1,000,
 * α = 0.02, β = 0.003, N_max ≈ 18) prints: 4 interior, 8 returns declining, 16 approaching N_max, 18 at N_max,
 * 20 and 32 past N_max.
 */
import { uslEfficiency, uslNMax, uslThroughput, type UslParams } from './usl.js';

export const roiDecisions = ['interior', 'returns-declining', 'approaching-nmax', 'at-nmax', 'past-nmax'] as const;
export type RoiDecision = (typeof roiDecisions)[number];

export const roiDecisionLabels: Record<RoiDecision, string> = {
  interior: 'interior: add freely',
  'returns-declining': 'interior: returns declining',
  'approaching-nmax': 'approaching N_max: justify each node',
  'at-nmax': 'at N_max: the next node returns nearly nothing',
  'past-nmax': 'past N_max: negative ROI, throughput declining',
};

/** Efficiency below which returns are "declining" while still far from N_max. */
export const roiEfficiencyDeclining = 0.85;
/** Fraction of N_max from which a node count is "approaching" it. */
export const roiApproachingFraction = 0.75;

export interface RoiRow {
  readonly n: number;
  readonly throughput: number;
  readonly efficiency: number;
  /** (X(N) − X(N − 1))/γ: what the N-th node added, in single nodes (negative past N_max). */
  readonly marginal: number;
  readonly decision: RoiDecision;
}

/**
 * The decision for node count N:
 * - past N_max when the N-th node lowered throughput (X(N) < X(N − 1));
 * - at N_max when N is within one node below N_max (or above it while still gaining);
 * - approaching N_max from 0.75·N_max;
 * - returns declining when efficiency is below 0.85;
 * - interior otherwise.
 */
export function roiDecision(params: UslParams, n: number): RoiDecision {
  const nMax = uslNMax(params.alpha, params.beta);
  const marginal = n > 1 ? uslThroughput(params, n) - uslThroughput(params, n - 1) : params.gamma;
  if (marginal < 0) return 'past-nmax';
  if (n >= nMax - 1) return 'at-nmax';
  if (n >= roiApproachingFraction * nMax) return 'approaching-nmax';
  if (uslEfficiency(params, n) < roiEfficiencyDeclining) return 'returns-declining';
  return 'interior';
}

export function nodeRoiRow(params: UslParams, n: number): RoiRow {
  const throughput = uslThroughput(params, n);
  const previous = n > 1 ? uslThroughput(params, n - 1) : 0;
  return {
    n,
    throughput,
    efficiency: uslEfficiency(params, n),
    marginal: (throughput - previous) / params.gamma,
    decision: roiDecision(params, n),
  };
}

/** The ROI table at the given node counts. */
export function nodeRoiTable(params: UslParams, ns: readonly number[]): RoiRow[] {
  return ns.map((n) => nodeRoiRow(params, n));
}

/**
 * Node counts worth a row: powers of two up to past the peak, the measured N, and the whole numbers around N_max and
 * at 2·N_max (or up to twice the largest measured N when N_max is unbounded). Sorted, whole numbers, at most ~20.
 */
export function defaultRoiNodes(params: UslParams, measuredN: readonly number[] = []): number[] {
  const nMax = uslNMax(params.alpha, params.beta);
  const top = Number.isFinite(nMax) ? Math.max(2 * nMax, ...measuredN) : 2 * Math.max(8, ...measuredN);
  const set = new Set<number>();
  for (let n = 1; n <= top; n *= 2) set.add(n);
  for (const n of measuredN) if (Number.isInteger(n)) set.add(n);
  if (Number.isFinite(nMax)) {
    for (const n of [Math.floor(nMax), Math.ceil(nMax), Math.ceil(nMax) + 1, Math.round(2 * nMax)])
      if (n >= 1) set.add(n);
  }
  const sorted = [...set].sort((a, b) => a - b);
  if (sorted.length <= 20) return sorted;
  const keep = new Set<number>([...sorted.filter((n) => Number.isFinite(nMax) && Math.abs(n - nMax) <= 1.5)]);
  const step = sorted.length / (20 - keep.size);
  for (let i = 0; i < sorted.length; i += step) keep.add(sorted[Math.floor(i)]);
  keep.add(sorted[sorted.length - 1]);
  return [...keep].sort((a, b) => a - b);
}
