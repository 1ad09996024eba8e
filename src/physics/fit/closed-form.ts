/**
 * The closed form (Gunther 2007, §5.6; R `usl` method "default" before 2.0; the SPEC SDM91 example in R `usl`).
 * Scale throughput by γ = X(1) to get the relative capacity C(N) = X(N)/γ. Then
 *
 *     y = N/C(N) − 1 = α·x + β·x(x + 1),   x = N − 1,
 *
 * is linear in (α, β) with no intercept: two points with N > 1 solve it, more give the least-squares estimate.
 * It is the starting point of the other fits.
 */
import { shockError } from '../../base/index.js';
import { invertMatrix, solveLinear } from '../stats.js';
import type { CoreOptions, CoreResult, CoreEstimate, WeightedRows } from './types.js';

/** γ for the closed form: the mean X at N = 1, else X/N at the smallest N (which assumes linear scaling there). */
export function closedFormGamma(rows: WeightedRows['rows']): { gamma: number; extrapolated: boolean } {
  const ones = rows.filter((r) => r.n === 1);
  if (ones.length > 0) return { gamma: ones.reduce((s, r) => s + r.x, 0) / ones.length, extrapolated: false };
  const nMin = Math.min(...rows.map((r) => r.n));
  const atMin = rows.filter((r) => r.n === nMin);
  return { gamma: atMin.reduce((s, r) => s + r.x / r.n, 0) / atMin.length, extrapolated: true };
}

interface LinearFit {
  alpha: number;
  beta: number;
  rss: number;
  /** Unscaled inverse of XᵀX over the estimated coefficients (2×2, zeros for fixed ones). */
  xtxInverse?: number[][];
  estimated: number;
}

/** Least squares of y on the chosen columns of [x, x(x+1)] (no intercept). */
function linearFit(
  xs: readonly number[],
  ys: readonly number[],
  useAlpha: boolean,
  useBeta: boolean,
): LinearFit | undefined {
  const cols: ((x: number) => number)[] = [];
  if (useAlpha) cols.push((x) => x);
  if (useBeta) cols.push((x) => x * (x + 1));
  let alpha = 0;
  let beta = 0;
  let xtxInverse: number[][] | undefined;
  if (cols.length > 0) {
    const xtx = cols.map((ci) => cols.map((cj) => xs.reduce((s, x) => s + ci(x) * cj(x), 0)));
    const xty = cols.map((ci) => xs.reduce((s, x, k) => s + ci(x) * ys[k], 0));
    const coef = solveLinear(xtx, xty);
    if (!coef) return undefined;
    const inv = invertMatrix(xtx);
    if (useAlpha) alpha = coef[0];
    if (useBeta) beta = coef[useAlpha ? 1 : 0];
    if (inv) {
      xtxInverse = [
        [0, 0],
        [0, 0],
      ];
      const slots = [useAlpha ? 0 : -1, useBeta ? 1 : -1].filter((s) => s >= 0);
      slots.forEach((si, a) => slots.forEach((sj, b) => (xtxInverse![si][sj] = inv[a][b])));
    }
  }
  let rss = 0;
  xs.forEach((x, k) => {
    const r = ys[k] - alpha * x - beta * x * (x + 1);
    rss += r * r;
  });
  return { alpha, beta, rss, xtxInverse, estimated: cols.length };
}

function covarianceOf(fit: LinearFit, m: number): { covariance?: number[][]; dof: number } {
  const dof = m - fit.estimated;
  if (dof <= 0 || !fit.xtxInverse) return { dof };
  const s2 = fit.rss / dof;
  const c = fit.xtxInverse;
  return {
    dof,
    covariance: [
      [0, 0, 0],
      [0, s2 * c[0][0], s2 * c[0][1]],
      [0, s2 * c[1][0], s2 * c[1][1]],
    ],
  };
}

/**
 * The closed-form estimate with α ≥ 0, β ≥ 0: the least-squares solution when it is non-negative, otherwise the best
 * non-negative one over the faces of the constraint box (exact for a two-coefficient linear problem). γ is not
 * estimated jointly (its covariance row is 0).
 */
export function fitClosedFormCore(
  input: WeightedRows,
  options: CoreOptions = {},
): CoreResult & { gammaExtrapolated: boolean } {
  const { gamma, extrapolated } = closedFormGamma(input.rows);
  const used = input.rows.filter((r) => r.n !== 1);
  const xs = used.map((r) => r.n - 1);
  const ys = used.map((r) => r.n / (r.x / gamma) - 1);
  const distinctX = new Set(xs).size;
  const betaFixed = options.betaFixed === true || distinctX < 2;
  if (distinctX < 1) {
    throw shockError('SHOCK_FIT_TOO_FEW_POINTS', 'the closed form needs a measurement at some N > 1');
  }
  const free = linearFit(xs, ys, true, !betaFixed);
  if (!free) throw shockError('SHOCK_FIT_NOT_CONVERGED', 'the closed-form normal equations are singular');
  const freeCov = covarianceOf(free, used.length);
  const unconstrained = { gamma, alpha: free.alpha, beta: free.beta, ...freeCov };

  const candidates: { fit: LinearFit; atAlpha: boolean; atBeta: boolean }[] = [];
  if (free.alpha >= 0 && free.beta >= 0) candidates.push({ fit: free, atAlpha: false, atBeta: betaFixed });
  else {
    const alphaOnly = linearFit(xs, ys, true, false);
    if (alphaOnly && alphaOnly.alpha >= 0) candidates.push({ fit: alphaOnly, atAlpha: false, atBeta: true });
    if (!betaFixed) {
      const betaOnly = linearFit(xs, ys, false, true);
      if (betaOnly && betaOnly.beta >= 0) candidates.push({ fit: betaOnly, atAlpha: true, atBeta: false });
    }
    candidates.push({ fit: linearFit(xs, ys, false, false)!, atAlpha: true, atBeta: true });
  }
  candidates.sort((a, b) => a.fit.rss - b.fit.rss);
  const best = candidates[0];
  const estimate: CoreEstimate = {
    gamma,
    alpha: best.fit.alpha,
    beta: best.fit.beta,
    atBound: { alpha: best.atAlpha, beta: best.atBeta },
    ...covarianceOf(best.fit, used.length),
    loss: best.fit.rss,
    iterations: 1,
  };
  return { estimate, unconstrained, gammaExtrapolated: extrapolated };
}
