/**
 * A small, generic inline-SVG plotting module for the self-contained HTML reports (the fit report, the lab's
 * certificate, the dashboard and surge reports): linear or log axes with nice ticks, lines, points, shaded bands,
 * vertical markers and a legend. Plain strings, no dependencies, no script.
 *
 * Every chart is checkable by a browser test: the `<svg>` carries its plot area (`data-plot-left`, `-top`,
 * `-width`, `-height`), its domains (`data-x-min`, `-max`, `data-y-min`, `-max`) and scale kinds
 * (`data-x-scale`, `data-y-scale`); each tick has `data-value`; each point is a `<circle class="point">` with
 * `data-x` and `data-y` (its data coordinates) plus any attributes the caller adds (`data-n`, ...).
 */

export type ScaleKind = 'linear' | 'log';

export interface AxisSpec {
  readonly label: string;
  /** 'linear' (default) or 'log' (base 10; non-positive values are dropped). */
  readonly kind?: ScaleKind;
  /** Force the domain ends (otherwise the data extent, widened to nice ticks). */
  readonly min?: number;
  readonly max?: number;
  /** Linear axes only: widen the domain to include 0 (default false). */
  readonly includeZero?: boolean;
  /** Tick label format (default: compact numbers). */
  readonly format?: (v: number) => string;
  /** About how many ticks (default 6). */
  readonly ticks?: number;
}

export interface XY {
  readonly x: number;
  readonly y: number;
}

export interface LineSeries {
  readonly kind: 'line';
  readonly name: string;
  readonly points: readonly XY[];
  readonly color?: string;
  readonly dashed?: boolean;
  readonly width?: number;
  /** Leave out of the legend. */
  readonly hideInLegend?: boolean;
}

export interface PlotPoint extends XY {
  /** Extra attributes on the circle, e.g. { 'data-n': 4 } (names should start with "data-"). */
  readonly attrs?: Readonly<Record<string, string | number>>;
  /** Tooltip text (an SVG <title>). */
  readonly title?: string;
}

export interface PointSeries {
  readonly kind: 'points';
  readonly name: string;
  readonly points: readonly PlotPoint[];
  readonly color?: string;
  readonly radius?: number;
  /** Hollow circles (outlined) instead of filled ones. */
  readonly hollow?: boolean;
  readonly hideInLegend?: boolean;
}

export interface BandSeries {
  readonly kind: 'band';
  readonly name: string;
  readonly x: readonly number[];
  readonly lower: readonly number[];
  readonly upper: readonly number[];
  readonly color?: string;
  readonly opacity?: number;
  readonly hideInLegend?: boolean;
}

export type Series = LineSeries | PointSeries | BandSeries;

export interface VerticalMarker {
  readonly x: number;
  readonly label: string;
  readonly color?: string;
  readonly dashed?: boolean;
}

export interface ChartSpec {
  /** id attribute of the <svg> (for tests and links). */
  readonly id?: string;
  readonly title?: string;
  readonly width?: number;
  readonly height?: number;
  readonly x: AxisSpec;
  readonly y: AxisSpec;
  readonly series: readonly Series[];
  readonly markers?: readonly VerticalMarker[];
  /** Show the legend (default true when there is more than one legend entry). */
  readonly legend?: boolean;
  /** Corner of the plot area for the legend (default 'top-right'). */
  readonly legendPosition?: 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';
}

/** A scale maps data values to pixels and back. */
export interface Scale {
  readonly kind: ScaleKind;
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
  map(v: number): number;
  invert(px: number): number;
}

export const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#7f7f7f'];

/** XML text and attribute escaping. */
export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** 1, 2 or 5 times a power of ten, the "nice" step at or above `raw` (Heckbert, Graphics Gems, 1990). */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const exp = Math.floor(Math.log10(raw));
  const base = 10 ** exp;
  const f = raw / base;
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nice * base;
}

/** Nice ticks covering [min, max]: multiples of a 1-2-5 step; the first ≤ min and the last ≥ max. */
export function niceTicks(min: number, max: number, count = 6): number[] {
  if (!(Number.isFinite(min) && Number.isFinite(max))) return [0, 1];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    return niceTicks(min - pad, max + pad, count);
  }
  const step = niceStep((max - min) / Math.max(1, count - 1));
  const start = Math.floor(min / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = start, i = 0; i < 1000; v = start + ++i * step) {
    ticks.push(Number(v.toPrecision(12)));
    if (v >= max - 1e-9 * step) break;
  }
  return ticks;
}

