/**
 * The Universal Scalability Law (Gunther, *Guerrilla Capacity Planning*, 2007, eq. 4.31; the seed "The Physics Tax",
 * Proposition 7):
 *
 *     X(N) = γN / (1 + α(N − 1) + βN(N − 1))
 *
 * γ (λ in R `usl`) is the throughput of one node, α (σ) the contention (serial) fraction and β (κ) the coherency
 * (crosstalk) cost per node pair. Every function here is pure.
 */
import { shockError } from '../base/index.js';

/** The three USL coefficients. Names follow the equation; R `usl` calls them λ, σ, κ. */
export interface UslParams {
  /** Single-node throughput (X at N = 1), in the throughput's unit. */
  readonly gamma: number;
  /** Contention coefficient (serial fraction), dimensionless. */
  readonly alpha: number;
  /** Coherency coefficient (per node-pair cost), dimensionless. */
  readonly beta: number;
}

/** Relative capacity C(N) = X(N)/γ = N / (1 + α(N − 1) + βN(N − 1)). */
export function uslCapacity(alpha: number, beta: number, n: number): number {
  return n / (1 + alpha * (n - 1) + beta * n * (n - 1));
}

/** Throughput X(N) = γ·C(N). */
export function uslThroughput(params: UslParams, n: number): number {
  return params.gamma * uslCapacity(params.alpha, params.beta, n);
}

/**
 * N_max = sqrt((1 − α)/β), the node count where X(N) peaks (dX/dN = 0; Gunther 2007, eq. 4.33). Infinity when
 * β = 0 (Amdahl's law: throughput saturates at γ/α but never declines). When α ≥ 1, or β > 1 − α, throughput never
 * rises above one node's and N_max is 1 (the formula's value below 1 is not a node count). The value is continuous:
 * the best whole node count is one of floor/ceil of it.
 */
export function uslNMax(alpha: number, beta: number): number {
  if (alpha >= 1) return 1;
  if (beta <= 0) return Infinity;
  return Math.max(1, Math.sqrt((1 - alpha) / beta));
}

/** X_max = X(N_max); with β = 0 the Amdahl asymptote γ/α (Infinity when α = 0 too: linear scaling). */
export function uslXMax(params: UslParams): number {
  const nMax = uslNMax(params.alpha, params.beta);
  if (Number.isFinite(nMax)) return uslThroughput(params, Math.max(1, nMax));
  return params.alpha > 0 ? params.gamma / params.alpha : Infinity;
}

/** The Amdahl asymptote γ/α: the ceiling contention alone would set (Infinity when α = 0). */
export function amdahlAsymptote(params: UslParams): number {
  return params.alpha > 0 ? params.gamma / params.alpha : Infinity;
}

/** Efficiency X(N)/(Nγ) = C(N)/N: 1 is linear scaling ("the Tax Return", seed 004). */
export function uslEfficiency(params: UslParams, n: number): number {
  return uslCapacity(params.alpha, params.beta, n) / n;
}

/**
 * Partial derivatives of X(N) with respect to (γ, α, β), for the Jacobian of the fits:
 * ∂X/∂γ = N/D, ∂X/∂α = −γN(N − 1)/D², ∂X/∂β = −γN²(N − 1)/D², with D = 1 + α(N − 1) + βN(N − 1).
 */
export function uslGradient(params: UslParams, n: number): [number, number, number] {
  const d = 1 + params.alpha * (n - 1) + params.beta * n * (n - 1);
  const dGamma = n / d;
  const common = (params.gamma * n * (n - 1)) / (d * d);
  return [dGamma, -common, -common * n];
}

/** Checks coefficients a caller hands in (from a CLI flag or a file) and throws SHOCK_PHYSICS_DOMAIN when unusable. */
export function checkUslParams(params: UslParams): void {
  const problems: string[] = [];
  if (!(Number.isFinite(params.gamma) && params.gamma > 0)) problems.push(`gamma must be > 0, got ${params.gamma}`);
  if (!(Number.isFinite(params.alpha) && params.alpha >= 0)) problems.push(`alpha must be >= 0, got ${params.alpha}`);
  if (!(Number.isFinite(params.beta) && params.beta >= 0)) problems.push(`beta must be >= 0, got ${params.beta}`);
  if (problems.length > 0) {
    throw shockError('SHOCK_PHYSICS_DOMAIN', `invalid USL coefficients: ${problems.join('; ')}`, { ...params });
  }
}
