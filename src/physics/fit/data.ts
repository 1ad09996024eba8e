/**
 * Measurement rows for a fit: validation (bad input is a ShockError naming every bad row at once), grouping of
 * repeated windows per N, and the weights 1/σ² of weighted least squares (seed 004, "Non-linear least squares
 * fitting": σ is the standard deviation of X across the windows at that N).
 */
import { shockError } from '../../base/index.js';
import { mean, sampleSd } from '../stats.js';

/** One measured window: N (nodes, workers, concurrency) and the throughput X it sustained. */
export interface Measurement {
  readonly n: number;
  readonly x: number;
}

/** The windows measured at one N. */
export interface MeasurementGroup {
  readonly n: number;
  readonly xs: readonly number[];
  readonly mean: number;
  /** Sample standard deviation of the windows (0 with one window). */
  readonly sd: number;
}

/** Rows with their least-squares weights, ready for a fit. */
export interface PreparedData {
  readonly rows: readonly Measurement[];
  /** Weight of each row (mean 1); all 1 when no N has repeated windows. */
  readonly weights: readonly number[];
  readonly groups: readonly MeasurementGroup[];
  readonly distinctN: number;
  /** True when weights come from repeated windows (1/σ² per N). */
  readonly weighted: boolean;
}

const problemsShownMax = 10;

/**
 * Validates measurement rows: finite numbers, N ≥ 1, X > 0, at least two distinct N, throughput that varies.
 * Throws SHOCK_FIT_INPUT_INVALID (listing every bad row), SHOCK_FIT_TOO_FEW_POINTS or SHOCK_FIT_FLAT_THROUGHPUT.
 * `label(i)` names row i in messages (a file line, say); default "row i+1".
 */
export function validateMeasurements(rows: readonly Measurement[], label = (i: number) => `row ${i + 1}`): void {
  if (rows.length === 0) {
    throw shockError('SHOCK_FIT_TOO_FEW_POINTS', 'no measurements: need at least two distinct N', {
      hint: 'give rows of N,X (nodes or concurrency, throughput) measured at two or more N',
    });
  }
  const problems: string[] = [];
  rows.forEach((row, i) => {
    if (typeof row.n !== 'number' || Number.isNaN(row.n)) problems.push(`${label(i)}: N is not a number`);
    else if (!Number.isFinite(row.n)) problems.push(`${label(i)}: N must be a finite number, got ${row.n}`);
    else if (row.n < 1) problems.push(`${label(i)}: N must be >= 1, got ${row.n}`);
    if (typeof row.x !== 'number' || Number.isNaN(row.x)) problems.push(`${label(i)}: X is not a number`);
    else if (!Number.isFinite(row.x)) problems.push(`${label(i)}: X must be a finite number, got ${row.x}`);
    else if (row.x <= 0) problems.push(`${label(i)}: throughput X must be > 0, got ${row.x}`);
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, problemsShownMax);
    if (problems.length > shown.length) shown.push(`... and ${problems.length - shown.length} more`);
    throw shockError(
      'SHOCK_FIT_INPUT_INVALID',
      `the measurements have ${problems.length} bad value(s):\n    ${shown.join('\n    ')}`,
      {
        hint: 'every row needs a finite N >= 1 and a finite throughput X > 0',
      },
    );
  }
  const distinct = new Set(rows.map((r) => r.n));
  if (distinct.size < 2) {
    throw shockError(
      'SHOCK_FIT_TOO_FEW_POINTS',
      `need at least two distinct N, got ${distinct.size} (N = ${[...distinct].join(', ')})`,
      {
        hint: 'measure at more node counts: five or more distinct N give a confidence interval',
      },
    );
  }
  const xs = rows.map((r) => r.x);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  if (xMax - xMin <= 1e-12 * xMax) {
    throw shockError(
      'SHOCK_FIT_FLAT_THROUGHPUT',
      `throughput is ${xMin} at every N: there is no scaling curve to fit`,
      {
        hint: 'check that the load generator saturated the system at each N and that X is the measured throughput',
      },
    );
  }
}

/** Groups rows by N (ascending). */
export function groupByN(rows: readonly Measurement[]): MeasurementGroup[] {
  const byN = new Map<number, number[]>();
  for (const r of rows) {
    const list = byN.get(r.n);
    if (list) list.push(r.x);
    else byN.set(r.n, [r.x]);
  }
  return [...byN.entries()].sort((a, b) => a[0] - b[0]).map(([n, xs]) => ({ n, xs, mean: mean(xs), sd: sampleSd(xs) }));
}

/** Pseudo degrees of freedom of the pooled variance model in the shrinkage of each N's variance (see below). */
const shrinkagePriorDof = 4;

/**
 * Weights 1/σ²_N for every row, where σ_N is the standard deviation of the windows at N. A handful of windows gives
 * a noisy σ (with 3 windows the estimate has 2 degrees of freedom), and noisy weights make a worse fit than none, so
 * each N's variance is shrunk towards a pooled model in which σ is proportional to the mean (a common coefficient of
 * variation): σ²_N = ((k − 1)·s²_N + ν·(CV·mean_N)²) / (k − 1 + ν) with ν = 4. An N with a single window takes the
 * pooled value. Without repeated windows every weight is 1 (ordinary least squares, as R `usl` does). Weights are
 * scaled to mean 1, which changes neither the estimate nor the (residual-variance scaled) covariance.
 */
export function windowWeights(
  rows: readonly Measurement[],
  groups: readonly MeasurementGroup[],
): { weights: number[]; weighted: boolean } {
  let cvNumerator = 0;
  let cvDof = 0;
  for (const g of groups) {
    if (g.xs.length >= 2) {
      cvNumerator += (g.xs.length - 1) * (g.sd / g.mean) ** 2;
      cvDof += g.xs.length - 1;
    }
  }
  if (cvDof === 0 || cvNumerator === 0) return { weights: rows.map(() => 1), weighted: false };
  const cvPooled = Math.sqrt(cvNumerator / cvDof);
  const varianceByN = new Map<number, number>();
  for (const g of groups) {
    const dof = g.xs.length - 1;
    const prior = (cvPooled * g.mean) ** 2;
    varianceByN.set(g.n, (dof * g.sd ** 2 + shrinkagePriorDof * prior) / (dof + shrinkagePriorDof));
  }
  const raw = rows.map((r) => 1 / varianceByN.get(r.n)!);
  const scale = mean(raw);
  return { weights: raw.map((w) => w / scale), weighted: true };
}

/** Validates, groups and weights measurement rows. */
export function prepareMeasurements(
  rows: readonly Measurement[],
  options: { weights?: 'auto' | 'none' } = {},
): PreparedData {
  validateMeasurements(rows);
  const groups = groupByN(rows);
  const { weights, weighted } =
    options.weights === 'none' ? { weights: rows.map(() => 1), weighted: false } : windowWeights(rows, groups);
  return { rows, weights, groups, distinctN: groups.length, weighted };
}