/** Log ticks: the powers of ten spanning [min, max] (and 2, 5 between them when that spans less than three decades). */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const ticks: number[] = [];
  const dense = hi - lo < 3;
  for (let e = lo; e <= hi; e++) {
    const p = 10 ** e;
    ticks.push(Number(p.toPrecision(12)));
    if (dense && e < hi) ticks.push(Number((2 * p).toPrecision(12)), Number((5 * p).toPrecision(12)));
  }
  return ticks;
}

/** A linear or log scale from `domain` to `range` (pixels; the y range runs downwards). */
export function createScale(
  kind: ScaleKind,
  domain: readonly [number, number],
  range: readonly [number, number],
): Scale {
  const t = kind === 'log' ? Math.log10 : (v: number) => v;
  const tInv = kind === 'log' ? (v: number) => 10 ** v : (v: number) => v;
  const d0 = t(domain[0]);
  const d1 = t(domain[1]);
  const span = d1 - d0 || 1;
  return {
    kind,
    domain,
    range,
    map: (v) => range[0] + ((t(v) - d0) / span) * (range[1] - range[0]),
    invert: (px) => tInv(d0 + ((px - range[0]) / (range[1] - range[0])) * span),
  };
}

/** Compact tick labels: 1.5k, 2M, 0.25, 1e-4. */
export function compactNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e9) return `${Number((v / 1e9).toPrecision(3))}G`;
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  if (a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

function seriesValues(series: readonly Series[], axis: 'x' | 'y'): number[] {
  const out: number[] = [];
  for (const s of series) {
    if (s.kind === 'band') {
      if (axis === 'x') out.push(...s.x);
      else out.push(...s.lower, ...s.upper);
    } else for (const p of s.points) out.push(p[axis]);
  }
  return out;
}

/** The domain and ticks of an axis from its values. */
export function axisDomain(spec: AxisSpec, values: readonly number[]): { domain: [number, number]; ticks: number[] } {
  const kind = spec.kind ?? 'linear';
  const usable = values.filter((v) => Number.isFinite(v) && (kind === 'linear' || v > 0));
  let lo = spec.min ?? (usable.length > 0 ? Math.min(...usable) : kind === 'log' ? 1 : 0);
  let hi = spec.max ?? (usable.length > 0 ? Math.max(...usable) : kind === 'log' ? 10 : 1);
  if (kind === 'log') {
    if (!(lo > 0)) lo = hi > 0 ? hi / 10 : 1;
    if (!(hi > lo)) hi = lo * 10;
    const ticks = logTicks(lo, hi);
    const domain: [number, number] = [spec.min ?? ticks[0], spec.max ?? ticks[ticks.length - 1]];
    return { domain, ticks: ticks.filter((v) => v >= domain[0] * (1 - 1e-9) && v <= domain[1] * (1 + 1e-9)) };
  }
  if (spec.includeZero) {
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
  }
  const ticks = niceTicks(lo, hi, spec.ticks ?? 6);
  const domain: [number, number] = [spec.min ?? ticks[0], spec.max ?? ticks[ticks.length - 1]];
  return { domain, ticks: ticks.filter((v) => v >= domain[0] - 1e-9 && v <= domain[1] + 1e-9) };
}

/** A short deterministic hash (FNV-1a) so ids stay stable between runs. */
function hashString(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(36);
}

const fmtPx = (v: number): string => (Math.round(v * 100) / 100).toString();

function attrs(record: Readonly<Record<string, string | number>>): string {
  return Object.entries(record)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
}

/** Renders a chart as an inline `<svg>` string. */
export function renderChart(spec: ChartSpec): string {
  const width = spec.width ?? 720;
  const height = spec.height ?? 420;
  const margin = { left: 72, right: 24, top: spec.title ? 36 : 16, bottom: 52 };
  const plot = {
    left: margin.left,
    top: margin.top,
    width: width - margin.left - margin.right,
    height: height - margin.top - margin.bottom,
  };
  const markerXs = (spec.markers ?? []).map((m) => m.x).filter(Number.isFinite);
  const xAxis = axisDomain(spec.x, [...seriesValues(spec.series, 'x'), ...markerXs]);
  const yAxis = axisDomain(spec.y, seriesValues(spec.series, 'y'));
  const xs = createScale(spec.x.kind ?? 'linear', xAxis.domain, [plot.left, plot.left + plot.width]);
  const ys = createScale(spec.y.kind ?? 'linear', yAxis.domain, [plot.top + plot.height, plot.top]);
  const fx = spec.x.format ?? compactNumber;
  const fy = spec.y.format ?? compactNumber;
  const inX = (v: number) => Number.isFinite(v) && (xs.kind === 'linear' || v > 0);
  const inY = (v: number) => Number.isFinite(v) && (ys.kind === 'linear' || v > 0);
  const clipId = `clip-${spec.id ?? hashString(`${spec.title}|${spec.x.label}|${spec.y.label}|${width}x${height}`)}`;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart"${spec.id ? ` id="${escapeXml(spec.id)}"` : ''} width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img"` +
      attrs({
        'aria-label': spec.title ?? `${spec.y.label} against ${spec.x.label}`,
        'data-plot-left': plot.left,
        'data-plot-top': plot.top,
        'data-plot-width': plot.width,
        'data-plot-height': plot.height,
        'data-x-min': xAxis.domain[0],
        'data-x-max': xAxis.domain[1],
        'data-y-min': yAxis.domain[0],
        'data-y-max': yAxis.domain[1],
        'data-x-scale': xs.kind,
        'data-y-scale': ys.kind,
      }) +
      '>',
  );
  out.push(
    `<defs><clipPath id="${clipId}"><rect x="${plot.left}" y="${plot.top}" width="${plot.width}" height="${plot.height}"/></clipPath></defs>`,
  );
  out.push(
    `<rect class="plot-area" x="${plot.left}" y="${plot.top}" width="${plot.width}" height="${plot.height}" fill="#fff" stroke="#ccc"/>`,
  );
  if (spec.title)
    out.push(
      `<text class="title" x="${plot.left}" y="${margin.top - 14}" font-size="15" font-weight="600">${escapeXml(spec.title)}</text>`,
    );

  // Grid and ticks.
  out.push('<g class="axis x-axis" font-size="11" fill="#444">');
  for (const v of xAxis.ticks) {
    const px = fmtPx(xs.map(v));
    out.push(
      `<g class="tick" data-value="${v}"><line x1="${px}" x2="${px}" y1="${plot.top}" y2="${plot.top + plot.height}" stroke="#eee"/>` +
        `<text x="${px}" y="${plot.top + plot.height + 16}" text-anchor="middle">${escapeXml(fx(v))}</text></g>`,
    );
  }
  out.push(
    `<text class="axis-label" x="${plot.left + plot.width / 2}" y="${height - 12}" text-anchor="middle" font-size="12">${escapeXml(spec.x.label)}</text></g>`,
  );
  out.push('<g class="axis y-axis" font-size="11" fill="#444">');
  for (const v of yAxis.ticks) {
    const py = fmtPx(ys.map(v));
    out.push(
      `<g class="tick" data-value="${v}"><line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${py}" y2="${py}" stroke="#eee"/>` +
        `<text x="${plot.left - 8}" y="${py}" dy="0.32em" text-anchor="end">${escapeXml(fy(v))}</text></g>`,
    );
  }
  out.push(
    `<text class="axis-label" transform="translate(16 ${plot.top + plot.height / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(spec.y.label)}</text></g>`,
  );

  const legend: { name: string; color: string; kind: Series['kind'] | 'marker'; dashed?: boolean }[] = [];
  out.push(`<g class="series" clip-path="url(#${clipId})">`);
  spec.series.forEach((s, i) => {
    const color = s.color ?? palette[i % palette.length];
    if (!s.hideInLegend)
      legend.push({ name: s.name, color, kind: s.kind, dashed: s.kind === 'line' ? s.dashed : undefined });
    if (s.kind === 'band') {
      const idx = s.x.map((_, k) => k).filter((k) => inX(s.x[k]) && inY(s.lower[k]) && inY(s.upper[k]));
      if (idx.length < 2) return;
      const upper = idx.map((k) => `${fmtPx(xs.map(s.x[k]))},${fmtPx(ys.map(s.upper[k]))}`);
      const lower = idx.reverse().map((k) => `${fmtPx(xs.map(s.x[k]))},${fmtPx(ys.map(s.lower[k]))}`);
      out.push(
        `<polygon class="band" data-series="${escapeXml(s.name)}" points="${[...upper, ...lower].join(' ')}" fill="${color}" fill-opacity="${s.opacity ?? 0.18}" stroke="none"/>`,
      );
    } else if (s.kind === 'line') {
      const pts = s.points
        .filter((p) => inX(p.x) && inY(p.y))
        .map((p) => `${fmtPx(xs.map(p.x))},${fmtPx(ys.map(p.y))}`);
      if (pts.length < 2) return;
      out.push(
        `<polyline class="line" data-series="${escapeXml(s.name)}" points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="${s.width ?? 2}"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      );
    }
  });
  out.push('</g>');

  for (const m of spec.markers ?? []) {
    if (!inX(m.x) || m.x < xAxis.domain[0] || m.x > xAxis.domain[1]) continue;
    const color = m.color ?? '#555';
    const px = fmtPx(xs.map(m.x));
    out.push(
      `<g class="marker" data-x="${m.x}" data-label="${escapeXml(m.label)}"><line x1="${px}" x2="${px}" y1="${plot.top}" y2="${plot.top + plot.height}" stroke="${color}" stroke-width="1.5"${m.dashed === false ? '' : ' stroke-dasharray="4 3"'}/>` +
        `<text x="${Number(px) + 4}" y="${plot.top + 12}" font-size="11" fill="${color}">${escapeXml(m.label)}</text></g>`,
    );
  }

  // Points last, on top, unclipped (a point on the domain edge stays whole).
  spec.series.forEach((s, i) => {
    if (s.kind !== 'points') return;
    const color = s.color ?? palette[i % palette.length];
    out.push(`<g class="points" data-series="${escapeXml(s.name)}">`);
    for (const p of s.points) {
      if (!inX(p.x) || !inY(p.y)) continue;
      const fill = s.hollow ? '#fff' : color;
      out.push(
        `<circle class="point" cx="${fmtPx(xs.map(p.x))}" cy="${fmtPx(ys.map(p.y))}" r="${s.radius ?? 4}" fill="${fill}" stroke="${color}" stroke-width="1.5"` +
          attrs({ 'data-x': p.x, 'data-y': p.y, ...(p.attrs ?? {}) }) +
          (p.title ? `><title>${escapeXml(p.title)}</title></circle>` : '/>'),
      );
    }
    out.push('</g>');
  });

  const showLegend = spec.legend ?? legend.length > 1;
  if (showLegend && legend.length > 0) {
    const boxHeight = legend.length * 16 + 8;
    const boxWidth = Math.max(...legend.map((l) => l.name.length)) * 6.2 + 40;
    const position = spec.legendPosition ?? 'top-right';
    const lx = position.endsWith('left') ? plot.left + 10 : plot.left + plot.width - boxWidth - 4;
    const ly = position.startsWith('top') ? plot.top + 10 : plot.top + plot.height - boxHeight - 4;
    out.push(`<g class="legend" font-size="11" transform="translate(${fmtPx(lx)} ${fmtPx(ly)})">`);
    out.push(
      `<rect x="-6" y="-6" width="${boxWidth}" height="${boxHeight}" fill="#fff" fill-opacity="0.85" stroke="#ddd"/>`,
    );
    legend.forEach((l, k) => {
      const y = k * 16 + 4;
      const swatch =
        l.kind === 'points'
          ? `<circle cx="10" cy="${y}" r="4" fill="${l.color}"/>`
          : l.kind === 'band'
            ? `<rect x="2" y="${y - 5}" width="16" height="10" fill="${l.color}" fill-opacity="0.25"/>`
            : `<line x1="0" x2="20" y1="${y}" y2="${y}" stroke="${l.color}" stroke-width="2"${l.dashed ? ' stroke-dasharray="6 4"' : ''}/>`;
      out.push(`<g class="legend-item">${swatch}<text x="26" y="${y}" dy="0.32em">${escapeXml(l.name)}</text></g>`);
    });
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n');
}
