/**
 * Measurement text → rows. CSV (or TSV / semicolons) with an `N,X` header like R `usl` and codahale/usl, or JSON:
 * an array of `{"n": 1, "x": 955}` objects (also `N`/`X`, `nodes`/`throughput`...), an array of `[n, x]` pairs, or an
 * object with `n` and `x` arrays or a `measurements` array. Pure: the caller reads the file.
 */
import { shockError } from '../../base/index.js';
import type { Measurement } from './data.js';

const nNames = ['n', 'nodes', 'node', 'concurrency', 'workers', 'threads', 'load', 'size', 'users', 'clients'];
const xNames = ['x', 'throughput', 'tput', 'rate', 'ops', 'rps', 'qps', 'tps', 'ops_per_sec', 'x_max', 'value'];

function invalid(message: string, source: string, hint?: string) {
  return shockError('SHOCK_FIT_INPUT_INVALID', `${source}: ${message}`, {
    hint: hint ?? 'give CSV rows N,X (a header line "N,X" first) or JSON [{"n": 1, "x": 955}, ...]',
  });
}

/** Parses measurement text; `source` names it in messages (a file path). */
export function parseMeasurementText(text: string, source = 'input'): Measurement[] {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') throw invalid('the file is empty', source);
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return parseJson(trimmed, source);
  return parseCsv(trimmed, source);
}

function cellNumber(raw: string): number {
  const s = raw.trim();
  if (s === '') return NaN;
  // Number() accepts "0x10" and "1e3"; thousands separators are not numbers here ("1,000" would split anyway).
  return Number(s);
}

function parseCsv(text: string, source: string): Measurement[] {
  // Keep each line's number for messages; comments (#) and blank lines carry no data.
  const lines = text
    .split(/\r?\n/)
    .map((content, i) => ({ content: content.trim(), number: i + 1 }))
    .filter((l) => l.content !== '' && !l.content.startsWith('#'));
  if (lines.length === 0) throw invalid('no data lines', source);
  const firstLine = lines[0].content;
  const sep = firstLine.includes('\t') ? '\t' : firstLine.includes(';') ? ';' : firstLine.includes(',') ? ',' : /\s+/;
  const split = (line: string) => line.split(sep).map((c) => c.trim().replace(/^"|"$/g, ''));
  let nCol = 0;
  let xCol = 1;
  let start = 0;
  const first = split(firstLine);
  if (first.some((c) => c !== '' && !Number.isFinite(Number(c)))) {
    if (first.length < 2) throw invalid(`the header "${firstLine}" has fewer than two columns`, source);
    const lower = first.map((c) => c.toLowerCase());
    const ni = lower.findIndex((c) => nNames.includes(c));
    const xi = lower.findIndex((c, i) => i !== ni && xNames.includes(c));
    nCol = ni >= 0 ? ni : 0;
    xCol = xi >= 0 ? xi : nCol === 0 ? 1 : 0;
    start = 1;
  }
  const rows: Measurement[] = [];
  const problems: string[] = [];
  for (const { content, number } of lines.slice(start)) {
    const cells = split(content);
    if (cells.length <= Math.max(nCol, xCol)) {
      problems.push(`line ${number}: expected at least ${Math.max(nCol, xCol) + 1} columns, got "${content}"`);
      continue;
    }
    const n = cellNumber(cells[nCol]);
    const x = cellNumber(cells[xCol]);
    const bad: string[] = [];
    if (Number.isNaN(n)) bad.push(`N is not a number: "${cells[nCol]}"`);
    if (Number.isNaN(x)) bad.push(`X is not a number: "${cells[xCol]}"`);
    if (bad.length > 0) problems.push(`line ${number}: ${bad.join('; ')}`);
    else rows.push({ n, x });
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 10);
    if (problems.length > 10) shown.push(`... and ${problems.length - 10} more`);
    throw invalid(`${problems.length} unreadable row(s):\n    ${shown.join('\n    ')}`, source);
  }
  return rows;
}

function pick(obj: Record<string, unknown>, names: readonly string[]): unknown {
  for (const [k, v] of Object.entries(obj)) if (names.includes(k.toLowerCase())) return v;
  return undefined;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

function parseJson(text: string, source: string): Measurement[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(`not valid JSON (${(err as Error).message})`, source);
  }
  let list: unknown[];
  if (Array.isArray(value)) list = value;
  else if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const nested = obj.measurements ?? obj.points ?? obj.rows ?? obj.data;
    const ns = pick(obj, nNames);
    const xs = pick(obj, xNames);
    if (Array.isArray(nested)) list = nested;
    else if (Array.isArray(ns) && Array.isArray(xs)) {
      if (ns.length !== xs.length) throw invalid(`"n" has ${ns.length} values but "x" has ${xs.length}`, source);
      list = ns.map((n, i) => [n, xs[i]]);
    } else throw invalid('expected an array of measurements, or "n" and "x" arrays', source);
  } else throw invalid('expected an array of measurements', source);
  const problems: string[] = [];
  const rows: Measurement[] = [];
  list.forEach((item, i) => {
    let n: unknown;
    let x: unknown;
    if (Array.isArray(item)) [n, x] = item;
    else if (item && typeof item === 'object') {
      n = pick(item as Record<string, unknown>, nNames);
      x = pick(item as Record<string, unknown>, xNames);
    }
    const nn = toNumber(n);
    const xx = toNumber(x);
    if (Number.isNaN(nn) || Number.isNaN(xx)) {
      problems.push(`item ${i + 1}: needs numeric n and x, got ${JSON.stringify(item)}`);
      return;
    }
    rows.push({ n: nn, x: xx });
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 10);
    if (problems.length > 10) shown.push(`... and ${problems.length - 10} more`);
    throw invalid(`${problems.length} unreadable item(s):\n    ${shown.join('\n    ')}`, source);
  }
  return rows;
}
