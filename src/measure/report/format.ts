/**
 * Number formatting shared by the text summaries and the HTML reports: a few significant digits, thousands
 * separators for large values, exponents for tiny ones, and words for the infinities (never "NaN" or "Infinity").
 */

/** `v` with `digits` significant digits; 1,234.5 style grouping from 10,000; 1.23e-5 style below 0.001. */
export function formatNumber(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3) return v.toExponential(Math.max(0, digits - 1)).replace('e', 'e');
  if (a >= 1e4) return Math.round(v).toLocaleString('en-US');
  const s = Number(v.toPrecision(digits));
  return s.toLocaleString('en-US', { maximumFractionDigits: 12 });
}

/** A signed percentage with one decimal: +3.2%. */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return '—';
  const p = Math.round(fraction * 1000) / 10;
  return `${p > 0 ? '+' : p < 0 ? '−' : ''}${Math.abs(p).toFixed(1)}%`;
}

/** "[lower, upper]" of an interval, or "—". */
export function formatInterval(i: { lower: number; upper: number } | undefined, digits = 4): string {
  if (!i) return '—';
  return `[${formatNumber(i.lower, digits)}, ${formatNumber(i.upper, digits)}]`;
}

/** Left- or right-aligned columns for a text table. */
export function textTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  rightAligned: readonly boolean[],
): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (rightAligned[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
