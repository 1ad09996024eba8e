/**
 * Weighted non-linear least squares on (γ, α, β) jointly (seed 004, "Non-linear least squares fitting"):
 *
 *     minimise Σ wᵢ (Xᵢ − X(Nᵢ; γ, α, β))²,   wᵢ = 1/σ²(Nᵢ),   α ≥ 0, β ≥ 0
 *
 * by a hand-written Levenberg–Marquardt (Marquardt 1963, with his diagonal scaling so that γ ~ 10³ and β ~ 10⁻⁴ move
 * together). The bounds are handled by enumerating the faces of the box: the unconstrained optimum when it is
 * non-negative, otherwise the best of the fits with α, β or both held at 0 — the same answer as R `usl` (≥ 2.0),
 * which calls `nls(algorithm = "port")` with lower bounds 0.
 */
import { shockError } from '../../base/index.js';
import { uslGradient, type UslParams } from '../usl.js';
import { invertMatrix, solveLinear } from '../stats.js';
import { fitClosedFormCore } from './closed-form.js';
import type { CoreEstimate, CoreOptions, CoreResult, UnconstrainedEstimate, WeightedRows } from './types.js';

/** Which of (γ, α, β) the optimiser may move. */
export type FreeMask = readonly [boolean, boolean, boolean];

export interface LmResult {
  readonly params: [number, number, number];
  /** Weighted residual sum of squares. */
  readonly rss: number;
  /** Jᵀ W J over all three coefficients at the solution (for the covariance). */
  readonly jtwj: number[][];
  readonly iterations: number;
  readonly converged: boolean;
}

const lmIterationsMax = 500;
const lambdaMax = 1e16;

function weightedRss(input: WeightedRows, p: readonly number[]): number {
  let rss = 0;
  for (let i = 0; i < input.rows.length; i++) {
    const { n, x } = input.rows[i];
    const d = 1 + p[1] * (n - 1) + p[2] * n * (n - 1);
    if (!(d > 0)) return Infinity;
    const r = x - (p[0] * n) / d;
    rss += input.weights[i] * r * r;
  }
  return Number.isFinite(rss) ? rss : Infinity;
}

function normalEquations(input: WeightedRows, p: readonly number[]): { jtwj: number[][]; jtwr: number[] } {
  const jtwj = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  const jtwr = [0, 0, 0];
  const params: UslParams = { gamma: p[0], alpha: p[1], beta: p[2] };
  for (let i = 0; i < input.rows.length; i++) {
    const { n, x } = input.rows[i];
    const w = input.weights[i];
    const g = uslGradient(params, n);
    const r = x - p[0] * g[0];
    for (let a = 0; a < 3; a++) {
      jtwr[a] += w * g[a] * r;
      for (let b = 0; b < 3; b++) jtwj[a][b] += w * g[a] * g[b];
    }
  }
  return { jtwj, jtwr };
}

/**
 * Levenberg–Marquardt on the USL from `start`, moving only the coefficients marked free. Steps that leave the model's
 * domain (a denominator ≤ 0 at a measured N) are rejected like steps that raise the loss. Bounded: at most 500
 * iterations. Returns undefined when the start itself is outside the domain.
 */
export function levenbergMarquardt(
  input: WeightedRows,
  start: readonly number[],
  free: FreeMask,
): LmResult | undefined {
  const p = [...start] as [number, number, number];
  let rss = weightedRss(input, p);
  if (!Number.isFinite(rss)) return undefined;
  const idx = [0, 1, 2].filter((k) => free[k]);
  let lambda = 1e-3;
  let converged = false;
  let iterations = 0;
  let eq = normalEquations(input, p);
  for (; iterations < lmIterationsMax && !converged; iterations++) {
    if (rss === 0) {
      converged = true;
      break;
    }
    // Jacobi scaling: solve in units of sqrt(diag(JᵀWJ)) so that coefficients of very different size move together.
    const scale = idx.map((k) => Math.sqrt(eq.jtwj[k][k]) || 1);
    let accepted = false;
    while (!accepted && lambda <= lambdaMax) {
      const a = idx.map((ka, i) =>
        idx.map((kb, j) => eq.jtwj[ka][kb] / (scale[i] * scale[j]) + (i === j ? lambda : 0)),
      );
      const b = idx.map((k, i) => eq.jtwr[k] / scale[i]);
      const step = solveLinear(a, b);
      if (!step) {
        lambda *= 10;
        continue;
      }
      const trial = [...p] as [number, number, number];
      idx.forEach((k, i) => (trial[k] += step[i] / scale[i]));
      const trialRss = weightedRss(input, trial);
      if (trialRss <= rss) {
        const relDrop = (rss - trialRss) / rss;
        const relStep = Math.max(...idx.map((k, i) => Math.abs(step[i] / scale[i]) / (Math.abs(trial[k]) + 1e-300)));
        p[0] = trial[0];
        p[1] = trial[1];
        p[2] = trial[2];
        rss = trialRss;
        lambda = Math.max(lambda / 10, 1e-12);
        accepted = true;
        if (relDrop < 1e-15 || relStep < 1e-13) converged = true;
        eq = normalEquations(input, p);
      } else {
        lambda *= 10;
      }
    }
    // No step lowers the loss even when it shrinks to a gradient step: a stationary point to machine precision.
    if (!accepted) converged = true;
  }
  return { params: p, rss, jtwj: eq.jtwj, iterations, converged };
}

