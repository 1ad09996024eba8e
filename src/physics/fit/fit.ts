/**
 * `fitUsl`: one entry point for every method. It validates the rows, applies the active-bound rule (a negative
 * coefficient within its interval of zero is held at 0 with a warning; a clearly negative one is refused with
 * SHOCK_FIT_NON_PHYSICAL), fits with the chosen method, and adds what the seed's honesty rules ask for: intervals
 * only from five distinct N, the retrograde confirmation, the 15% check, the autoscaler ceiling.
 */
import { shockError } from '../../base/index.js';
import { studentTQuantile } from '../stats.js';
import { amdahlAsymptote, uslEfficiency, uslNMax, uslThroughput, uslXMax } from '../usl.js';
import { defaultRoiNodes, nodeRoiTable, type RoiRow } from '../roi.js';
import {
  autoscalerCeiling,
  nMaxDeltaInterval,
  waldInterval,
  type Interval,
  type NMaxDelta,
} from '../interval/delta.js';
import {
  bootstrapUsl,
  defaultBootstrapResamples,
  defaultBootstrapSeed,
  type BootstrapResult,
} from '../interval/bootstrap.js';
import { fitWarning, fitWarningCodes, intervalDistinctNMin, offModelFraction, type FitWarning } from '../warnings.js';
import { prepareMeasurements, type Measurement, type PreparedData } from './data.js';
import { fitClosedFormCore } from './closed-form.js';
import { fitNlsCore } from './nls.js';
import { defaultTau, fitQuantileCore } from './quantile.js';
import type { CoreEstimate, CoreOptions, FitMethod, UnconstrainedEstimate, WeightedRows } from './types.js';

export interface FitOptions {
  /** 'nls' (default), 'closed' or 'quantile'. */
  readonly method?: FitMethod;
  /** Quantile level for method 'quantile' (default 0.1, the P10 envelope). */
  readonly tau?: number;
  /** Bootstrap resamples (default 1,000; 0 turns the bootstrap off). Needs five distinct N. */
  readonly bootstrap?: number;
  /** Bootstrap seed (default 1). */
  readonly seed?: number;
  /** Interval level (default 0.9). */
  readonly level?: number;
  /** 'auto' (default): weights 1/σ² from repeated windows per N; 'none': ordinary least squares. */
  readonly weights?: 'auto' | 'none';
  /** N values for the bootstrap band (default: `curveGrid`). */
  readonly bandN?: readonly number[];
}

/** One measured row with the model's value beside it. */
export interface FittedRow {
  readonly n: number;
  readonly x: number;
  readonly weight: number;
  readonly predicted: number;
  /** x − predicted. */
  readonly residual: number;
}

/** The windows at one N summarised against the model. */
export interface FittedGroup {
  readonly n: number;
  /** The group's centre: the mean of its windows (the τ-quantile for the quantile method). */
  readonly x: number;
  readonly count: number;
  readonly sd: number;
  readonly predicted: number;
  /** (x − predicted)/predicted. */
  readonly deviation: number;
}

export interface FitIntervals {
  readonly level: number;
  /** Wald intervals from the covariance (Student t on the residual degrees of freedom). */
  readonly gamma?: Interval;
  readonly alpha?: Interval;
  readonly beta?: Interval;
  /** Delta-method interval of N_max. */
  readonly nMaxDelta?: NMaxDelta;
}

export interface AutoscalerCeiling {
  /** floor(lower bound of N_max) − 2; null when that is below one node or the bound is unbounded. */
  readonly nodes: number | null;
  readonly nMaxLower: number;
  readonly source: 'bootstrap' | 'delta';
}

