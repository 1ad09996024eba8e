/**
 * The self-contained HTML report of a USL fit: the coefficients both ways with intervals, a throughput plot
 * (measured windows, fitted curve, 90% bootstrap band, linear ideal, N_max and autoscaler-ceiling markers), an
 * efficiency plot, the node-ROI table, measured vs model, and every warning with what to do. One file, inline CSS
 * and SVG, no script and nothing fetched.
 */
import { roiDecisionLabels, uslThroughput, curveGrid, type UslFit } from '../../physics/index.js';
import { escapeXml, renderChart, type Series, type VerticalMarker } from './svg.js';
import { formatInterval, formatNumber, formatPercent } from './format.js';

export interface FitReportOptions {
  readonly title?: string;
  /** The input's name (a file path). */
  readonly source?: string;
  /** What made the report ("shockabsorber 0.1.0"), shown under the title. */
  readonly generator?: string;
}

const methodNames = {
  closed: 'closed form',
  nls: 'non-linear least squares (Levenberg–Marquardt)',
  quantile: 'quantile regression',
} as const;

const css = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#222;margin:24px auto;max-width:980px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #eee;padding-bottom:4px}
.sub{color:#666;margin:0 0 16px}.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:150px}.card .k{color:#666;font-size:12px}.card .v{font-size:20px;font-weight:600}
.card .i{color:#555;font-size:12px}table{border-collapse:collapse;margin:6px 0}th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}
th{background:#fafafa;font-weight:600}td.l,th.l{text-align:left}.warn{border-left:4px solid #e6a700;background:#fffbea;padding:8px 12px;margin:8px 0}
.warn code{font-weight:600}.ok{color:#2a7a2a}.past-nmax{color:#b00020}.at-nmax{color:#b05a00}.approaching-nmax{color:#8a6d00}
figure{margin:8px 0}figcaption{color:#666;font-size:12px}code{font-family:ui-monospace,Menlo,Consolas,monospace}
.formula{color:#444;font-size:13px}`;

/** Renders the report. */
export function renderFitReport(fit: UslFit, options: FitReportOptions = {}): string {
  const title = options.title ?? `USL fit${options.source ? `: ${options.source}` : ''}`;
  const level = fit.intervals?.level ?? fit.bootstrap?.level ?? 0.9;
  const pct = `${Math.round(level * 100)}%`;
  const method = fit.method === 'quantile' ? `${methodNames.quantile} at τ = ${fit.tau}` : methodNames[fit.method];
  const parts: string[] = [];
  parts.push('<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">');
  parts.push(`<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeXml(title)}</title>`);
  parts.push(`<style>${css}</style></head><body>`);
  parts.push(`<h1>${escapeXml(title)}</h1>`);
  parts.push(
    `<p class="sub">${escapeXml(method)}${fit.weighted ? ', weights 1/σ² from the windows per N' : ''} · ${fit.rows.length} measurements at ${fit.distinctN} distinct N${options.generator ? ` · ${escapeXml(options.generator)}` : ''}</p>`,
  );
  parts.push(cards(fit, pct));
  parts.push(
    '<h2>Throughput</h2>',
    `<figure>${throughputChart(fit, pct)}<figcaption>${throughputCaption(fit, pct)}</figcaption></figure>`,
  );
  parts.push(
    '<h2>Efficiency</h2>',
    `<figure>${efficiencyChart(fit)}<figcaption>Efficiency X(N)/(Nγ): 1 is linear scaling. The N-th node is worth its cost while the curve stays high; past N_max each node lowers throughput.</figcaption></figure>`,
  );
  parts.push('<h2>Warnings</h2>', warningsHtml(fit));
  parts.push('<h2>Node ROI</h2>', roiTable(fit));
  parts.push('<h2>Coefficients</h2>', coefficientTable(fit, pct));
  parts.push('<h2>Measured vs model</h2>', measuredTable(fit));
  parts.push(
    '<p class="formula">Model: X(N) = γN / (1 + α(N − 1) + βN(N − 1)) (Gunther’s Universal Scalability Law); N_max = √((1 − α)/β); ' +
      'autoscaler ceiling = floor(lower bound of N_max) − 2. α = σ (contention), β = κ (coherency), γ = λ (single-node throughput), as in R <code>usl</code>.</p>',
  );
  parts.push('</body></html>');
  return parts.join('\n');
}

function card(key: string, value: string, interval?: string): string {
  return `<div class="card"><div class="k">${escapeXml(key)}</div><div class="v">${escapeXml(value)}</div>${interval ? `<div class="i">${escapeXml(interval)}</div>` : ''}</div>`;
}

function cards(fit: UslFit, pct: string): string {
  const b = fit.bootstrap;
  const nMaxInterval = b?.nMax ?? fit.intervals?.nMaxDelta;
  const items = [
    card('γ (λ) single node', formatNumber(fit.gamma), b ? `${pct} ${formatInterval(b.gamma)}` : undefined),
    card(
      'α (σ) contention',
      formatNumber(fit.alpha) + (fit.atBound.alpha ? ' (bound)' : ''),
      b ? `${pct} ${formatInterval(b.alpha)}` : undefined,
    ),
    card(
      'β (κ) coherency',
      formatNumber(fit.beta) + (fit.atBound.beta ? ' (bound)' : ''),
      b ? `${pct} ${formatInterval(b.beta)}` : undefined,
    ),
    card(
      'N_max',
      Number.isFinite(fit.nMax) ? formatNumber(fit.nMax) : 'unbounded',
      nMaxInterval ? `${pct} ${formatInterval(nMaxInterval)}` : 'no interval',
    ),
    card(Number.isFinite(fit.nMax) ? 'X_max (peak)' : 'γ/α (Amdahl asymptote)', formatNumber(fit.xMax)),
    card(
      'autoscaler ceiling',
      fit.ceiling?.nodes != null ? `${fit.ceiling.nodes} nodes` : 'none',
      fit.ceiling ? `floor(${formatNumber(fit.ceiling.nMaxLower)}) − 2` : 'needs an N_max interval',
    ),
  ];
  return `<div class="cards">${items.join('')}</div>`;
}

function markers(fit: UslFit): VerticalMarker[] {
  const out: VerticalMarker[] = [];
  if (Number.isFinite(fit.nMax))
    out.push({ x: fit.nMax, label: `N_max ≈ ${formatNumber(fit.nMax, 3)}`, color: '#b00020' });
  if (fit.ceiling?.nodes != null)
    out.push({ x: fit.ceiling.nodes, label: `ceiling ${fit.ceiling.nodes}`, color: '#555' });
  return out;
}

function throughputChart(fit: UslFit, pct: string): string {
  const nTop = Math.max(...fit.rows.map((r) => r.n));
  const grid = fit.bootstrap?.band?.n ?? curveGrid(nTop, fit.nMax);
  const curve = smoothGrid(grid[grid.length - 1]).map((n) => ({ x: n, y: uslThroughput(fit, n) }));
  const series: Series[] = [];
  const band = fit.bootstrap?.band;
  if (band)
    series.push({
      kind: 'band',
      name: `${pct} band (bootstrap)`,
      x: band.n,
      lower: band.lower,
      upper: band.upper,
      color: '#1f77b4',
    });
  const yTop = Math.max(...fit.rows.map((r) => r.x), ...curve.map((p) => p.y), ...(band ? band.upper : [])) * 1.08;
  const xTop = grid[grid.length - 1];
  const nIdeal = Math.min(xTop, yTop / fit.gamma);
  series.push({
    kind: 'line',
    name: 'linear ideal γN',
    points: [
      { x: 1, y: fit.gamma },
      { x: nIdeal, y: fit.gamma * nIdeal },
    ],
    color: '#999',
    dashed: true,
    width: 1.5,
  });
  series.push({ kind: 'line', name: 'USL fit', points: curve, color: '#1f77b4' });
  series.push({
    kind: 'points',
    name: fit.rows.length > fit.distinctN ? 'measured windows' : 'measured',
    color: '#d62728',
    points: fit.rows.map((r, i) => ({
      x: r.n,
      y: r.x,
      attrs: { 'data-n': r.n, 'data-row': i },
      title: `N = ${r.n}: ${formatNumber(r.x)} (model ${formatNumber(r.predicted)})`,
    })),
  });
  return renderChart({
    id: 'throughput-chart',
    width: 900,
    height: 460,
    x: { label: 'N (nodes / concurrency)', min: 0, max: xTop },
    y: { label: 'throughput X(N)', includeZero: true, max: undefined },
    series,
    markers: markers(fit),
    legendPosition: 'bottom-right',
  });
}

/** 241 points from N = 1 to `top`: the fitted curve drawn smooth (the band keeps the whole-number grid). */
function smoothGrid(top: number): number[] {
  return Array.from({ length: 241 }, (_, i) => 1 + ((top - 1) * i) / 240);
}

function throughputCaption(fit: UslFit, pct: string): string {
  const bits = ['Red points: measurements; blue line: the fitted USL; dashed grey: linear scaling from γ.'];
  if (fit.bootstrap?.band)
    bits.push(
      `Shaded: the ${pct} bootstrap band of the curve (${fit.bootstrap.succeeded} resamples, seed ${fit.bootstrap.seed}) — what the data supports.`,
    );
  else bits.push('No band: intervals need five or more distinct N and the bootstrap.');
  if (Number.isFinite(fit.nMax)) bits.push(`Red dashed: N_max ≈ ${formatNumber(fit.nMax, 3)}.`);
  return escapeXml(bits.join(' '));
}

function efficiencyChart(fit: UslFit): string {
  const nTop = Math.max(...fit.rows.map((r) => r.n));
  const grid = fit.bootstrap?.band?.n ?? curveGrid(nTop, fit.nMax);
  const series: Series[] = [];
  const band = fit.bootstrap?.band;
  if (band) {
    series.push({
      kind: 'band',
      name: 'band',
      x: band.n,
      lower: band.lower.map((v, k) => v / (band.n[k] * fit.gamma)),
      upper: band.upper.map((v, k) => v / (band.n[k] * fit.gamma)),
      color: '#1f77b4',
      hideInLegend: true,
    });
  }
  series.push({
    kind: 'line',
    name: 'linear (1.0)',
    points: [
      { x: 1, y: 1 },
      { x: grid[grid.length - 1], y: 1 },
    ],
    color: '#999',
    dashed: true,
    width: 1.5,
  });
  series.push({
    kind: 'line',
    name: 'model X(N)/(Nγ)',
    points: smoothGrid(grid[grid.length - 1]).map((n) => ({ x: n, y: uslThroughput(fit, n) / (n * fit.gamma) })),
    color: '#1f77b4',
  });
  series.push({
    kind: 'points',
    name: 'measured X/(Nγ)',
    color: '#d62728',
    points: fit.rows.map((r, i) => ({ x: r.n, y: r.x / (r.n * fit.gamma), attrs: { 'data-n': r.n, 'data-row': i } })),
  });
  return renderChart({
    id: 'efficiency-chart',
    width: 900,
    height: 360,
    x: { label: 'N (nodes / concurrency)', min: 0, max: grid[grid.length - 1] },
    y: { label: 'efficiency', min: 0, max: Math.max(1.1, ...fit.rows.map((r) => (r.x / (r.n * fit.gamma)) * 1.05)) },
    series,
    markers: markers(fit),
  });
}

function warningsHtml(fit: UslFit): string {
  if (fit.warnings.length === 0)
    return '<p class="ok">No warnings: five or more distinct N, a point beyond N_max, every point within 15% of the model.</p>';
  return fit.warnings
    .map(
      (w) =>
        `<div class="warn" data-code="${escapeXml(w.code)}"><code>${escapeXml(w.code)}</code> ${escapeXml(w.message)}<br><b>What to do:</b> ${escapeXml(w.hint)}</div>`,
    )
    .join('\n');
}

function roiTable(fit: UslFit): string {
  const rows = fit.roi
    .map(
      (r) =>
        `<tr class="${r.decision}" data-n="${r.n}"><td>${r.n}</td><td>${formatNumber(r.throughput, 5)}</td><td>${r.efficiency.toFixed(2)}</td>` +
        `<td>${r.marginal >= 0 ? '+' : '−'}${Math.abs(r.marginal).toFixed(2)}</td><td class="l">${escapeXml(roiDecisionLabels[r.decision])}</td></tr>`,
    )
    .join('\n');
  return (
    '<table id="roi-table"><thead><tr><th>N</th><th>throughput</th><th>efficiency</th><th>marginal node</th><th class="l">decision</th></tr></thead>' +
    `<tbody>${rows}</tbody></table><p class="formula">Marginal node: (X(N) − X(N − 1))/γ, what the N-th node adds in single nodes.</p>`
  );
}

function coefficientTable(fit: UslFit, pct: string): string {
  const b = fit.bootstrap;
  const i = fit.intervals;
  const row = (
    sym: string,
    name: string,
    v: number,
    wald?: { lower: number; upper: number },
    boot?: { lower: number; upper: number },
    bound?: boolean,
  ) =>
    `<tr><td class="l">${sym}</td><td class="l">${name}</td><td>${formatNumber(v, 5)}${bound ? ' (bound)' : ''}</td><td>${formatInterval(wald)}</td><td>${formatInterval(boot)}</td></tr>`;
  const unc = fit.unconstrained
    ? `<p>Unconstrained optimum (held at the bound because it is within its interval of zero): γ = ${formatNumber(fit.unconstrained.gamma)}, α = ${formatNumber(fit.unconstrained.alpha)}, β = ${formatNumber(fit.unconstrained.beta)}.</p>`
    : '';
  return (
    `<table><thead><tr><th class="l">coefficient</th><th class="l"></th><th>estimate</th><th>${pct} (covariance)</th><th>${pct} (bootstrap)</th></tr></thead><tbody>` +
    row('γ (λ)', 'single-node throughput', fit.gamma, i?.gamma, b?.gamma) +
    row('α (σ)', 'contention', fit.alpha, i?.alpha, b?.alpha, fit.atBound.alpha) +
    row('β (κ)', 'coherency', fit.beta, i?.beta, b?.beta, fit.atBound.beta) +
    `<tr><td class="l">N_max</td><td class="l">√((1 − α)/β)</td><td>${Number.isFinite(fit.nMax) ? formatNumber(fit.nMax) : '∞'}</td><td>${formatInterval(i?.nMaxDelta)} (delta)</td><td>${formatInterval(b?.nMax)}</td></tr>` +
    `</tbody></table>${unc}`
  );
}

function measuredTable(fit: UslFit): string {
  const rows = fit.groups
    .map(
      (g) =>
        `<tr data-n="${g.n}"><td>${g.n}</td><td>${g.count}</td><td>${formatNumber(g.x, 5)}</td><td>${g.count > 1 ? formatNumber(g.sd, 3) : '—'}</td><td>${formatNumber(g.predicted, 5)}</td><td>${formatPercent(g.deviation)}</td></tr>`,
    )
    .join('\n');
  return `<table><thead><tr><th>N</th><th>windows</th><th>measured</th><th>σ</th><th>model</th><th>deviation</th></tr></thead><tbody>${rows}</tbody></table>`;
}
