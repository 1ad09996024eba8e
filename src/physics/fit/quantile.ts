/**
 * Quantile regression of the USL at level τ (seed 004, "Quantile Regression for Noise-Robust Fitting"; Koenker &
 * Bassett 1978): minimise the check loss
 *
 *     L(γ, α, β) = Σ ρ_τ(Xᵢ − X(Nᵢ; γ, α, β)),   ρ_τ(u) = u·(τ − 1[u < 0]),   α ≥ 0, β ≥ 0.
 *
 * τ = 0.1 fits the P10 envelope: the throughput the system sustains under production noise, not its peaks.
 *
 * Method. X(N) = γ·gᵢ with gᵢ = C(Nᵢ) > 0, and ρ_τ is positively homogeneous, so ρ_τ(Xᵢ − γgᵢ) = gᵢ·ρ_τ(Xᵢ/gᵢ − γ):
 * for fixed (α, β) the best γ is exactly the gᵢ-weighted τ-quantile of the ratios Xᵢ/gᵢ. That leaves a
 * two-dimensional, piecewise-smooth problem in (α, β) ≥ 0, solved by a Nelder–Mead search followed by a compass
 * (pattern) search with diagonal directions whose steps halve to 10⁻⁸ of the first, from several starts. The tests
 * compare it with brute-force minimisation on a fine grid.
 */
import { shockError } from '../../base/index.js';
import { uslCapacity } from '../usl.js';
import { checkLoss, weightedQuantile } from '../stats.js';
import { fitNlsCore } from './nls.js';
import type { CoreOptions, CoreResult, WeightedRows } from './types.js';

export const defaultTau = 0.1;

/** The exact profile: the best γ for fixed (α, β) and the check loss it leaves. */
export function quantileProfile(
  rows: WeightedRows['rows'],
  alpha: number,
  beta: number,
  tau: number,
): { gamma: number; loss: number } {
  const g = rows.map((r) => uslCapacity(alpha, beta, r.n));
  const ratios = rows.map((r, i) => r.x / g[i]);
  const gamma = weightedQuantile(ratios, g, tau);
  let loss = 0;
  rows.forEach((r, i) => (loss += checkLoss(r.x - gamma * g[i], tau)));
  return { gamma, loss };
}

/**
 * The same profile loss without allocations, for the optimiser's inner loop (it runs thousands of times per fit and a
 * bootstrap runs a thousand fits). Scratch arrays are owned by the caller.
 */
function makeProfileLoss(rows: WeightedRows['rows'], tau: number): (alpha: number, beta: number) => number {
  const m = rows.length;
  const ns = Float64Array.from(rows, (r) => r.n);
  const xs = Float64Array.from(rows, (r) => r.x);
  const g = new Float64Array(m);
  const ratio = new Float64Array(m);
  const order = new Int32Array(m);
  return (alpha, beta) => {
    let total = 0;
    for (let i = 0; i < m; i++) {
      const n = ns[i];
      g[i] = n / (1 + alpha * (n - 1) + beta * n * (n - 1));
      ratio[i] = xs[i] / g[i];
      total += g[i];
      // Insertion sort of indices by ratio: m is small (tens to hundreds of windows).
      let j = i - 1;
      while (j >= 0 && ratio[order[j]] > ratio[i]) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = i;
    }
    const target = tau * total;
    let cumulative = 0;
    let gamma = ratio[order[m - 1]];
    for (let k = 0; k < m; k++) {
      cumulative += g[order[k]];
      if (cumulative >= target - 1e-12 * total) {
        gamma = ratio[order[k]];
        break;
      }
    }
    let loss = 0;
    for (let i = 0; i < m; i++) {
      const u = xs[i] - gamma * g[i];
      loss += u >= 0 ? tau * u : (tau - 1) * u;
    }
    return loss;
  };
}

interface Point2 {
  a: number;
  b: number;
  loss: number;
}

const nelderMeadIterationsMax = 400;
const compassIterationsMax = 2000;

