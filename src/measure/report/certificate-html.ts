/**
 * The birth certificate as one self-contained HTML page (no scripts, no external assets): the fitted law with its
 * intervals, the measured points with the fitted curve and its 90% band, N_max and the autoscaler ceiling, the
 * CO-free latency percentiles, floors, assumed constraints, machine, drift triggers, warnings and every window.
 * `renderDemoHtml` puts the demonstration's three designs on one chart.
 */
import { uslThroughput } from '../../physics/index.js';
import {
  latencyValidity,
  latencyVerdictText,
  type Certificate,
  type CertificateFit,
  type Estimate,
} from './certificate.js';
import { escapeXml, renderPlot, type PlotMarker, type PlotSeries } from './certificate-plot.js';

/** The band of X(N) from the bootstrap, when the fit had intervals. */
export interface BandInput {
  n: readonly number[];
  lower: readonly number[];
  upper: readonly number[];
}

/** A window row for the table at the end (the lab's WindowRecord satisfies it). */
export interface WindowRow {
  n: number;
  attempt: number;
  concurrency: number;
  durationMs: number;
  completed: number;
  errors: number;
  throughputPerSec: number;
  ratioP99P50: number;
  stealPct: number | null;
  kept: boolean;
  reason: string | null;
}

const style = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f6f6f6}
td.l,th.l{text-align:left}.status-partial{color:#b71c1c;font-weight:600}.status-complete{color:#1b5e20;font-weight:600}
.warn{color:#8a5300}.muted{color:#666}.grid{display:flex;flex-wrap:wrap;gap:12px}svg.plot{border:1px solid #eee}
`;

/** Formats a number for people: 3 significant figures, thousands kept whole. */
export function fmtNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return v === Infinity ? '∞' : '—';
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1000) return v.toFixed(0);
  if (abs >= 1) return v.toPrecision(4).replace(/\.?0+$/, '');
  return v.toPrecision(3);
}

function est(e: Estimate | null): string {
  if (!e) return '—';
  const interval =
    e.low === null || e.high === null
      ? ' <span class="muted">(no interval)</span>'
      : ` <span class="muted">[${fmtNumber(e.low)}, ${fmtNumber(e.high)}]</span>`;
  return `${fmtNumber(e.value)}${interval}`;
}

function row(cells: string[], header = false): string {
  const tag = header ? 'th' : 'td';
  return `<tr>${cells.map((c, i) => `<${tag}${i === 0 ? ' class="l"' : ''}>${c}</${tag}>`).join('')}</tr>`;
}

function curveFor(fit: CertificateFit, nHigh: number): Array<{ x: number; y: number }> {
  const params = { gamma: fit.gamma.value, alpha: fit.alpha.value, beta: fit.beta.value };
  const curve: Array<{ x: number; y: number }> = [];
  for (let i = 0; i <= 80; i++) {
    const n = 1 + ((nHigh - 1) * i) / 80;
    curve.push({ x: n, y: uslThroughput(params, n) });
  }
  return curve;
}

/** `text` cut to `max` characters with an ellipsis (chart titles must fit their width). */
function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The band restricted to N ≤ nHigh, in the plot's shape. */
function clipBand(band: BandInput | null, nHigh: number): PlotSeries['band'] {
  if (!band) return undefined;
  const keep = band.n.map((n, i) => (n <= nHigh ? i : -1)).filter((i) => i >= 0);
  return { x: keep.map((i) => band.n[i]), low: keep.map((i) => band.lower[i]), high: keep.map((i) => band.upper[i]) };
}

/** The throughput chart of one certificate. */
export function throughputPlot(c: Certificate, band: BandInput | null, id = 'throughput'): string {
  const nHigh = Math.max(2, ...c.points.map((p) => p.n), ...(band ? band.n : [])) * 1.1;
  const series: PlotSeries = {
    name: 'measured (median, ±1 sd)',
    color: '#1565c0',
    points: c.points.map((p) => ({
      x: p.n,
      y: p.throughputPerSec,
      yLow: p.throughputPerSec - p.throughputSdPerSec,
      yHigh: p.throughputPerSec + p.throughputSdPerSec,
    })),
  };
  const all: PlotSeries[] = [series];
  const markers: PlotMarker[] = [];
  if (c.fit) {
    all.push({
      name: 'fitted USL (90% band)',
      color: '#c62828',
      curve: curveFor(c.fit, nHigh),
      band: clipBand(band, nHigh),
    });
    if (c.fit.nMax)
      markers.push({ x: c.fit.nMax.value, label: `N_max ≈ ${fmtNumber(c.fit.nMax.value)}`, color: '#6a1b9a' });
    if (c.fit.autoscalerCeiling !== null)
      markers.push({ x: c.fit.autoscalerCeiling, label: `ceiling ${c.fit.autoscalerCeiling}`, color: '#ef6c00' });
  }
  return renderPlot({
    id,
    title: `Throughput X(N): ${shorten(c.subject.name, 60)}`,
    xLabel: `N (${c.subject.nMeaning})`,
    yLabel: 'requests / s',
    series: all,
    markers,
  });
}

function latencyPlot(c: Certificate): string {
  const colors = ['#2e7d32', '#00838f', '#6d4c41'];
  const series: PlotSeries[] = c.latency.map((l, i) => ({
    name: `${(l.loadFraction * 100).toFixed(0)}% load, N = ${l.n}${latencyValidity(l) === 'invalid' ? ' (NOT VALID)' : ''}`,
    color: colors[i % colors.length],
    curve: l.histogram.percentiles
      .filter((p) => p.percentile < 100)
      .map((p) => ({ x: 1 / (1 - p.percentile / 100), y: p.latencyUs / 1000 })),
    points: l.histogram.percentiles
      .filter((p) => p.percentile < 100)
      .map((p) => ({ x: 1 / (1 - p.percentile / 100), y: p.latencyUs / 1000 })),
  }));
  return renderPlot({
    id: 'latency',
    title: 'Latency by percentile (open loop, CO-free)',
    xLabel: '1 / (1 − percentile): 2 = p50, 100 = p99, 1000 = p99.9',
    yLabel: 'latency, ms',
    series,
    xLog: true,
  });
}

function fitTable(c: Certificate): string {
  const f = c.fit;
  if (!f) return '<p class="warn">No fit: too few N with kept windows.</p>';
  return `<table>${row(['coefficient', 'value [90% interval]'], true)}
${row(['γ (throughput at N = 1, req/s)', est(f.gamma)])}
${row(['α (contention)', est(f.alpha)])}
${row(['β (coherency)', est(f.beta)])}
${row(['N_max', f.nMax ? est(f.nMax) : '∞ (β = 0: an Amdahl ceiling)'])}
${row(['X_max (req/s)', fmtNumber(f.xMaxPerSec)])}
${row(['autoscaler ceiling (N_max lower bound − 2)', f.autoscalerCeiling === null ? '—' : String(f.autoscalerCeiling)])}
${row(['15% sanity check', `${f.sanity.passed ? 'passed' : '<span class="warn">failed</span>'}: worst ${(f.sanity.deviationMax * 100).toFixed(1)}% at N = ${f.sanity.worstN}`])}
${row(['retrograde', `${f.retrograde.confirmed ? 'confirmed' : f.retrograde.measured ? 'measured, not confirmed' : 'not measured'}: ${escapeXml(f.retrograde.note)}`])}
${row(['method', escapeXml(f.method)])}
</table>`;
}

function pointsTable(c: Certificate): string {
  const rows = c.points.map((p) =>
    row([
      String(p.n),
      String(p.concurrency),
      fmtNumber(p.throughputPerSec),
      fmtNumber(p.throughputSdPerSec),
      fmtNumber(p.throughputPerSec / (p.n * (c.fit?.gamma.value ?? c.points[0].throughputPerSec))),
      `${p.windowsKept} / ${p.windowsDiscarded}`,
    ]),
  );
  return `<table>${row(['N', 'concurrency', 'X (req/s)', 'sd', 'efficiency X/(Nγ)', 'windows kept / discarded'], true)}${rows.join('')}</table>`;
}

function latencyTable(c: Certificate): string {
  if (c.latency.length === 0) return '<p class="warn">No latency run (the run ended before it, or no fit).</p>';
  const rows = c.latency.map((l) =>
    row([
      `${(l.loadFraction * 100).toFixed(0)}%`,
      String(l.n),
      fmtNumber(l.ratePerSec),
      String(l.requests),
      String(l.errors),
      fmtNumber(l.latencyUsP50 / 1000),
      fmtNumber(l.latencyUsP99 / 1000),
      fmtNumber(l.latencyUsP999 / 1000),
      fmtNumber(l.latencyUsMax / 1000),
      latencyValidity(l) === 'valid'
        ? 'valid'
        : `<span class="warn">${escapeXml(latencyValidity(l) === 'invalid' ? latencyVerdictText(l).replace(/^not valid/, 'NOT VALID') : 'unknown')}</span>`,
    ]),
  );
  const invalid = c.latency.filter((l) => latencyValidity(l) === 'invalid');
  const note =
    invalid.length > 0
      ? `<p class="warn">${invalid.length} latency run(s) not valid: the load generator did not apply the scheduled load, so their percentiles are not the latency at that load.</p>`
      : '';
  return `${note}<table>${row(['load', 'N', 'rate (req/s)', 'requests', 'errors', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'verdict'], true)}${rows.join('')}</table>`;
}

function keyValueTable(entries: Array<[string, string]>): string {
  return `<table>${entries.map(([k, v]) => row([escapeXml(k), escapeXml(v)])).join('')}</table>`;
}

function windowsTable(windows: readonly WindowRow[]): string {
  if (windows.length === 0) return '';
  const rows = windows.map((w) =>
    row([
      String(w.n),
      String(w.attempt),
      String(w.concurrency),
      fmtNumber(w.durationMs),
      String(w.completed),
      String(w.errors),
      fmtNumber(w.throughputPerSec),
      fmtNumber(w.ratioP99P50),
      w.stealPct === null ? '—' : w.stealPct.toFixed(1),
      w.kept ? 'kept' : `<span class="warn">${escapeXml(w.reason ?? 'discarded')}</span>`,
    ]),
  );
  return `<h2>Every window</h2><table>${row(['N', 'attempt', 'conc.', 'ms', 'ok', 'errors', 'X (req/s)', 'p99/p50', 'steal %', 'verdict'], true)}${rows.join('')}</table>`;
}

/** The page for one certificate. */
export function renderCertificateHtml(
  c: Certificate,
  extra: { band?: BandInput | null; windows?: readonly WindowRow[] } = {},
): string {
  const m = c.machine;
  const t = c.driftTriggers;
  const warnings = [...c.warnings, ...(c.fit?.warnings ?? [])];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Birth certificate: ${escapeXml(c.subject.name)}</title><style>${style}</style></head><body>
<h1>Birth certificate: ${escapeXml(c.subject.name)}</h1>
<p>${escapeXml(c.createdAt)} · status <span class="status-${c.status}">${c.status}</span>${c.partialReason ? ` — ${escapeXml(c.partialReason)}` : ''}<br>
<span class="muted">target ${escapeXml(c.subject.target)}${c.subject.command ? ` · command <code>${escapeXml(c.subject.command)}</code>` : ''} · plan N = ${c.plan.n.join(', ')} · ${c.plan.windows} windows × ${c.plan.windowMs} ms</span></p>
<h2>The law</h2>${fitTable(c)}
<div class="grid">${throughputPlot(c, extra.band ?? null)}</div>
<h2>Points</h2>${pointsTable(c)}
<h2>Latency run</h2>${latencyTable(c)}${c.latency.length > 0 ? `<div class="grid">${latencyPlot(c)}</div>` : ''}
<h2>Floors</h2>${keyValueTable([
    [
      'storage: single-writer fsync rate',
      c.floors.storageFsyncPerSec === null
        ? 'unknown — measure with shock probe'
        : `${fmtNumber(c.floors.storageFsyncPerSec)} /s`,
    ],
    [
      'network: p99 round trip',
      c.floors.networkRttUsP99 === null
        ? 'unknown — measure with shock probe'
        : `${fmtNumber(c.floors.networkRttUsP99 / 1000)} ms`,
    ],
    ['source', c.floors.source],
  ])}
<h2>Assumed constraints</h2>${keyValueTable([
    [
      'keys (traffic distribution)',
      c.constraints.keys + (c.constraints.zipfExponent !== null ? ` (exponent ${c.constraints.zipfExponent})` : ''),
    ],
    ['fsync', c.constraints.fsync],
    ['telemetry', c.constraints.telemetry],
    ['operating N', c.constraints.operatingN === null ? 'unknown' : String(c.constraints.operatingN)],
    [
      'cross-shard fraction',
      c.constraints.crossShardFraction === null ? 'unknown' : String(c.constraints.crossShardFraction),
    ],
    ...c.constraints.notes.map((note): [string, string] => ['note', note]),
  ])}
<h2>Machine</h2>${keyValueTable([
    ['os', `${m.os} ${m.release} (${m.arch})`],
    ['cpus', `${m.cpus} × ${m.cpuModel}`],
    ['memory', `${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB`],
    ['node', m.node],
    ['host', m.hostname],
  ])}
<h2>Drift triggers</h2>${keyValueTable([
    ['γ below (−20%)', t.gammaFloorPerSec === null ? '—' : `${fmtNumber(t.gammaFloorPerSec)} req/s`],
    ['β above (+15%)', t.betaCeiling === null ? '—' : fmtNumber(t.betaCeiling)],
    ['N past', t.nMax === null ? '— (no N_max)' : fmtNumber(t.nMax)],
    [
      'measured peak below (shadow-frontier gap > 15%)',
      t.shadowFrontierFloorPerSec === null ? '—' : `${fmtNumber(t.shadowFrontierFloorPerSec)} req/s`,
    ],
  ])}<ul>${t.rules.map((r) => `<li>${escapeXml(r)}</li>`).join('')}</ul>
<h2>Warnings</h2>${warnings.length === 0 ? '<p>none</p>' : `<ul>${warnings.map((w) => `<li class="warn">${escapeXml(w)}</li>`).join('')}</ul>`}
${windowsTable(extra.windows ?? [])}
</body></html>
`;
}

/** One design of the demonstration, for the combined page. */
export interface DemoDesignResult {
  design: string;
  description: string;
  certificate: Certificate;
  band: BandInput | null;
}

const demoColors = ['#2e7d32', '#ef6c00', '#c62828'];

/** The demonstration page: the three measured curves on one chart, then each design's fit. */
export function renderDemoHtml(designs: readonly DemoDesignResult[], note: string): string {
  const nHigh = Math.max(2, ...designs.flatMap((d) => d.certificate.points.map((p) => p.n))) * 1.05;
  const series: PlotSeries[] = designs.map((d, i) => ({
    name: d.design,
    color: demoColors[i % demoColors.length],
    points: d.certificate.points.map((p) => ({ x: p.n, y: p.throughputPerSec })),
    curve: d.certificate.fit ? curveFor(d.certificate.fit, nHigh) : undefined,
    band: clipBand(d.band, nHigh),
  }));
  const efficiency: PlotSeries[] = designs.map((d, i) => {
    const gamma = d.certificate.fit?.gamma.value ?? d.certificate.points[0]?.throughputPerSec ?? 1;
    const params = d.certificate.fit;
    return {
      name: d.design,
      color: demoColors[i % demoColors.length],
      points: d.certificate.points.map((p) => ({ x: p.n, y: p.throughputPerSec / (p.n * gamma) })),
      curve: params ? curveFor(params, nHigh).map((c) => ({ x: c.x, y: c.y / (c.x * gamma) })) : undefined,
    };
  });
  const efficiencyChart = renderPlot({
    id: 'demo-efficiency',
    title: 'Efficiency X(N) / (N·γ): the tax each design pays per consumer',
    xLabel: 'N consumers',
    yLabel: 'efficiency',
    series: efficiency,
    widthPx: 900,
    heightPx: 360,
  });
  const chart = renderPlot({
    id: 'demo',
    title: 'Three consumer designs, same work: measured X(N) and fitted USL',
    xLabel: 'N consumers',
    yLabel: 'batches / s',
    series,
    widthPx: 900,
    heightPx: 460,
  });
  const rows = designs.map((d) => {
    const f = d.certificate.fit;
    return row([
      escapeXml(d.design),
      f ? est(f.gamma) : '—',
      f ? est(f.alpha) : '—',
      f ? est(f.beta) : '—',
      f?.nMax ? est(f.nMax) : '∞',
      fmtNumber(f?.xMaxPerSec),
      f ? (f.retrograde.confirmed ? 'confirmed' : f.retrograde.measured ? 'measured' : 'no') : '—',
    ]);
  });
  const sections = designs.map(
    (d) =>
      `<h2>${escapeXml(d.design)}</h2><p>${escapeXml(d.description)}</p>${fitTable(d.certificate)}${pointsTable(d.certificate)}`,
  );
  const machine = designs[0]?.certificate.machine;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>shock lab --demo</title><style>${style}</style></head><body>
<h1>The coordination tax, measured</h1>
<p>${escapeXml(note)}</p>
${machine ? `<p class="muted">${escapeXml(`${machine.os} ${machine.release}, ${machine.cpus} × ${machine.cpuModel}, node ${machine.node}, ${designs[0].certificate.createdAt}`)}</p>` : ''}
<div class="grid">${chart}</div>
<div class="grid">${efficiencyChart}</div>
<table>${row(['design', 'γ [90%]', 'α [90%]', 'β [90%]', 'N_max [90%]', 'X_max', 'retrograde'], true)}${rows.join('')}</table>
${sections.join('\n')}
</body></html>
`;
}
