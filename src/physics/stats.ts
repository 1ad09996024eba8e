/**
 * Small numerical helpers the fits share: quantiles, the normal and Student-t inverse CDFs, weighted quantiles and a
 * dense linear solver. Pure; no dependencies.
 */
import { assert } from '../base/index.js';

export function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Sample standard deviation (n − 1 in the denominator); 0 for fewer than two values. */
export function sampleSd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) * (v - m);
  return Math.sqrt(ss / (values.length - 1));
}

/**
 * The p-quantile of already sorted values by linear interpolation between order statistics (Hyndman & Fan type 7,
 * R's default). Infinite values sort last and propagate without producing NaN.
 */
export function quantileSorted(sorted: readonly number[], p: number): number {
  assert(sorted.length > 0, 'quantile of an empty sample');
  assert(p >= 0 && p <= 1, 'quantile probability in [0, 1]', { p });
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  const frac = h - lo;
  if (frac === 0 || sorted[lo] === sorted[hi]) return sorted[lo];
  if (!Number.isFinite(sorted[hi]) || !Number.isFinite(sorted[lo])) return frac < 1 ? sorted[hi] : sorted[hi];
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

/** The p-quantile (type 7) of unsorted values. */
export function quantile(values: readonly number[], p: number): number {
  return quantileSorted(
    [...values].sort((a, b) => a - b),
    p,
  );
}

/**
 * The weighted τ-quantile: a minimiser of Σ wᵢ·ρ_τ(vᵢ − q) over q, where ρ_τ(u) = u(τ − 1[u < 0]) is the check
 * loss (Koenker 2005). Returns the smallest vᵢ at which the cumulative weight reaches τ·Σw, which is an exact
 * minimiser (the loss is piecewise linear with kinks at the vᵢ).
 */
export function weightedQuantile(values: readonly number[], weights: readonly number[], tau: number): number {
  assert(values.length === weights.length && values.length > 0, 'weighted quantile needs matching, non-empty arrays');
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  let total = 0;
  for (const w of weights) total += w;
  const target = tau * total;
  let cumulative = 0;
  for (const i of order) {
    cumulative += weights[i];
    if (cumulative >= target - 1e-12 * total) return values[i];
  }
  return values[order[order.length - 1]];
}

/** The check loss ρ_τ(u) = u·(τ − 1[u < 0]) of quantile regression. */
export function checkLoss(u: number, tau: number): number {
  return u >= 0 ? tau * u : (tau - 1) * u;
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, refined by one Halley step; |error| < 1e-15). */
export function normalQuantile(p: number): number {
  assert(p > 0 && p < 1, 'normal quantile needs p in (0, 1)', { p });
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const pLow = 0.02425;
  let x: number;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - pLow) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
      (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x =
      -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** Standard normal CDF Φ(x) = erfc(−x/√2)/2. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Complementary error function to near double precision: erf's Taylor series below 2, Lentz's continued fraction above. */
export function erfc(x: number): number {
  const ax = Math.abs(x);
  let result: number;
  if (ax < 2) {
    // erf by its Taylor series, then 1 − erf.
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let k = 1; k < 100; k++) {
      term *= -x2 / k;
      const add = term / (2 * k + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    result = 1 - (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // Lentz's continued fraction for erfc.
    const x2 = ax * ax;
    let f = ax;
    let cPrev = ax;
    let dPrev = 0;
    for (let k = 1; k < 200; k++) {
      const an = k / 2;
      let dk = ax + an * dPrev;
      dk = dk === 0 ? 1e-300 : dk;
      let ck = ax + an / cPrev;
      ck = ck === 0 ? 1e-300 : ck;
      dk = 1 / dk;
      const delta = ck * dk;
      f *= delta;
      cPrev = ck;
      dPrev = dk;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    result = Math.exp(-x2) / (f * Math.sqrt(Math.PI));
  }
  return x >= 0 ? result : 2 - result;
}

/** ln Γ(x) (Lanczos, g = 7, n = 9). */
export function logGamma(x: number): number {
  const g = 7;
  const coef = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const xx = x - 1;
  let a = coef[0];
  const t = xx + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += coef[i] / (xx + i);
  return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised incomplete beta I_x(a, b) (Numerical Recipes `betai` with Lentz's continued fraction). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 3e-16) break;
  }
  return h;
}

/** Student-t CDF with `dof` degrees of freedom. */
export function studentTCdf(t: number, dof: number): number {
  const x = dof / (dof + t * t);
  const tail = 0.5 * incompleteBeta(x, dof / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Inverse Student-t CDF (bisection on the CDF; exact to ~1e-12). Falls back to the normal for dof > 1e6. */
export function studentTQuantile(p: number, dof: number): number {
  assert(p > 0 && p < 1 && dof > 0, 'student t quantile domain', { p, dof });
  if (dof > 1e6) return normalQuantile(p);
  if (p < 0.5) return -studentTQuantile(1 - p, dof);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, dof) < p && hi < 1e12) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-13 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, dof) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Solves A·x = b for a small dense symmetric positive (semi)definite or general matrix by Gaussian elimination with
 * partial pivoting. Returns undefined when A is singular to working precision.
 */
export function solveLinear(a: readonly (readonly number[])[], b: readonly number[]): number[] | undefined {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  let scale = 0;
  for (const row of a) for (const v of row) scale = Math.max(scale, Math.abs(v));
  if (scale === 0) return undefined;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    if (Math.abs(m[pivot][col]) <= 1e-14 * scale) return undefined;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = col + 1; r < n; r++) {
      const f = m[r][col] / m[col][col];
      for (let c = col; c <= n; c++) m[r][c] -= f * m[col][c];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let c = r + 1; c < n; c++) s -= m[r][c] * x[c];
    x[r] = s / m[r][r];
  }
  return x;
}

/** Inverse of a small dense matrix (Gauss–Jordan); undefined when singular. */
export function invertMatrix(a: readonly (readonly number[])[]): number[][] | undefined {
  const n = a.length;
  const cols: number[][] = [];
  for (let j = 0; j < n; j++) {
    const e = new Array<number>(n).fill(0);
    e[j] = 1;
    const x = solveLinear(a, e);
    if (!x) return undefined;
    cols.push(x);
  }
  return a.map((_, i) => cols.map((col) => col[i]));
}