function nelderMead(
  f: (a: number, b: number) => number,
  start: Point2,
  stepA: number,
  stepB: number,
  lossTol: number,
): Point2 {
  let simplex: Point2[] = [
    start,
    { a: start.a + stepA, b: start.b, loss: 0 },
    { a: start.a, b: start.b + stepB, loss: 0 },
  ];
  for (const p of simplex) p.loss = f(p.a, p.b);
  for (let it = 0; it < nelderMeadIterationsMax; it++) {
    simplex.sort((p, q) => p.loss - q.loss);
    const [best, mid, worst] = simplex;
    if (worst.loss - best.loss <= lossTol) break;
    const spanA = Math.max(Math.abs(mid.a - best.a), Math.abs(worst.a - best.a));
    const spanB = Math.max(Math.abs(mid.b - best.b), Math.abs(worst.b - best.b));
    if (spanA <= 1e-10 * stepA && spanB <= 1e-10 * (stepB || 1)) break;
    const ca = (best.a + mid.a) / 2;
    const cb = (best.b + mid.b) / 2;
    const at = (t: number): Point2 => {
      const a = ca + t * (worst.a - ca);
      const b = cb + t * (worst.b - cb);
      return { a, b, loss: f(a, b) };
    };
    const reflected = at(-1);
    if (reflected.loss < best.loss) {
      const expanded = at(-2);
      simplex = [best, mid, expanded.loss < reflected.loss ? expanded : reflected];
    } else if (reflected.loss < mid.loss) {
      simplex = [best, mid, reflected];
    } else {
      const contracted = at(reflected.loss < worst.loss ? -0.5 : 0.5);
      if (contracted.loss < Math.min(worst.loss, reflected.loss)) simplex = [best, mid, contracted];
      else {
        const shrink = (p: Point2): Point2 => {
          const a = best.a + 0.5 * (p.a - best.a);
          const b = best.b + 0.5 * (p.b - best.b);
          return { a, b, loss: f(a, b) };
        };
        simplex = [best, shrink(mid), shrink(worst)];
      }
    }
  }
  simplex.sort((p, q) => p.loss - q.loss);
  return simplex[0];
}

const directions = [
  [1, 0],
  [-1, 0],
  [0, 1],
  [0, -1],
  [1, 1],
  [-1, -1],
  [1, -1],
  [-1, 1],
];

/** Compass search on α ≥ 0, β ≥ 0 (steps projected onto the bounds, so the bound 0 itself is reachable). */
function compass(f: (a: number, b: number) => number, start: Point2, stepA: number, stepB: number): Point2 {
  let best = start;
  let sa = stepA;
  let sb = stepB;
  const stepAMin = 1e-8 * Math.max(stepA, 1e-300);
  const stepBMin = 1e-8 * Math.max(stepB, 1e-300);
  for (let it = 0; it < compassIterationsMax && (sa > stepAMin || sb > stepBMin); it++) {
    let improved = false;
    for (const [da, db] of directions) {
      const a = Math.max(0, best.a + da * sa);
      const b = Math.max(0, best.b + db * sb);
      if (a === best.a && b === best.b) continue;
      const loss = f(a, b);
      if (loss < best.loss) {
        best = { a, b, loss };
        improved = true;
        break;
      }
    }
    if (!improved) {
      sa /= 2;
      sb /= 2;
    }
  }
  return best;
}

/**
 * The τ-quantile USL estimate with α ≥ 0, β ≥ 0. Starts from the least-squares estimate (and the bounds and a
 * near-linear point); no covariance (intervals come from the bootstrap).
 */
export function fitQuantileCore(input: WeightedRows, options: CoreOptions = {}): CoreResult {
  const tau = options.tau ?? defaultTau;
  if (!(tau > 0 && tau < 1)) throw shockError('SHOCK_PHYSICS_DOMAIN', `tau must be in (0, 1), got ${tau}`);
  const betaFixed = options.betaFixed === true;
  const rows = input.rows;
  const nTop = Math.max(...rows.map((r) => r.n));
  const profile = makeProfileLoss(rows, tau);
  const f = (a: number, b: number): number => {
    if (a < 0 || b < 0 || (betaFixed && b !== 0)) return Infinity;
    return profile(a, b);
  };
  // Differences in loss below this are rounding, not progress.
  const lossTol = 1e-13 * rows.reduce((sum, r) => sum + r.x, 0);
  const ls = options.start ?? fitNlsCore(input, { betaFixed }).estimate;
  const starts: [number, number][] = [[ls.alpha, ls.beta]];
  if (!options.start) starts.push([ls.alpha, 0], [0, ls.beta], [0.01, betaFixed ? 0 : 1 / (nTop * nTop)]);
  let best: Point2 | undefined;
  for (const [a0, b0] of starts) {
    const b = betaFixed ? 0 : b0;
    const stepA = Math.max(0.25 * a0, 0.01);
    const stepB = betaFixed ? 0 : Math.max(0.25 * b, 0.1 / (nTop * nTop));
    let p: Point2 = { a: a0, b, loss: f(a0, b) };
    if (!betaFixed) p = nelderMead(f, p, stepA, stepB, lossTol);
    p = compass(f, p, stepA, stepB);
    if (!best || p.loss < best.loss) best = p;
    if (best.loss <= lossTol) break;
  }
  // Snap to a bound when it costs nothing: the box edge is where the optimiser approaches from inside.
  for (const snapped of [
    { a: 0, b: best!.b },
    { a: best!.a, b: 0 },
  ]) {
    const loss = f(snapped.a, snapped.b);
    if (loss <= best!.loss + lossTol) best = { ...snapped, loss };
  }
  const { gamma, loss } = quantileProfile(rows, best!.a, best!.b, tau);
  const estimate = {
    gamma,
    alpha: best!.a,
    beta: best!.b,
    atBound: { alpha: best!.a === 0, beta: best!.b === 0 },
    dof: rows.length - (betaFixed ? 2 : 3),
    loss,
    iterations: 0,
  };
  return { estimate };
}