/** Covariance s²·(JᵀWJ)⁻¹ over the free coefficients (zeros elsewhere), with s² = RSS/dof. */
export function covarianceFromJacobian(
  jtwj: number[][],
  free: FreeMask,
  rss: number,
  dof: number,
): number[][] | undefined {
  if (dof <= 0) return undefined;
  const idx = [0, 1, 2].filter((k) => free[k]);
  const d = idx.map((k) => Math.sqrt(jtwj[k][k]));
  if (d.some((v) => !(v > 0))) return undefined;
  const scaled = idx.map((a, i) => idx.map((b, j) => jtwj[a][b] / (d[i] * d[j])));
  const inv = invertMatrix(scaled);
  if (!inv) return undefined;
  const s2 = rss / dof;
  const cov = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  idx.forEach((a, i) => idx.forEach((b, j) => (cov[a][b] = (s2 * inv[i][j]) / (d[i] * d[j]))));
  return cov;
}

function bestLm(input: WeightedRows, starts: readonly (readonly number[])[], free: FreeMask): LmResult | undefined {
  // The closed-form start almost always lands in the basin of the optimum; the others are fallbacks for when it
  // does not converge (or starts outside the model's domain).
  let best: LmResult | undefined;
  for (const start of starts) {
    const s = start.map((v, k) => (free[k] ? v : 0));
    s[0] = start[0];
    const r = levenbergMarquardt(input, s, free);
    if (r && (!best || r.rss < best.rss)) best = r;
    if (best?.converged) break;
  }
  return best;
}

/** Starting points: the closed form (unconstrained and constrained) and a near-linear guess. */
function startingPoints(input: WeightedRows, betaFixed: boolean): number[][] {
  const closed = fitClosedFormCore(input, { betaFixed });
  const u = closed.unconstrained!;
  const c = closed.estimate;
  const starts = [
    [u.gamma, u.alpha, betaFixed ? 0 : u.beta],
    [c.gamma, c.alpha, c.beta],
    [c.gamma, Math.max(c.alpha, 1e-3), betaFixed ? 0 : Math.max(c.beta, 1e-6)],
  ];
  return starts.filter((s) => s.every(Number.isFinite));
}

function estimateFrom(
  lm: LmResult,
  free: FreeMask,
  input: WeightedRows,
  atBound: { alpha: boolean; beta: boolean },
  betaFixed: boolean,
): CoreEstimate {
  const dof = input.rows.length - free.filter(Boolean).length;
  const [gamma, alpha, beta] = lm.params;
  // At a bound, report the covariance of all three coefficients at the bounded point (as R `usl` does, which gives
  // β = 0 an interval around the bound); fall back to the free ones when the full matrix is singular.
  const all: FreeMask = [true, true, true];
  const fullCov =
    free.every(Boolean) || betaFixed ? undefined : covarianceFromJacobian(lm.jtwj, all, lm.rss, input.rows.length - 3);
  return {
    gamma,
    alpha: free[1] ? alpha : 0,
    beta: free[2] ? beta : 0,
    atBound,
    covariance: fullCov ?? covarianceFromJacobian(lm.jtwj, free, lm.rss, dof),
    dof,
    loss: lm.rss,
    iterations: lm.iterations,
  };
}

/** The weighted NLS estimate with α ≥ 0, β ≥ 0, and the unconstrained optimum beside it. */
export function fitNlsCore(input: WeightedRows, options: CoreOptions = {}): CoreResult {
  const betaFixed = options.betaFixed === true;
  const starts = startingPoints(input, betaFixed);
  const freeAll: FreeMask = [true, true, !betaFixed];
  const full = bestLm(input, starts, freeAll);
  let unconstrained: UnconstrainedEstimate | undefined;
  if (full) {
    const dof = input.rows.length - (betaFixed ? 2 : 3);
    unconstrained = {
      gamma: full.params[0],
      alpha: full.params[1],
      beta: betaFixed ? 0 : full.params[2],
      covariance: covarianceFromJacobian(full.jtwj, freeAll, full.rss, dof),
      dof,
    };
    if (full.params[1] >= 0 && full.params[2] >= 0) {
      return {
        estimate: estimateFrom(full, freeAll, input, { alpha: false, beta: betaFixed }, betaFixed),
        unconstrained,
      };
    }
  }
  // The optimum lies on a face of the box: fit each face and keep the best non-negative one.
  const faces: { free: FreeMask; atBound: { alpha: boolean; beta: boolean } }[] = [
    { free: [true, true, false], atBound: { alpha: false, beta: true } },
    { free: [true, false, false], atBound: { alpha: true, beta: true } },
  ];
  if (!betaFixed) faces.push({ free: [true, false, true], atBound: { alpha: true, beta: false } });
  const clamped = starts.map((s) => [s[0], Math.max(0, s[1]), Math.max(0, s[2])]);
  let best: CoreEstimate | undefined;
  for (const face of faces) {
    const lm = bestLm(input, clamped, face.free);
    if (!lm || lm.params[1] < 0 || lm.params[2] < 0) continue;
    const est = estimateFrom(lm, face.free, input, face.atBound, betaFixed);
    if (!best || est.loss < best.loss) best = est;
  }
  if (!best) {
    throw shockError('SHOCK_FIT_NOT_CONVERGED', 'non-linear least squares found no non-negative optimum', {
      hint: 'check the data for outliers or a wrong unit; try --method closed to see the starting values',
    });
  }
  return { estimate: best, unconstrained };
}
