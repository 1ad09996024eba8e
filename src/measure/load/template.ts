/**
 * Request bodies: a fixed string, or a template whose `{{field}}` placeholders are filled per request — `seq` (the
 * request's sequence number), `id` (a random 64-bit hex id), `key` (one of K keys, drawn uniformly or from a Zipf
 * law with exponent s: P(k) ∝ 1/(k+1)^s, so a few hot keys take most of the traffic) and `ts` (wall-clock ms).
 * With `batch` > 1 the body is NDJSON: `batch` rendered records, one per line, each with fresh fields.
 * The template is compiled once; an unknown field fails before any load is sent.
 */
import { assert, randomInt, shockError, type Rng } from '../../base/index.js';

export const templateFields = ['seq', 'id', 'key', 'ts'] as const;
export type TemplateField = (typeof templateFields)[number];

export type KeyDistribution = 'uniform' | 'zipf';

/** Most keys a key space may hold (the Zipf sampler keeps a CDF of this many doubles). */
export const templateKeysMax = 10_000_000;

export interface BodySpec {
  /** A fixed body (sent as is) — exclusive with `template`. */
  body?: string;
  /** A body template with `{{seq}}`, `{{id}}`, `{{key}}`, `{{ts}}` placeholders. */
  template?: string;
  /** Records per request; > 1 renders NDJSON. Default 1. */
  batch?: number;
  /** Size of the key space for `{{key}}`. Default 1000. */
  keys?: number;
  keyDistribution?: KeyDistribution;
  /** Zipf exponent s (> 0). Default 1.0. */
  zipfS?: number;
}

export interface CompiledTemplate {
  /** Literal text around the fields: parts.length === fields.length + 1. */
  parts: string[];
  fields: TemplateField[];
}

/** Splits a template into literals and fields; unknown fields fail with SHOCK_LOAD_TEMPLATE_FIELD. */
export function compileTemplate(source: string): CompiledTemplate {
  const parts: string[] = [];
  const fields: TemplateField[] = [];
  const unknown: string[] = [];
  let last = 0;
  for (const m of source.matchAll(/\{\{\s*([^}\s]*)\s*\}\}/g)) {
    parts.push(source.slice(last, m.index));
    const name = m[1];
    if ((templateFields as readonly string[]).includes(name)) fields.push(name as TemplateField);
    else unknown.push(name);
    last = (m.index ?? 0) + m[0].length;
  }
  parts.push(source.slice(last));
  if (unknown.length > 0) {
    throw shockError('SHOCK_LOAD_TEMPLATE_FIELD', `the template uses unknown field(s): ${unknown.join(', ')}`, {
      unknown,
      known: [...templateFields],
      hint: `use only {{${templateFields.join('}}, {{')}}}`,
    });
  }
  return { parts, fields };
}

/** Draws key indexes in [0, K): uniform, or Zipf(s) by inverse CDF (binary search over a precomputed table). */
export function createKeySampler(keys: number, distribution: KeyDistribution, zipfS: number, rng: Rng): () => number {
  assert(Number.isInteger(keys) && keys >= 1 && keys <= templateKeysMax, 'keys out of range', { keys });
  if (distribution === 'uniform') return () => randomInt(rng, keys);
  assert(zipfS > 0, 'zipf exponent must be > 0', { zipfS });
  const cdf = new Float64Array(keys);
  let sum = 0;
  for (let k = 0; k < keys; k++) {
    sum += 1 / Math.pow(k + 1, zipfS);
    cdf[k] = sum;
  }
  return () => {
    const u = rng.next() * sum;
    let lo = 0;
    let hi = keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/** Renders request bodies; one instance per thread (it owns its RNG stream). */
export class BodyRenderer {
  private readonly compiled: CompiledTemplate | null;
  private readonly fixed: string | undefined;
  private readonly batch: number;
  private readonly drawKey: () => number;

  constructor(
    spec: BodySpec,
    private readonly rng: Rng,
  ) {
    assert(spec.body === undefined || spec.template === undefined, 'body and template are exclusive');
    this.fixed = spec.body;
    this.compiled = spec.template === undefined ? null : compileTemplate(spec.template);
    this.batch = spec.batch ?? 1;
    this.drawKey = createKeySampler(spec.keys ?? 1000, spec.keyDistribution ?? 'uniform', spec.zipfS ?? 1, rng);
  }

  /** True when requests carry a body. */
  get hasBody(): boolean {
    return this.fixed !== undefined || this.compiled !== null;
  }

  /** The body of request `seq` (undefined when there is none). */
  render(seq: number): string | undefined {
    if (this.compiled === null) {
      if (this.fixed === undefined || this.batch === 1) return this.fixed;
      return Array.from({ length: this.batch }, () => this.fixed).join('\n') + '\n';
    }
    if (this.batch === 1) return this.renderRecord(this.compiled, seq);
    let out = '';
    for (let r = 0; r < this.batch; r++) out += this.renderRecord(this.compiled, seq * this.batch + r) + '\n';
    return out;
  }

  private renderRecord(t: CompiledTemplate, seq: number): string {
    let out = t.parts[0];
    for (let i = 0; i < t.fields.length; i++) {
      out += this.fieldValue(t.fields[i], seq) + t.parts[i + 1];
    }
    return out;
  }

  private fieldValue(field: TemplateField, seq: number): string {
    switch (field) {
      case 'seq':
        return String(seq);
      case 'id':
        return hex32(this.rng) + hex32(this.rng);
      case 'key':
        return `key-${this.drawKey()}`;
      case 'ts':
        return String(Date.now());
    }
  }
}

function hex32(rng: Rng): string {
  return Math.floor(rng.next() * 4294967296)
    .toString(16)
    .padStart(8, '0');
}
