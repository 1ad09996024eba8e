/**
 * The pairs bootstrap (Efron & Tibshirani 1993, ch. 9; seed 004: "resample the (N, X) pairs with replacement 1,000
 * times, refit USL each time, and take the 5th and 95th percentile"): percentile intervals for γ, α, β, N_max and,
 * at each N of a grid, for the whole curve X(N) — the band the data supports. Seeded (mulberry32), so the same seed
 * gives the same interval.
 */
import { mulberry32, randomInt } from '../../base/index.js';
import { uslNMax, uslThroughput } from '../usl.js';
import { quantileSorted } from '../stats.js';
import type { Measurement } from '../fit/data.js';
import type { CoreEstimate, WeightedRows } from '../fit/types.js';
import type { Interval } from './delta.js';

export const defaultBootstrapResamples = 1000;
export const defaultBootstrapSeed = 1;

export interface BootstrapOptions {
  /** Number of resamples (default 1,000). */
  readonly resamples?: number;
  /** PRNG seed (default 1). */
  readonly seed?: number;
  /** Interval level (default 0.9: the 5th and 95th percentiles). */
  readonly level?: number;
  /** N values at which to compute the band of X(N). */
  readonly bandN?: readonly number[];
  /** Resamples with fewer distinct N than this are skipped (default 3: one per coefficient). */
  readonly distinctNMin?: number;
}

export interface CurveBand {
  readonly n: readonly number[];
  readonly lower: readonly number[];
  readonly upper: readonly number[];
  readonly level: number;
}

export interface BootstrapResult {
  readonly resamples: number;
  /** Resamples that gave an estimate (the others had too few distinct N or failed to fit). */
  readonly succeeded: number;
  readonly seed: number;
  readonly level: number;
  readonly gamma: Interval;
  readonly alpha: Interval;
  readonly beta: Interval;
  /** May have an infinite upper (or lower) bound where resamples fitted β = 0. */
  readonly nMax: Interval;
  readonly band?: CurveBand;
}

/**
 * Runs `fit` on `resamples` resamples of the rows (drawn with replacement, weights travelling with their rows).
 * Returns undefined when fewer than 10 resamples could be fitted.
 */
export function bootstrapUsl(
  input: WeightedRows,
  fit: (resample: WeightedRows) => CoreEstimate,
  options: BootstrapOptions = {},
): BootstrapResult | undefined {
  const resamples = options.resamples ?? defaultBootstrapResamples;
  const seed = options.seed ?? defaultBootstrapSeed;
  const level = options.level ?? 0.9;
  const distinctNMin = options.distinctNMin ?? 3;
  const bandN = options.bandN ?? [];
  const rng = mulberry32(seed);
  const m = input.rows.length;
  const gammas: number[] = [];
  const alphas: number[] = [];
  const betas: number[] = [];
  const nMaxes: number[] = [];
  const curves: number[][] = bandN.map(() => []);
  const rows: Measurement[] = new Array(m);
  const weights: number[] = new Array(m);
  for (let r = 0; r < resamples; r++) {
    const distinct = new Set<number>();
    for (let i = 0; i < m; i++) {
      const k = randomInt(rng, m);
      rows[i] = input.rows[k];
      weights[i] = input.weights[k];
      distinct.add(rows[i].n);
    }
    if (distinct.size < distinctNMin) continue;
    let est: CoreEstimate;
    try {
      est = fit({ rows: rows.slice(), weights: weights.slice() });
    } catch {
      continue;
    }
    if (![est.gamma, est.alpha, est.beta].every(Number.isFinite)) continue;
    gammas.push(est.gamma);
    alphas.push(est.alpha);
    betas.push(est.beta);
    nMaxes.push(uslNMax(est.alpha, est.beta));
    bandN.forEach((n, j) => curves[j].push(uslThroughput(est, n)));
  }
  if (gammas.length < 10) return undefined;
  const pLow = (1 - level) / 2;
  const pHigh = 1 - pLow;
  const interval = (values: number[]): Interval => {
    const sorted = values.sort((a, b) => a - b);
    return { lower: quantileSorted(sorted, pLow), upper: quantileSorted(sorted, pHigh), level };
  };
  const bandIntervals = curves.map(interval);
  return {
    resamples,
    succeeded: gammas.length,
    seed,
    level,
    gamma: interval(gammas),
    alpha: interval(alphas),
    beta: interval(betas),
    nMax: interval(nMaxes),
    band:
      bandN.length > 0
        ? { n: [...bandN], lower: bandIntervals.map((i) => i.lower), upper: bandIntervals.map((i) => i.upper), level }
        : undefined,
  };
}