/** What every fit method returns. */
export interface UslFit {
  readonly method: FitMethod;
  readonly tau?: number;
  readonly gamma: number;
  readonly alpha: number;
  readonly beta: number;
  /** sqrt((1 − α)/β); Infinity when β = 0. */
  readonly nMax: number;
  /** X(N_max); the Amdahl asymptote γ/α when β = 0. */
  readonly xMax: number;
  /** γ/α, the ceiling contention alone would set. */
  readonly amdahl: number;
  readonly atBound: { readonly alpha: boolean; readonly beta: boolean };
  /** The unconstrained optimum, shown when a bound became active. */
  readonly unconstrained?: UnconstrainedEstimate;
  readonly rows: readonly FittedRow[];
  /** x − predicted for every row (same order as `rows`). */
  readonly residuals: readonly number[];
  readonly groups: readonly FittedGroup[];
  readonly distinctN: number;
  readonly weighted: boolean;
  /** Minimised loss (weighted RSS or check loss) and residual degrees of freedom. */
  readonly loss: number;
  readonly dof: number;
  readonly covariance?: number[][];
  readonly intervals?: FitIntervals;
  readonly bootstrap?: BootstrapResult;
  readonly ceiling?: AutoscalerCeiling;
  readonly roi: readonly RoiRow[];
  readonly warnings: readonly FitWarning[];
}

/** Runs one method's constrained core. */
export function fitCore(method: FitMethod, input: WeightedRows, options: CoreOptions = {}): CoreEstimate {
  switch (method) {
    case 'closed':
      return fitClosedFormCore(input, options).estimate;
    case 'nls':
      return fitNlsCore(input, options).estimate;
    case 'quantile':
      return fitQuantileCore(input, options).estimate;
  }
}

/**
 * Whole-number N for plotting the curve and its band: 1 … max(largest measured N, 2·N_max when N_max is finite, but
 * at most 4× the largest measured N), every integer up to 120 points, geometric spacing beyond.
 */
export function curveGrid(nTop: number, nMax: number): number[] {
  const top = Math.max(
    2,
    Math.ceil(Number.isFinite(nMax) ? Math.min(Math.max(nTop, 2 * nMax), 4 * nTop) : nTop * 1.25),
  );
  if (top <= 120) return Array.from({ length: top }, (_, i) => i + 1);
  const out = new Set<number>();
  const steps = 120;
  for (let i = 0; i <= steps; i++) out.add(Math.round(Math.exp((Math.log(top) * i) / steps)));
  return [...out].sort((a, b) => a - b);
}

const coefficientNames = { alpha: 'α (contention, σ)', beta: 'β (coherency, κ)' } as const;

/** A coefficient's effect on the denominator at the largest N below which it counts as zero. */
const negligibleEffect = 1e-9;

interface BoundDecision {
  readonly bound: ('alpha' | 'beta')[];
  /** Negative coefficients whose interval could not be computed (no residual degrees of freedom). */
  readonly undetermined: ('alpha' | 'beta')[];
}

/**
 * Two-sided level of the interval that decides a refusal. "Clearly negative" means its 99% interval lies below 0:
 * when the truth is 0, noise alone refuses the data at most 0.5% of the time (at 90% it would be 5%, and honest data
 * from a system with almost no contention would be refused one time in twenty).
 */
export const refusalLevel = 0.99;

/**
 * The active-bound rule on the unconstrained optimum. A negative coefficient whose 99% interval reaches 0 is held at
 * 0 (with a warning); one whose whole 99% interval is below 0 is refused with SHOCK_FIT_NON_PHYSICAL.
 */
export function classifyNegatives(unc: UnconstrainedEstimate, nTop: number): BoundDecision {
  const bound: ('alpha' | 'beta')[] = [];
  const undetermined: ('alpha' | 'beta')[] = [];
  const effects = { alpha: Math.abs(unc.alpha) * (nTop - 1), beta: Math.abs(unc.beta) * nTop * (nTop - 1) };
  for (const name of ['alpha', 'beta'] as const) {
    const value = unc[name];
    if (value >= 0 || effects[name] < negligibleEffect) continue;
    const index = name === 'alpha' ? 1 : 2;
    const variance = unc.covariance?.[index][index];
    if (unc.dof <= 0 || variance === undefined || !(variance >= 0)) {
      undetermined.push(name);
      continue;
    }
    const se = Math.sqrt(variance);
    const q = studentTQuantile(1 - (1 - refusalLevel) / 2, unc.dof);
    const upper = value + q * se;
    if (upper < 0) throw nonPhysical(name, value, { lower: value - q * se, upper, level: refusalLevel });
    bound.push(name);
  }
  return { bound, undetermined };
}

