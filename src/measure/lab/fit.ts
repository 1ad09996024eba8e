/**
 * From kept windows to the certificate's fit: the per-N points (median of the stall-filtered windows, seed 004
 * "Filtering procedure"), the weighted NLS fit (weights 1/σ² per N) with α ≥ 0, β ≥ 0, the pairs-bootstrap 90%
 * intervals (only with at least 5 distinct N: "The Five-Point Minimum"), N_max and the autoscaler ceiling, the 15%
 * sanity check and the retrograde confirmation.
 */
import { uslNMax, uslThroughput, uslXMax } from '../../physics/usl.js';
import { prepareMeasurements, type Measurement } from '../../physics/fit/data.js';
import { fitNlsCore } from '../../physics/fit/nls.js';
import { bootstrapUsl, type CurveBand } from '../../physics/interval/bootstrap.js';
import { autoscalerCeiling } from '../../physics/interval/delta.js';
import { intervalDistinctNMin, offModelFraction } from '../../physics/warnings.js';
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

/** Fits the kept windows; null when fewer than 2 distinct N have kept windows (nothing to fit). */
export function fitWindows(windows: readonly WindowRecord[], seed = 1): LabFit | null {
  const kept = windows.filter((w) => w.kept && w.throughputPerSec > 0);
  const rows: Measurement[] = kept.map((w) => ({ n: w.n, x: w.throughputPerSec }));
  if (new Set(rows.map((r) => r.n)).size < 2) return null;
  const prepared = prepareMeasurements(rows);
  const distinctN = prepared.distinctN;
  const betaFixed = distinctN < 3;
  const core = fitNlsCore({ rows: prepared.rows, weights: prepared.weights }, { betaFixed }).estimate;
  const params = { gamma: core.gamma, alpha: core.alpha, beta: core.beta };
  const warnings: string[] = [];
  if (betaFixed) warnings.push('only two distinct N: β is not identifiable and is held at 0');

  const plotN = bandGrid(Math.max(...rows.map((r) => r.n)));
  const withIntervals = distinctN >= intervalDistinctNMin;
  const boot = withIntervals
    ? bootstrapUsl(
        { rows: prepared.rows, weights: prepared.weights },
        (resample) => fitNlsCore(resample, { betaFixed }).estimate,
        { seed, bandN: plotN },
      )
    : undefined;
  if (!withIntervals) {
    warnings.push(
      `only ${distinctN} distinct N: a point estimate without intervals (measure at least ${intervalDistinctNMin})`,
    );
  } else if (!boot) {
    warnings.push('the bootstrap could not fit enough resamples: no intervals');
  }

  const nMaxValue = uslNMax(params.alpha, params.beta);
  const nMax = Number.isFinite(nMaxValue)
    ? estimate(nMaxValue, boot ? finiteOrNull(boot.nMax.lower) : null, boot ? finiteOrNull(boot.nMax.upper) : null)
    : null;
  const ceiling = nMax && nMax.low !== null ? autoscalerCeiling(nMax.low) : null;
  if (nMax && nMax.low !== null && ceiling === null)
    warnings.push('the N_max interval leaves no room for an autoscaler ceiling (lower bound − 2 < 1)');

  const sanity = sanityCheck(pointsFromWindows(windows), params);
  if (!sanity.passed) {
    warnings.push(
      `a measured point is ${(sanity.deviationMax * 100).toFixed(0)}% off the model at N = ${sanity.worstN} (> 15%): look for imbalance, a cold cache or one serial bottleneck`,
    );
  }
  const retrograde = retrogradeCheck(pointsFromWindows(windows), nMax?.value ?? Infinity);
  if (nMax && !retrograde.confirmed) warnings.push(retrograde.note);

  return {
    fit: {
      method: 'weighted nls (1/σ² per N), pairs bootstrap 90%',
      gamma: estimate(params.gamma, boot?.gamma.lower ?? null, boot?.gamma.upper ?? null),
      alpha: estimate(params.alpha, boot?.alpha.lower ?? null, boot?.alpha.upper ?? null),
      beta: estimate(params.beta, boot?.beta.lower ?? null, boot?.beta.upper ?? null),
      nMax,
      xMaxPerSec: finiteOrNull(uslXMax(params)),
      autoscalerCeiling: ceiling,
      sanity,
      retrograde,
      warnings,
    },
    band: boot?.band ?? null,
  };
}

function bandGrid(nHigh: number): number[] {
  const grid: number[] = [];
  const steps = 60;
  for (let i = 0; i <= steps; i++) grid.push(1 + ((nHigh * 1.25 - 1) * i) / steps);
  return grid;
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
