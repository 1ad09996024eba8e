/**
 * Event preparation, the per-event CPU work of the ingest path: validate, check the tenant and type, fill in the
 * defaults, encode the stored record and its key, and choose the partition. `prepareBatch` does it for a whole batch
 * body (split, parse, then each record). Both run on the gateway's thread or, for large batches, on a batch worker
 * (`batch-pool.ts`): they read only a `PrepareContext`, never the gateway's shared state.
 */
import {
  eventJson,
  isShockError,
  type EventWriter,
  type Limits,
  type Priority,
  type ShockError,
} from '../base/index.js';
import { checkTypeAllowed, type Principal } from './auth.js';
import { parseJson, type BodyFormat } from './body.js';
import type { EventIdGenerator } from './event-id.js';
import { partitionForKey } from './partition.js';
import { shapeRejection } from './json-shape.js';
import { arrayMemberSpans, isJsonSpace, memberValueSpan } from './raw-json.js';
import { rejection } from './rejection.js';
import type { EventValidator } from './validate.js';

/** What preparing needs: the gateway's own, or a batch worker's. */
export interface PrepareContext {
  readonly validator: EventValidator;
  readonly ids: EventIdGenerator;
  readonly writer: EventWriter;
  readonly limits: Readonly<Pick<Limits, 'eventBytesMax' | 'eventDepthMax' | 'batchRecordsMax'>>;
}

/** An event ready to append. */
export interface Prepared {
  eventId: string;
  /** True when the client supplied the id (only those enter the dedupe window). */
  clientId: boolean;
  priority: Priority;
  keyBytes: Buffer;
  value: Buffer;
  /** `partitionForKey(keyBytes, partitionsAt)`: the partition when the event was prepared. */
  partition: number;
  /** The log's partition count when the event was prepared (a reshard may change it before the append). */
  partitionsAt: number;
}

/** Where the client's payload bytes are, when known (`raw-json.ts`): the record copies them. */
export interface RawPayload {
  buf: Buffer;
  start: number;
  end: number;
}

/** Validates and encodes one parsed event for `principal`, for a log of `partitions` partitions. */
export function prepare(
  ctx: PrepareContext,
  partitions: number,
  principal: Principal,
  value: unknown,
  receivedAtMs: number,
  raw: RawPayload | null = null,
): Prepared | ShockError {
  const v = ctx.validator.validate(value);
  if (isShockError(v)) return v;
  if (v.tenant !== undefined && v.tenant !== principal.tenant) {
    return rejection('SHOCK_INGRESS_FORBIDDEN', 'the body names another tenant; the tenant comes from the API key', {
      problems: [{ path: '/tenant', message: `must be omitted or equal "${principal.tenant}"` }],
    });
  }
  const typeError = checkTypeAllowed(principal, v.type);
  if (typeError !== null) return typeError;
  const eventId = v.event_id ?? ctx.ids.next();
  const key = v.key ?? principal.tenant;
  const head = {
    event_id: eventId,
    tenant: principal.tenant,
    type: v.type,
    ts: v.ts ?? receivedAtMs,
    priority: v.priority,
    key,
  };
  const encoded =
    raw === null
      ? ctx.writer.utf8(eventJson({ ...head, payload: v.payload }))
      : ctx.writer.spliced(head, raw.buf, raw.start, raw.end);
  if (encoded.length > ctx.limits.eventBytesMax) {
    return rejection(
      'SHOCK_INGRESS_RECORD_TOO_LARGE',
      `the event encodes to more than ${ctx.limits.eventBytesMax} bytes`,
      {
        bytes: encoded.length,
        eventBytesMax: ctx.limits.eventBytesMax,
      },
    );
  }
  const keyBytes = ctx.writer.utf8(key);
  return {
    eventId,
    clientId: v.event_id !== undefined,
    priority: v.priority,
    keyBytes,
    value: encoded,
    partition: partitionForKey(keyBytes, partitions),
    partitionsAt: partitions,
  };
}

/** One record of a batch that cannot be appended, and the client's event id when it named one. */
export interface RecordFailure {
  err: ShockError;
  eventId: string | undefined;
}

/** A prepared batch: record i is `prepared[i]` or `failures[i]` (exactly one of them is not null). */
export interface PreparedBatch {
  prepared: Array<Prepared | null>;
  failures: Array<RecordFailure | null>;
  valid: number;
}

/** A batch that fails as a whole, and how many records its answer accounts for. */
export interface BatchRejection {
  err: ShockError;
  records: number;
}

