/**
 * The readable summary of a USL fit that `shock fit` prints: coefficients both ways (α/σ, β/κ, γ/λ) with intervals,
 * N_max and the autoscaler ceiling, the node-ROI table, measured-vs-model, and every warning with what to do.
 */
import { roiDecisionLabels, type UslFit } from '../../physics/index.js';
import { formatInterval, formatNumber, formatPercent, textTable } from './format.js';

const methodNames = {
  closed: 'closed form (linear least squares on N/C(N) − 1)',
  nls: 'non-linear least squares (Levenberg–Marquardt)',
  quantile: 'quantile regression',
} as const;

export interface FitTextOptions {
  /** The input's name (a file path). */
  readonly source?: string;
  /** Where the HTML report was written, if it was. */
  readonly reportPath?: string;
}

export function formatFitText(fit: UslFit, options: FitTextOptions = {}): string {
  const out: string[] = [];
  const method = fit.method === 'quantile' ? `${methodNames.quantile} at τ = ${fit.tau}` : methodNames[fit.method];
  const weighting = fit.weighted ? ', weighted 1/σ² by the windows per N' : '';
  out.push(`USL fit${options.source ? ` of ${options.source}` : ''}: ${method}${weighting}`);
  out.push(
    `  ${fit.rows.length} measurements at ${fit.distinctN} distinct N (${fit.groups.map((g) => g.n).join(', ')})`,
  );
  out.push('');

  const level = fit.intervals?.level ?? fit.bootstrap?.level ?? 0.9;
  const pct = `${Math.round(level * 100)}%`;
  const boot = fit.bootstrap;
  const coefRows = [
    ['γ (λ)', 'single-node throughput', fit.gamma, fit.intervals?.gamma, boot?.gamma, false],
    ['α (σ)', 'contention', fit.alpha, fit.intervals?.alpha, boot?.alpha, fit.atBound.alpha],
    ['β (κ)', 'coherency', fit.beta, fit.intervals?.beta, boot?.beta, fit.atBound.beta],
  ] as const;
  const header = ['coefficient', '', 'estimate', `${pct} (covariance)`];
  if (boot) header.push(`${pct} (bootstrap)`);
  const table = textTable(
    header,
    coefRows.map(([sym, name, value, wald, bs, atBound]) => {
      const row = [sym, name, formatNumber(value, 5) + (atBound ? ' (bound)' : ''), formatInterval(wald)];
      if (boot) row.push(formatInterval(bs));
      return row;
    }),
    [false, false, true, false, false],
  );
  out.push(...table.map((l) => '  ' + l));
  out.push('');

  if (Number.isFinite(fit.nMax)) {
    out.push(
      `  N_max = sqrt((1 − α)/β) = ${formatNumber(fit.nMax)} nodes; peak throughput X_max = ${formatNumber(fit.xMax)}`,
    );
  } else {
    out.push(
      `  N_max unbounded (β = 0): throughput never declines; it saturates at the Amdahl asymptote γ/α = ${formatNumber(fit.amdahl)}`,
    );
  }
  if (fit.intervals?.nMaxDelta)
    out.push(`  N_max ${pct} interval (delta method): ${formatInterval(fit.intervals.nMaxDelta)}`);
  if (boot)
    out.push(
      `  N_max ${pct} interval (bootstrap, ${boot.succeeded} of ${boot.resamples} resamples, seed ${boot.seed}): ${formatInterval(boot.nMax)}`,
    );
  if (fit.ceiling) {
    out.push(
      fit.ceiling.nodes === null
        ? `  autoscaler ceiling: none (lower bound of N_max ${formatNumber(fit.ceiling.nMaxLower)} from the ${fit.ceiling.source})`
        : `  autoscaler ceiling: ${fit.ceiling.nodes} nodes = floor(${formatNumber(fit.ceiling.nMaxLower)}) − 2 (lower bound of N_max, ${fit.ceiling.source})`,
    );
  } else {
    out.push('  autoscaler ceiling: none without an N_max interval (needs five or more distinct N)');
  }
  out.push('');

  out.push('  node ROI');
  const roi = textTable(
    ['N', 'throughput', 'efficiency', 'marginal', 'decision'],
    fit.roi.map((r) => [
      String(r.n),
      formatNumber(r.throughput, 5),
      r.efficiency.toFixed(2),
      (r.marginal >= 0 ? '+' : '−') + Math.abs(r.marginal).toFixed(2),
      roiDecisionLabels[r.decision],
    ]),
    [true, true, true, true, false],
  );
  out.push(...roi.map((l) => '    ' + l));
  out.push('');

  out.push('  measured vs model');
  const mvm = textTable(
    ['N', 'windows', 'measured', 'model', 'deviation'],
    fit.groups.map((g) => [
      String(g.n),
      String(g.count),
      formatNumber(g.x, 5),
      formatNumber(g.predicted, 5),
      formatPercent(g.deviation),
    ]),
    [true, true, true, true, true],
  );
  out.push(...mvm.map((l) => '    ' + l));
  out.push('');

  if (fit.warnings.length === 0) out.push('  no warnings');
  else {
    out.push(`  warnings (${fit.warnings.length})`);
    for (const w of fit.warnings) {
      out.push(`  ! ${w.code}: ${w.message}`);
      out.push(`      what to do: ${w.hint}`);
    }
  }
  if (options.reportPath) {
    out.push('');
    out.push(`  report: ${options.reportPath}`);
  }
  return out.join('\n');
}