function nonPhysical(name: 'alpha' | 'beta', value: number, interval?: Interval) {
  const why =
    name === 'alpha'
      ? 'throughput per node rises with N (super-linear scaling)'
      : 'the curve bends upward at large N instead of flattening or turning down';
  const where = interval
    ? `; its ${Math.round(interval.level * 100)}% interval [${fmt(interval.lower)}, ${fmt(interval.upper)}] is entirely below 0`
    : '';
  return shockError(
    'SHOCK_FIT_NON_PHYSICAL',
    `the data needs a negative ${coefficientNames[name]} = ${fmt(value)}${where}: ${why}. ` +
      'That is not an architecture: it is a measurement artefact.',
    {
      coefficient: name,
      estimate: value,
      interval: interval ? [interval.lower, interval.upper] : undefined,
      hint:
        'look for cold caches or warm-up in the early points, load imbalance, a generator that did not saturate the ' +
        'system (coordinated omission), or a unit error; re-measure those N',
    },
  );
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(3) : Number(v.toPrecision(4)).toString();
}

function maxDeviation(prepared: PreparedData, est: CoreEstimate): number {
  let worst = 0;
  for (const g of prepared.groups) {
    const p = uslThroughput(est, g.n);
    worst = Math.max(worst, Math.abs(g.mean - p) / p);
  }
  return worst;
}