/**
 * Splits, parses and prepares a batch body (a JSON array or NDJSON, where a bad line is one failed record). Each
 * record is prepared on its own: one bad record never sinks the batch. A body that is not a batch at all, holds no
 * record or more than `batchRecordsMax` is a `BatchRejection`.
 */
export function prepareBatch(
  ctx: PrepareContext,
  partitions: number,
  principal: Principal,
  body: Buffer,
  format: BodyFormat,
  receivedAtMs: number,
): PreparedBatch | BatchRejection {
  const batch = parseBatch(body, format, ctx.limits.eventDepthMax);
  if ('err' in batch) return batch;
  const { items, spans } = batch;
  const n = items.length;
  if (n === 0) return { err: rejection('SHOCK_INGRESS_BATCH_EMPTY', 'the batch holds no records'), records: 0 };
  const max = ctx.limits.batchRecordsMax;
  if (n > max) {
    const err = rejection('SHOCK_INGRESS_BATCH_TOO_LONG', `the batch holds more than ${max} records`, {
      records: n,
      batchRecordsMax: max,
    });
    return { err, records: n };
  }
  const prepared = new Array<Prepared | null>(n).fill(null);
  const failures = new Array<RecordFailure | null>(n).fill(null);
  let valid = 0;
  for (let i = 0; i < n; i++) {
    const item = items[i];
    const raw =
      spans === null || spans[4 * i + 2] === -1 ? null : { buf: body, start: spans[4 * i + 2], end: spans[4 * i + 3] };
    // Depth and finite numbers first: nothing recursive (validation, encoding) may see a record that fails them.
    const shapeError =
      isShockError(item) || spans === null
        ? null
        : shapeRejection(body, spans[4 * i], spans[4 * i + 1], ctx.limits.eventDepthMax, item);
    const p = isShockError(item) ? item : (shapeError ?? prepare(ctx, partitions, principal, item, receivedAtMs, raw));
    if (isShockError(p)) {
      failures[i] = { err: p, eventId: eventIdOf(item) };
    } else {
      prepared[i] = p;
      valid += 1;
    }
  }
  return { prepared, failures, valid };
}

/** The records of a batch, and where each one's payload bytes are in the body (null when unknown). */
interface ParsedBatch {
  items: unknown[];
  /** `[start0, end0, payloadStart0, payloadEnd0, start1, …]` spans in the body (payload -1 when unknown), or null. */
  spans: number[] | null;
}

/**
 * Splits a batch body into records: a JSON array, or NDJSON where a bad line is a failed record. Without record spans
 * (never, on bytes JSON.parse accepted) the whole array is held to `depthMax` (+1 for the array itself).
 */
function parseBatch(body: Buffer, format: BodyFormat, depthMax: number): ParsedBatch | BatchRejection {
  if (format === 'json') {
    const parsed = parseJson(body.toString('utf8'));
    if (isShockError(parsed)) return { err: parsed, records: 1 };
    if (!Array.isArray(parsed.value)) {
      const err = rejection('SHOCK_INGRESS_INVALID_EVENT', 'the batch must be a JSON array of events (or NDJSON)', {
        problems: [{ path: '/', message: 'must be array' }],
      });
      return { err, records: 1 };
    }
    const items = parsed.value as unknown[];
    const found = arrayMemberSpans(body, 0, body.length, 'payload');
    const spans = found !== null && found.length === 4 * items.length ? found : null;
    if (spans === null) {
      // The scan always succeeds on bytes JSON.parse accepted; should it not, the array's level counts against the limit.
      const err = shapeRejection(body, 0, body.length, depthMax + 1, items);
      if (err !== null) return { err, records: items.length };
    }
    return { items, spans };
  }
  // NDJSON: one JSON value per line; JSON whitespace around it is ignored, blank lines are skipped.
  const items: unknown[] = [];
  const spans: number[] = [];
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(0x0a, start);
    if (end === -1) end = body.length;
    let s = start;
    let e = end;
    start = end + 1;
    while (s < e && isJsonSpace(body[s])) s++;
    while (e > s && isJsonSpace(body[e - 1])) e--;
    if (s === e) continue;
    const parsed = parseJson(body.toString('utf8', s, e));
    items.push(isShockError(parsed) ? parsed : parsed.value);
    const payload = isShockError(parsed) ? null : memberValueSpan(body, s, e, 'payload');
    spans.push(s, e, payload === null ? -1 : payload[0], payload === null ? -1 : payload[1]);
  }
  return { items, spans };
}

/** The client's event id of a record that failed, when it named a usable one. */
function eventIdOf(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const id = (item as { event_id?: unknown }).event_id;
  return typeof id === 'string' && id.length <= 256 ? id : undefined;
}
