/**
 * Stall detection from the seed (004, "HDR Histograms and the stall boundary"): a window whose P99/P50 exceeds 8 holds
 * a stall population distinct from the body; the stall boundary L_stall is the latency where the log-slope of the
 * percentile curve jumps by more than 3×; a window with more than 2% of its requests above L_stall had a structural
 * stall (full GC, live migration) and is flagged to be re-run rather than filtered.
 *
 * The percentile curve is read at HdrHistogram's reporting ticks q_k = 1 − 2^(−k/t) (t ticks per halving, the rows of
 * the `.hgrm` spectrum), where x = log(1/(1−q)) is evenly spaced, so the log-slope per tick is
 * s_k = ln L(q_{k+1}) − ln L(q_k). The kink is the first tick after P50 where s_k > 3 · max(b_k, s_floor), b_k being
 * the mean slope from P50 to q_k (the body's own steepness, over at least one tick) and s_floor a noise floor so a flat body's jitter is not
 * mistaken for a kink. L_stall is the geometric midpoint of the kink segment [L(q_k), L(q_{k+1})].
 */
import { countAboveMs, histogramUnitsPerMs, type LatencyHistogram } from './histogram.js';

/** P99/P50 above this marks a stall population (seed: "P99/P50 > 8"). */
export const stallRatioMin = 8;
/** The log-slope must jump by more than this factor at the boundary (seed: "more than a factor of three"). */
export const stallSlopeJumpMin = 3;
/** More than this fraction above the boundary flags the window for re-run (seed: "more than 2%"). */
export const stallRerunFractionMax = 0.02;
/** Noise floor of the log-slope per tick (ln units): a 10% rise per tick is body, not a kink, unless 3× steeper. */
export const stallSlopeFloorPerTick = 0.1;
/** Reporting ticks per halving of the remaining percentile distance (as in the `.hgrm` spectrum). */
export const stallTicksPerHalf = 5;

export interface StallAnalysis {
  /** P99 / P50 of the window (0 when empty). */
  ratioP99P50: number;
  /** True when P99/P50 > 8: the tail holds a population distinct from the body. */
  stallPopulation: boolean;
  /** The latency (ms) where the log-slope kinks upward by > 3×, or null when there is no such kink. */
  boundaryMs: number | null;
  /** Fraction of the window's requests above the boundary (0 when no boundary). */
  fractionAbove: number;
  /** True when a stall population exists and more than 2% of requests lie above its boundary: re-run the window. */
  rerun: boolean;
}

/** Applies the seed's criteria to one window's histogram. */
export function analyzeStall(histogram: LatencyHistogram): StallAnalysis {
  const n = histogram.totalCount;
  if (n === 0) return { ratioP99P50: 0, stallPopulation: false, boundaryMs: null, fractionAbove: 0, rerun: false };
  const p50 = histogram.getValueAtPercentile(50);
  const p99 = histogram.getValueAtPercentile(99);
  const ratioP99P50 = p50 > 0 ? p99 / p50 : 0;
  const stallPopulation = ratioP99P50 > stallRatioMin;
  const boundaryUs = findSlopeKinkUs(histogram);
  const boundaryMs = boundaryUs === null ? null : boundaryUs / histogramUnitsPerMs;
  const fractionAbove = boundaryMs === null ? 0 : countAboveMs(histogram, boundaryMs) / n;
  const rerun = stallPopulation && boundaryMs !== null && fractionAbove > stallRerunFractionMax;
  return { ratioP99P50, stallPopulation, boundaryMs, fractionAbove, rerun };
}

/** The latency (µs) at the first upward log-slope kink above P50, or null. Needs ≥ 1 sample per tick's tail. */
export function findSlopeKinkUs(histogram: LatencyHistogram, ticksPerHalf = stallTicksPerHalf): number | null {
  const n = histogram.totalCount;
  const lnL: number[] = [];
  const values: number[] = [];
  // Ticks from P50 (k = ticksPerHalf) while the tail beyond q still holds at least one sample.
  for (let k = ticksPerHalf; ; k++) {
    const tail = Math.pow(2, -k / ticksPerHalf);
    if (tail * n < 1 || lnL.length > 200) break;
    const value = histogram.getValueAtPercentile(100 * (1 - tail));
    values.push(value);
    lnL.push(Math.log(Math.max(1, value)));
  }
  // From the second tick on, so the body's own slope (over at least one tick) is the baseline.
  for (let j = 1; j + 1 < lnL.length; j++) {
    const slope = lnL[j + 1] - lnL[j];
    const baseline = (lnL[j] - lnL[0]) / j;
    // The boundary sits inside the kink segment, at its geometric midpoint: in a gap between body and stall it
    // splits them cleanly; on a steep slope it is within one tick of the kink.
    if (slope > stallSlopeJumpMin * Math.max(baseline, stallSlopeFloorPerTick))
      return Math.sqrt(values[j] * values[j + 1]);
  }
  return null;
}