/** Fits the USL to measurement rows (several rows per N are windows). See `FitOptions`. */
export function fitUsl(measurements: readonly Measurement[], options: FitOptions = {}): UslFit {
  const method = options.method ?? 'nls';
  const level = options.level ?? 0.9;
  const tau = options.tau ?? defaultTau;
  if (method === 'quantile' && !(tau > 0 && tau < 1)) {
    throw shockError('SHOCK_PHYSICS_DOMAIN', `tau must be in (0, 1), got ${tau}`);
  }
  const prepared = prepareMeasurements(measurements, { weights: options.weights });
  const input: WeightedRows = { rows: prepared.rows, weights: prepared.weights };
  const nTop = Math.max(...prepared.rows.map((r) => r.n));
  const betaFixed = prepared.distinctN < 3;
  const coreOptions: CoreOptions = { betaFixed, tau };
  const warnings: FitWarning[] = [];

  // The sign question is one of the data, decided on least squares (the closed form's own regression for it).
  const closed = fitClosedFormCore(input, { betaFixed });
  const unconstrained = method === 'closed' ? closed.unconstrained : fitNlsCore(input, { betaFixed }).unconstrained;
  const decision = unconstrained ? classifyNegatives(unconstrained, nTop) : { bound: [], undetermined: [] };

  const est = fitCore(method, input, coreOptions);
  // A bound that leaves a point more than 15% off the model is not noise: the data needs the negative coefficient.
  // (This also decides when there are no degrees of freedom for an interval.)
  const negatives = [...decision.bound, ...decision.undetermined];
  if (negatives.length > 0 && maxDeviation(prepared, est) > offModelFraction) {
    const name = negatives[0];
    throw nonPhysical(name, unconstrained![name]);
  }

  if (betaFixed) {
    warnings.push(
      fitWarning(
        fitWarningCodes.betaNotIdentified,
        'only two distinct N: β (coherency) cannot be identified and is held at 0, so the fit is Amdahl’s law',
        'measure at three or more N, and at least five for an interval',
      ),
    );
  }
  if (method === 'closed' && closed.gammaExtrapolated) {
    const nMin = Math.min(...prepared.rows.map((r) => r.n));
    warnings.push(
      fitWarning(
        fitWarningCodes.noSingleNode,
        `no measurement at N = 1: γ is taken as X/N at N = ${nMin}, which assumes linear scaling there`,
        'measure the single-node baseline, or use --method nls, which fits γ',
        { nMin },
      ),
    );
  }
  for (const name of ['alpha', 'beta'] as const) {
    if (!est.atBound[name] || (name === 'beta' && betaFixed)) continue;
    const negative = [...decision.bound, ...decision.undetermined].includes(name);
    warnings.push(
      fitWarning(
        fitWarningCodes.boundActive,
        negative
          ? `${coefficientNames[name]} is held at its bound 0: the unconstrained optimum ${fmt(unconstrained![name])} is ` +
              'negative but within its interval of zero (noise, not physics)'
          : `${coefficientNames[name]} sits on its bound 0 for this method`,
        name === 'beta'
          ? 'the data shows no coherency cost: N_max is unbounded in this range; measure at larger N to find the turn'
          : 'the data shows no contention in this range; check that the early points were not limited by the load generator',
        negative ? { coefficient: name, unconstrained: unconstrained![name] } : { coefficient: name },
      ),
    );
  }

  const params = { gamma: est.gamma, alpha: est.alpha, beta: est.beta };
  const nMax = uslNMax(est.alpha, est.beta);
  const rows = prepared.rows.map((r, i) => {
    const predicted = uslThroughput(params, r.n);
    return { n: r.n, x: r.x, weight: prepared.weights[i], predicted, residual: r.x - predicted };
  });
  const groups = prepared.groups.map((g) => {
    const predicted = uslThroughput(params, g.n);
    const center = method === 'quantile' && g.xs.length > 1 ? quantileCenter(g.xs, tau) : g.mean;
    return { n: g.n, x: center, count: g.xs.length, sd: g.sd, predicted, deviation: (center - predicted) / predicted };
  });
  for (const g of groups) {
    if (Math.abs(g.deviation) <= offModelFraction) continue;
    const pct = Math.round(g.deviation * 1000) / 10;
    warnings.push(
      fitWarning(
        fitWarningCodes.pointOffModel,
        `the point at N = ${g.n} is ${pct > 0 ? '+' : ''}${pct}% off the model (measured ${fmt(g.x)}, model ${fmt(g.predicted)})`,
        g.deviation < 0
          ? 'below the model: look for load imbalance, a stall or coordinated omission in that run, and re-measure it'
          : 'above the model: look for super-linear effects (cold caches in the early points) or a run that did not saturate the baseline',
        { n: g.n, measured: g.x, predicted: g.predicted, deviation: g.deviation },
      ),
    );
  }

  if (!(Number.isFinite(nMax) && nTop > nMax)) {
    const target = Number.isFinite(nMax) ? Math.ceil(2 * nMax) : Math.ceil(2 * nTop);
    warnings.push(
      fitWarning(
        fitWarningCodes.retrogradeUnconfirmed,
        Number.isFinite(nMax)
          ? `retrograde not confirmed: no measurement beyond the fitted N_max ≈ ${fmt(nMax)} (largest N is ${nTop}); β is an extrapolation`
          : `retrograde not observed: β = 0, so N_max is unbounded within the data (largest N is ${nTop})`,
        `measure at about 2×N_max (N ≈ ${target}) to confirm the turn`,
        { nMax: Number.isFinite(nMax) ? nMax : null, nTop, suggestedN: target },
      ),
    );
  }
  if (Number.isFinite(nMax) && nMax > 2 && uslEfficiency(params, nMax / 2) < 0.6) {
    warnings.push(
      fitWarning(
        fitWarningCodes.contentionDominant,
        `efficiency is already ${fmt(uslEfficiency(params, nMax / 2))} at N_max/2: the serial path (α) binds before coherency`,
        'find the serialisation point (a lock, a leader, a single writer) before adding nodes',
      ),
    );
  }

  let intervals: FitIntervals | undefined;
  let bootstrap: BootstrapResult | undefined;
  let ceiling: AutoscalerCeiling | undefined;
  if (prepared.distinctN < intervalDistinctNMin) {
    warnings.push(
      fitWarning(
        fitWarningCodes.noInterval,
        `only ${prepared.distinctN} distinct N: fewer than ${intervalDistinctNMin} give a point estimate without a confidence interval (and no autoscaler ceiling)`,
        `measure at ${intervalDistinctNMin} or more distinct N, at least one beyond N_max`,
        { distinctN: prepared.distinctN },
      ),
    );
  } else {
    intervals = coefficientIntervals(est, level);
    const resamples = options.bootstrap ?? defaultBootstrapResamples;
    if (resamples > 0) {
      const resampleOptions: CoreOptions = { ...coreOptions, start: { alpha: est.alpha, beta: est.beta } };
      bootstrap = bootstrapUsl(input, (sample) => fitCore(method, sample, resampleOptions), {
        resamples,
        seed: options.seed ?? defaultBootstrapSeed,
        level,
        bandN: options.bandN ?? curveGrid(nTop, nMax),
      });
      if (!bootstrap || bootstrap.succeeded < 0.9 * resamples) {
        warnings.push(
          fitWarning(
            fitWarningCodes.bootstrapDegenerate,
            `only ${bootstrap?.succeeded ?? 0} of ${resamples} bootstrap resamples could be fitted`,
            'measure more points (more distinct N, or more windows per N) so that resamples keep enough distinct N',
            { succeeded: bootstrap?.succeeded ?? 0, resamples },
          ),
        );
      }
    }
    const nMaxInterval = bootstrap?.nMax ?? intervals.nMaxDelta;
    if (nMaxInterval) {
      const source = bootstrap ? 'bootstrap' : 'delta';
      ceiling = { nodes: autoscalerCeiling(nMaxInterval.lower), nMaxLower: nMaxInterval.lower, source };
      const width = nMaxInterval.upper - nMaxInterval.lower;
      if (Number.isFinite(nMax) && !(width <= 0.5 * nMax)) {
        warnings.push(
          fitWarning(
            fitWarningCodes.wideInterval,
            `the ${Math.round(level * 100)}% interval of N_max [${fmt(nMaxInterval.lower)}, ${fmt(nMaxInterval.upper)}] is wider than half of N_max: the measurement is noise-dominated`,
            'collect more windows per N under quiet (steal-gated) conditions, and a point beyond N_max',
            { lower: nMaxInterval.lower, upper: nMaxInterval.upper, source },
          ),
        );
      }
      if (ceiling.nodes === null && Number.isFinite(nMaxInterval.lower)) {
        warnings.push(
          fitWarning(
            fitWarningCodes.ceilingNone,
            `the lower bound of N_max (${fmt(nMaxInterval.lower)}) leaves no autoscaler ceiling: floor(lower) − 2 < 1`,
            'the system should not be scaled out at all until α or β is reduced',
          ),
        );
      }
    }
  }

  return {
    method,
    ...(method === 'quantile' ? { tau } : {}),
    gamma: est.gamma,
    alpha: est.alpha,
    beta: est.beta,
    nMax,
    xMax: uslXMax(params),
    amdahl: amdahlAsymptote(params),
    atBound: est.atBound,
    unconstrained: est.atBound.alpha || est.atBound.beta ? unconstrained : undefined,
    rows,
    residuals: rows.map((r) => r.residual),
    groups,
    distinctN: prepared.distinctN,
    weighted: prepared.weighted,
    loss: est.loss,
    dof: est.dof,
    covariance: est.covariance,
    intervals,
    bootstrap,
    ceiling,
    roi: nodeRoiTable(
      params,
      defaultRoiNodes(
        params,
        prepared.groups.map((g) => g.n),
      ),
    ),
    warnings,
  };
}

function quantileCenter(xs: readonly number[], tau: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const h = (sorted.length - 1) * tau;
  const lo = Math.floor(h);
  return sorted[lo] + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? sorted[lo]) - sorted[lo]);
}

function coefficientIntervals(est: CoreEstimate, level: number): FitIntervals {
  const cov = est.covariance;
  if (!cov) return { level };
  const dof = est.dof > 0 ? est.dof : undefined;
  const wald = (index: number, value: number, lowerBound?: number): Interval | undefined => {
    const variance = cov[index][index];
    if (!(variance > 0)) return undefined;
    const i = waldInterval(value, Math.sqrt(variance), level, dof);
    return lowerBound === undefined ? i : { ...i, lower: Math.max(lowerBound, i.lower) };
  };
  return {
    level,
    gamma: wald(0, est.gamma),
    alpha: wald(1, est.alpha, 0),
    beta: wald(2, est.beta, 0),
    nMaxDelta: nMaxDeltaInterval(
      est.alpha,
      est.beta,
      [
        [cov[1][1], cov[1][2]],
        [cov[2][1], cov[2][2]],
      ],
      level,
      dof,
    ),
  };
}
