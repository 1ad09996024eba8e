/**
 * Inline SVG charts for the certificate report: measured points (each with `data-n` / `data-x` attributes so a test
 * or a reader can check them), fitted curves, a shaded 90% band and vertical markers (N_max, the autoscaler
 * ceiling). Plain strings, no dependencies, so the HTML stays self-contained.
 */

/** One series: points, a curve, or both. */
export interface PlotSeries {
  name: string;
  color: string;
  points?: Array<{ x: number; y: number; yLow?: number; yHigh?: number }>;
  curve?: Array<{ x: number; y: number }>;
  band?: { x: number[]; low: number[]; high: number[] };
  dashed?: boolean;
}

/** A vertical marker line. */
export interface PlotMarker {
  x: number;
  label: string;
  color: string;
}

/** A chart. */
export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  markers?: PlotMarker[];
  xLog?: boolean;
  widthPx?: number;
  heightPx?: number;
  id?: string;
}

const margin = { left: 64, right: 16, top: 28, bottom: 44 };

/** Escapes text for HTML and SVG. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function niceTicks(low: number, high: number, count: number): number[] {
  const span = high - low;
  if (!(span > 0)) return [low];
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => span / s <= count) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(low / step) * step; t <= high + 1e-9 * span; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function fmtTick(v: number): string {
  if (Math.abs(v) >= 1000) return `${(v / 1000).toPrecision(3).replace(/\.?0+$/, '')}k`;
  return String(Number(v.toPrecision(3)));
}

/** Renders a chart as an `<svg>` string. */
export function renderPlot(spec: PlotSpec): string {
  const width = spec.widthPx ?? 640;
  const height = spec.heightPx ?? 360;
  const xs: number[] = [];
  const ys: number[] = [0];
  for (const s of spec.series) {
    for (const p of s.points ?? []) {
      xs.push(p.x);
      ys.push(p.yHigh ?? p.y);
    }
    for (const p of s.curve ?? []) {
      xs.push(p.x);
      ys.push(p.y);
    }
    if (s.band) {
      xs.push(...s.band.x);
      ys.push(...s.band.high);
    }
  }
  for (const m of spec.markers ?? []) xs.push(m.x);
  const finite = (v: number) => Number.isFinite(v);
  const xLow = spec.xLog ? 1 : 0;
  const xHigh = Math.max(2, ...xs.filter(finite)) * 1.05;
  const yHigh = Math.max(1, ...ys.filter(finite)) * 1.08;
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const sx = (x: number) =>
    margin.left +
    (spec.xLog ? (Math.log(Math.max(x, 1)) / Math.log(xHigh)) * plotW : ((x - xLow) / (xHigh - xLow)) * plotW);
  const sy = (y: number) => margin.top + plotH - (Math.max(0, Math.min(y, yHigh)) / yHigh) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="plot" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"${spec.id ? ` id="${escapeXml(spec.id)}"` : ''}>`,
  );
  parts.push(`<title>${escapeXml(spec.title)}</title>`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="600">${escapeXml(spec.title)}</text>`,
  );
  // Axes and grid.
  const xTicks = spec.xLog
    ? [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024].filter((t) => t <= xHigh)
    : niceTicks(0, xHigh, 8);
  for (const t of xTicks) {
    parts.push(`<line x1="${sx(t)}" y1="${margin.top}" x2="${sx(t)}" y2="${margin.top + plotH}" stroke="#eee"/>`);
    parts.push(
      `<text x="${sx(t)}" y="${margin.top + plotH + 16}" text-anchor="middle" font-size="11">${fmtTick(t)}</text>`,
    );
  }
  for (const t of niceTicks(0, yHigh, 6)) {
    parts.push(`<line x1="${margin.left}" y1="${sy(t)}" x2="${margin.left + plotW}" y2="${sy(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${sy(t) + 4}" text-anchor="end" font-size="11">${fmtTick(t)}</text>`);
  }
  parts.push(
    `<line x1="${margin.left}" y1="${margin.top + plotH}" x2="${margin.left + plotW}" y2="${margin.top + plotH}" stroke="#333"/>`,
  );
  parts.push(
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotH}" stroke="#333"/>`,
  );
  parts.push(
    `<text x="${margin.left + plotW / 2}" y="${height - 8}" text-anchor="middle" font-size="12">${escapeXml(spec.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(14 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(spec.yLabel)}</text>`,
  );
  for (const s of spec.series) {
    if (s.band && s.band.x.length > 1) {
      const upper = s.band.x.map((x, i) => `${sx(x).toFixed(1)},${sy(s.band!.high[i]).toFixed(1)}`);
      const lower = s.band.x.map((x, i) => `${sx(x).toFixed(1)},${sy(s.band!.low[i]).toFixed(1)}`).reverse();
      parts.push(
        `<polygon class="band" data-series="${escapeXml(s.name)}" points="${[...upper, ...lower].join(' ')}" fill="${s.color}" fill-opacity="0.15" stroke="none"/>`,
      );
    }
  }
  for (const s of spec.series) {
    if (s.curve && s.curve.length > 1) {
      const d = s.curve.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
      parts.push(
        `<path class="curve" data-series="${escapeXml(s.name)}" d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      );
    }
    for (const p of s.points ?? []) {
      if (p.yLow !== undefined && p.yHigh !== undefined) {
        parts.push(
          `<line x1="${sx(p.x)}" y1="${sy(p.yLow)}" x2="${sx(p.x)}" y2="${sy(p.yHigh)}" stroke="${s.color}"/>`,
        );
      }
      parts.push(
        `<circle class="point" data-series="${escapeXml(s.name)}" data-n="${p.x}" data-x="${p.y.toFixed(3)}" cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="4" fill="${s.color}"/>`,
      );
    }
  }
  for (const m of spec.markers ?? []) {
    if (!Number.isFinite(m.x) || m.x > xHigh) continue;
    parts.push(
      `<line class="marker" x1="${sx(m.x)}" y1="${margin.top}" x2="${sx(m.x)}" y2="${margin.top + plotH}" stroke="${m.color}" stroke-dasharray="3 3"/>`,
    );
    parts.push(
      `<text x="${sx(m.x) + 4}" y="${margin.top + 12}" font-size="11" fill="${m.color}">${escapeXml(m.label)}</text>`,
    );
  }
  // Legend.
  spec.series.forEach((s, i) => {
    const y = margin.top + 8 + i * 16;
    const x = margin.left + plotW - 190;
    parts.push(`<rect x="${x}" y="${y}" width="12" height="4" fill="${s.color}"/>`);
    parts.push(`<text x="${x + 18}" y="${y + 6}" font-size="11">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
