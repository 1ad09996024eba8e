/**
 * From kept windows to the certificate's fit: the per-N points (median of the stall-filtered windows, seed 004
 * "Filtering procedure"), the weighted NLS fit (weights 1/σ² per N) with α ≥ 0, β ≥ 0, the pairs-bootstrap 90%
 * intervals (only with at least 5 distinct N: "The Five-Point Minimum"), N_max and the autoscaler ceiling, the 15%
 * sanity check and the retrograde confirmation.
 */
import { isShockError } from '../../base/index.js';
import {
  autoscalerCeiling,
  classifyNegatives,
  bootstrapUsl,
  curveGrid,
  fitNlsCore,
  fitUsl,
  fitWarningCodes,
  intervalDistinctNMin,
  offModelFraction,
  uslNMax,
  uslThroughput,
  uslXMax,
  type CurveBand,
  type Interval,
  type Measurement,
} from '../../physics/index.js';
import type { CertificateFit, CertificatePoint, Estimate } from '../report/certificate.js';
import type { WindowRecord } from './windows.js';

/** The fit and the band of X(N) the report plots. */
export interface LabFit {
  fit: CertificateFit;
  band: CurveBand | null;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function sd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

/** One point per N from the windows (kept windows only for the throughput; all for the counts). */
export function pointsFromWindows(windows: readonly WindowRecord[]): CertificatePoint[] {
  const byN = new Map<number, WindowRecord[]>();
  for (const w of windows) {
    const list = byN.get(w.n) ?? [];
    list.push(w);
    byN.set(w.n, list);
  }
  const points: CertificatePoint[] = [];
  for (const [n, list] of [...byN.entries()].sort((a, b) => a[0] - b[0])) {
    const kept = list.filter((w) => w.kept);
    if (kept.length === 0) continue;
    const xs = kept.map((w) => w.throughputPerSec);
    points.push({
      n,
      concurrency: kept[kept.length - 1].concurrency,
      throughputPerSec: median(xs),
      throughputSdPerSec: sd(xs),
      windowsKept: kept.length,
      windowsDiscarded: list.length - kept.length,
    });
  }
  return points;
}

function estimate(value: number, low: number | null, high: number | null): Estimate {
  return { value, low, high };
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** Prior degrees of freedom of the pooled relative noise in the per-N variance (empirical-Bayes shrinkage). */
export const varianceShrinkDof = 6;

/**
 * Weights 1/σ²_N for the windows (seed 004: "σ is the standard deviation of X across the windows at that N"). With a
 * handful of windows per N the sample σ is itself very noisy (3 windows: a χ² with 2 dof), and a lucky small σ would
 * take nearly all the weight and make the intervals far too narrow. So each N's variance is shrunk toward the pooled
 * relative noise: σ²_N = (k·s²_N + ν₀·cv²·x̄²_N)/(k + ν₀), k = windows − 1, ν₀ = 6. Normalised to mean 1.
 */
export function shrunkWeights(rows: readonly Measurement[]): number[] {
  const groups = new Map<number, number[]>();
  for (const r of rows) groups.set(r.n, [...(groups.get(r.n) ?? []), r.x]);
  const stats = new Map<number, { mean: number; variance: number; k: number }>();
  let cvNumerator = 0;
  let cvDof = 0;
  for (const [n, xs] of groups) {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const k = xs.length - 1;
    const variance = k > 0 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / k : 0;
    stats.set(n, { mean, variance, k });
    if (k > 0 && mean > 0) {
      cvNumerator += (k * variance) / mean ** 2;
      cvDof += k;
    }
  }
  if (cvDof === 0 || cvNumerator === 0) return rows.map(() => 1);
  const cv2 = cvNumerator / cvDof;
  const raw = rows.map((r) => {
    const g = stats.get(r.n)!;
    return (g.k + varianceShrinkDof) / (g.k * g.variance + varianceShrinkDof * cv2 * g.mean ** 2);
  });
  const scale = raw.reduce((a, b) => a + b, 0) / raw.length;
  return raw.map((w) => w / scale);
}

/** The fit warnings of the physics core that hold whatever the weights (its interval warnings are the lab's own). */
const coreWarningCodes: ReadonlySet<string> = new Set([
  fitWarningCodes.betaNotIdentified,
  fitWarningCodes.boundActive,
  fitWarningCodes.retrogradeUnconfirmed,
  fitWarningCodes.contentionDominant,
]);

/** The physics core's weight-independent warnings; its own refusal (with its own weights) is superseded above. */
function coreWarnings(rows: readonly Measurement[]): string[] {
  try {
    return fitUsl(rows, { method: 'nls', bootstrap: 0 })
      .warnings.filter((w) => coreWarningCodes.has(w.code))
      .map((w) => `${w.message} (${w.code}; ${w.hint})`);
  } catch (err) {
    if (isShockError(err) && err.code === 'SHOCK_FIT_NON_PHYSICAL') {
      return [
        'with per-N weights alone a coefficient would be refused as negative; with the shrunk weights it is held at 0',
      ];
    }
    throw err;
  }
}

/**
 * Fits the kept windows: weighted NLS (α ≥ 0, β ≥ 0) with the shrunk weights, and the seed's pairs bootstrap (1,000
 * resamples) for the intervals at `level` (only with at least 5 distinct N). Null when fewer than 2 distinct N have
 * kept windows (nothing to fit).
 */
export function fitWindows(windows: readonly WindowRecord[], seed = 1, level = 0.9): LabFit | null {
  const kept = windows.filter((w) => w.kept && w.throughputPerSec > 0);
  const rows: Measurement[] = kept.map((w) => ({ n: w.n, x: w.throughputPerSec }));
  const distinctN = new Set(rows.map((r) => r.n)).size;
  if (distinctN < 2) return null;
  const weights = shrunkWeights(rows);
  const betaFixed = distinctN < 3;
  const result = fitNlsCore({ rows, weights }, { betaFixed });
  // The seed's refusal rule (a coefficient clearly below 0 halts the fit), decided with the lab's own weights.
  if (result.unconstrained) classifyNegatives(result.unconstrained, Math.max(...rows.map((r) => r.n)));
  const core = result.estimate;
  const params = { gamma: core.gamma, alpha: core.alpha, beta: core.beta };
  const nMaxValue = uslNMax(params.alpha, params.beta);
  const nTop = Math.max(...rows.map((r) => r.n));
  const warnings = coreWarnings(rows);
  const boot =
    distinctN >= intervalDistinctNMin
      ? bootstrapUsl(
          { rows, weights },
          (sample) => fitNlsCore(sample, { betaFixed, start: { alpha: params.alpha, beta: params.beta } }).estimate,
          { seed, level, bandN: curveGrid(nTop, nMaxValue) },
        )
      : undefined;
  if (distinctN < intervalDistinctNMin) {
    warnings.push(
      `only ${distinctN} distinct N: a point estimate without intervals and without an autoscaler ceiling (measure at least ${intervalDistinctNMin})`,
    );
  } else if (!boot) {
    warnings.push('the bootstrap could not fit enough resamples: no intervals (measure more windows per N)');
  }
  const nMax = Number.isFinite(nMaxValue) ? estimate(nMaxValue, ...bounds(boot?.nMax)) : null;
  const ceiling = nMax && nMax.low !== null ? autoscalerCeiling(nMax.low) : null;
  if (nMax && nMax.low !== null && ceiling === null)
    warnings.push('the N_max interval leaves no autoscaler ceiling: floor(lower) − 2 < 1');
  if (nMax && nMax.low !== null && nMax.high !== null && nMax.high - nMax.low > 0.5 * nMax.value) {
    warnings.push(
      'the N_max interval is wider than half of N_max: the measurement is noise-dominated (more windows, quieter machine)',
    );
  }
  const points = pointsFromWindows(windows);
  const sanity = sanityCheck(points, params);
  if (!sanity.passed) {
    warnings.push(
      `a measured point is ${(sanity.deviationMax * 100).toFixed(0)}% off the model at N = ${sanity.worstN} (> 15%): look for imbalance, a cold cache or one serial bottleneck`,
    );
  }
  const at = (name: 'gamma' | 'alpha' | 'beta'): Estimate => {
    const [low, high] = bounds(boot?.[name]);
    return estimate(params[name], low === null || name === 'gamma' ? low : Math.max(0, low), high);
  };
  return {
    fit: {
      method: boot
        ? `weighted nls (1/σ² per N, shrunk), pairs bootstrap ${boot.succeeded}/${boot.resamples}, ${Math.round(level * 1000) / 10}% percentile intervals`
        : 'weighted nls (1/σ² per N, shrunk), point estimate',
      level,
      gamma: at('gamma'),
      alpha: at('alpha'),
      beta: at('beta'),
      nMax,
      xMaxPerSec: finiteOrNull(uslXMax(params)),
      autoscalerCeiling: ceiling,
      sanity,
      retrograde: retrogradeCheck(points, nMaxValue),
      warnings,
    },
    band: boot?.band ?? null,
  };
}

/** A bootstrap interval as the certificate's bounds (null when unbounded or absent). */
function bounds(interval: Interval | undefined): [number | null, number | null] {
  if (!interval) return [null, null];
  return [finiteOrNull(interval.lower), finiteOrNull(interval.upper)];
}

/** Recipe step 6: the largest relative deviation of a measured point from the fitted model. */
export function sanityCheck(
  points: readonly CertificatePoint[],
  params: { gamma: number; alpha: number; beta: number },
): CertificateFit['sanity'] {
  let deviationMax = 0;
  let worstN = points[0]?.n ?? 0;
  for (const p of points) {
    const model = uslThroughput(params, p.n);
    const deviation = model > 0 ? Math.abs(p.throughputPerSec - model) / model : 0;
    if (deviation > deviationMax) {
      deviationMax = deviation;
      worstN = p.n;
    }
  }
  return { deviationMax, worstN, passed: deviationMax <= offModelFraction };
}

/**
 * The retrograde confirmation: throughput measured *falling* past the peak by more than the noise (two standard
 * deviations of both points, and at least 5%), and points measured beyond the fitted N_max.
 */
export function retrogradeCheck(points: readonly CertificatePoint[], nMax: number): CertificateFit['retrograde'] {
  if (points.length === 0) return { measured: false, confirmed: false, note: 'no points measured' };
  const peak = points.reduce((a, b) => (b.throughputPerSec > a.throughputPerSec ? b : a));
  const after = points.filter((p) => p.n > peak.n);
  const falling = after.filter((p) => {
    const drop = peak.throughputPerSec - p.throughputPerSec;
    return drop > 0.05 * peak.throughputPerSec && drop > 2 * (peak.throughputSdPerSec + p.throughputSdPerSec);
  });
  const beyond = points.filter((p) => p.n > nMax);
  const measured = falling.length > 0;
  if (!Number.isFinite(nMax)) {
    return {
      measured,
      confirmed: false,
      note: measured
        ? 'throughput fell after its peak but the fit found β = 0'
        : 'no retrograde region: β = 0 (an Amdahl ceiling)',
    };
  }
  if (beyond.length === 0) {
    return {
      measured,
      confirmed: false,
      note: `no point measured beyond N_max ≈ ${nMax.toFixed(1)}: the retrograde region is an extrapolation — add larger N to the plan`,
    };
  }
  return {
    measured,
    confirmed: measured,
    note: measured
      ? `throughput measured falling from ${peak.throughputPerSec.toFixed(1)}/s at N = ${peak.n} to ${falling[falling.length - 1].throughputPerSec.toFixed(1)}/s at N = ${falling[falling.length - 1].n}`
      : `points beyond N_max ≈ ${nMax.toFixed(1)} do not fall beyond the noise: the retrograde region is not confirmed`,
  };
}
