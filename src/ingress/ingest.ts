/**
 * The two ingest flows, in the order of the ingest path (docs/ingress.md draws it with the status of each stage):
 *
 *   route/method (404/405) → auth (401/403) → empty bucket (429, before the body) → breaker open (503, before the
 *   body) → media type (415) → length (411/413) → body read within limits (413/408) → UTF-8 (400) → JSON (400)
 *   → envelope + payload schema (400) → tenant/type permission (403) → record size (413) → token bucket (429)
 *   → shedder (503 or graduated delay) → dedupe window (202 duplicate) → breaker (503) → durable append → 202.
 *
 * Module-level functions over a per-request `Exchange`; the gateway state they share is `IngestState`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  assert,
  encodeEvent,
  isShockError,
  shockError,
  type Clock,
  type ErrorCode,
  type Limits,
  type Priority,
  type Rng,
  type ShockError,
  type StoredEvent,
} from '../base/index.js';
import type { AppendResult, Log } from '../log/index.js';
import { checkTypeAllowed, type Authenticator, type Principal } from './auth.js';
import { bodyFormat, checkDeclaredLength, checkUtf8, parseJson, readBody, type BodyFormat } from './body.js';
import type { DedupeEntry, DedupeWindow } from './dedupe.js';
import type { EventIdGenerator } from './event-id.js';
import type { GatewayMetrics } from './metrics.js';
import { partitionForKey } from './partition.js';
import {
  acceptedBody,
  errorBody,
  recordFailureBody,
  sendBody,
  sendError,
  toShockError,
  type ResponseHeaders,
} from './respond.js';
import type { CircuitBreaker, OverloadSignals, Pressure, Shedder } from './shed.js';
import { retryAfterSec, type TenantLimiter } from './token-bucket.js';
import type { EventValidator } from './validate.js';

/** The routes the gateway owns. */
export type Route = 'events' | 'batch';

/** Counters behind `stats()`. */
export interface IngestCounters {
  requests: number;
  received: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  rejectedByCode: Map<string, number>;
  acceptedByTenant: Map<string, number>;
  acceptedByPartition: number[];
  shed: number;
  delayed: number;
  rateLimited: number;
  shadowed: number;
}

/** What the flows need from the gateway. */
export interface IngestState {
  readonly log: Log;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly limits: Readonly<Limits>;
  auth: Authenticator;
  validator: EventValidator;
  readonly limiter: TenantLimiter;
  readonly shedder: Shedder;
  readonly breaker: CircuitBreaker;
  readonly dedupe: DedupeWindow;
  readonly ids: EventIdGenerator;
  readonly metrics: GatewayMetrics;
  readonly counters: IngestCounters;
  /** Events awaiting their durable append. */
  inflightEvents: number;
  draining: boolean;
  signals(): OverloadSignals;
  onAppendError(err: unknown, partition: number): void;
}

/** One request being answered. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: Route;
  readonly startMs: number;
  readonly receivedAtMs: number;
  principal: Principal | null;
  readonly h: ResponseHeaders;
}

/** An event ready to append. */
interface Prepared {
  eventId: string;
  /** True when the client supplied the id (only those enter the dedupe window). */
  clientId: boolean;
  priority: Priority;
  keyBytes: Buffer;
  value: Buffer;
  partition: number;
}

/** Outcome of one record in a batch (or of the single event). */
type Outcome =
  | { ok: true; eventId: string; partition: number; offset: number; duplicate: boolean }
  | { ok: false; err: ShockError; eventId: string | undefined };

/** Answers a whole-request failure and counts it. */
function fail(s: IngestState, ex: Exchange, err: ShockError, events = 0): void {
  countError(s, err.code, events);
  sendError(ex.res, err, ex.h);
}

function countError(s: IngestState, code: ErrorCode, events: number): void {
  s.metrics.errors.labels(code).inc();
  if (events > 0) {
    s.metrics.countDiscarded(code, events);
    s.counters.rejected += events;
    s.counters.rejectedByCode.set(code, (s.counters.rejectedByCode.get(code) ?? 0) + events);
  }
}

/** Sets the tenant's RateLimit headers on the response. */
function rateHeaders(s: IngestState, ex: Exchange, tenant: string): void {
  ex.h.rateLimitPolicy = s.limiter.policyHeader(tenant);
  ex.h.rateLimit = s.limiter.stateHeader(tenant);
}

/** The whole ingest path of one request; never throws (an unexpected error answers 500 SHOCK_INTERNAL). */
export async function ingest(s: IngestState, ex: Exchange): Promise<void> {
  try {
    if (ex.req.method !== 'POST') {
      ex.h.allow = 'POST';
      return fail(s, ex, shockError('SHOCK_INGRESS_METHOD_NOT_ALLOWED', `${ex.req.method} is not allowed; use POST`));
    }
    if (s.draining) {
      ex.h.close = true;
      return fail(s, ex, shockError('SHOCK_INGRESS_SHUTTING_DOWN'));
    }
    const principal = s.auth.authenticate(ex.req.headers);
    if (isShockError(principal)) return fail(s, ex, principal);
    ex.principal = principal;
    const tenant = principal.tenant;
    rateHeaders(s, ex, tenant);
    const early = earlyRejection(s, ex, tenant);
    if (early !== null) return fail(s, ex, early);
    const format = bodyFormat(ex.req.headers['content-type'], ex.route === 'batch');
    if (typeof format !== 'string') return fail(s, ex, format);
    const lengthError = checkDeclaredLength(ex.req, s.limits.bodyBytesMax);
    if (lengthError !== null) {
      ex.h.close = true;
      return fail(s, ex, lengthError);
    }
    let body: Buffer;
    try {
      body = await readBody(ex.req, s.limits.bodyBytesMax);
    } catch (err) {
      ex.h.close = true;
      return fail(s, ex, toShockError(err));
    }
    const utf8Error = checkUtf8(body);
    if (utf8Error !== null) return fail(s, ex, utf8Error, 1);
    const text = body.toString('utf8');
    if (ex.route === 'events') await ingestOne(s, ex, principal, text);
    else await ingestBatch(s, ex, principal, text, format);
  } catch (err) {
    const shock = toShockError(err);
    fail(s, ex, shock);
    if (shock.code === 'SHOCK_INTERNAL') throw shock;
  }
}

/** Rejections decided before reading the body: an empty token bucket (429) or an open breaker (503). */
function earlyRejection(s: IngestState, ex: Exchange, tenant: string): ShockError | null {
  const bucket = s.limiter.bucket(tenant);
  if (!bucket.hasToken()) {
    if (s.limiter.options.mode === 'enforce') {
      ex.h.close = true;
      return rateLimited(s, ex, tenant, 1);
    }
  }
  if (s.breaker.state() === 'open') {
    ex.h.close = true;
    return breakerOpen(s, ex);
  }
  return null;
}

function rateLimited(s: IngestState, ex: Exchange, tenant: string, events: number): ShockError {
  const bucket = s.limiter.bucket(tenant);
  ex.h.retryAfterSec = retryAfterSec(bucket.msUntilToken(), s.rng, s.limiter.options.retryJitterSecMax);
  ex.h.shedReason = 'rate_limited';
  s.metrics.rateLimited.labels(tenant, 'enforce').inc(events);
  s.counters.rateLimited += events;
  return shockError('SHOCK_INGRESS_RATE_LIMITED', `tenant ${tenant} is over its rate; retry after the delay`, {
    tenant,
    retryAfterSec: ex.h.retryAfterSec,
  });
}

function breakerOpen(s: IngestState, ex: Exchange): ShockError {
  ex.h.retryAfterSec = retryAfterSec(s.breaker.msUntilProbe(), s.rng, s.limiter.options.retryJitterSecMax);
  ex.h.shedReason = 'breaker_open';
  return shockError('SHOCK_INGRESS_STORAGE_UNAVAILABLE', 'the log is failing; the circuit breaker is open', {
    breaker: 'open',
    retryAfterSec: ex.h.retryAfterSec,
  });
}

function shed(s: IngestState, ex: Exchange, pressure: Pressure): ShockError {
  ex.h.retryAfterSec = retryAfterSec(0, s.rng, s.limiter.options.retryJitterSecMax);
  ex.h.shedReason = pressure.reason;
  return shockError('SHOCK_INGRESS_SHED', `the server is overloaded (${pressure.reason}); retry after the delay`, {
    reason: pressure.reason,
    loadRatio: Math.round(pressure.ratio * 1000) / 1000,
  });
}

/** Validates and encodes one parsed event for `principal`. */
function prepare(s: IngestState, principal: Principal, value: unknown, receivedAtMs: number): Prepared | ShockError {
  const v = s.validator.validate(value);
  if (isShockError(v)) return v;
  if (v.tenant !== undefined && v.tenant !== principal.tenant) {
    return shockError('SHOCK_INGRESS_FORBIDDEN', 'the body names another tenant; the tenant comes from the API key', {
      problems: [{ path: '/tenant', message: `must be omitted or equal "${principal.tenant}"` }],
    });
  }
  const typeError = checkTypeAllowed(principal, v.type);
  if (typeError !== null) return typeError;
  const eventId = v.event_id ?? s.ids.next();
  const key = v.key ?? principal.tenant;
  const stored: StoredEvent = {
    event_id: eventId,
    tenant: principal.tenant,
    type: v.type,
    ts: v.ts ?? receivedAtMs,
    priority: v.priority,
    key,
    payload: v.payload,
  };
  const encoded = encodeEvent(stored);
  if (encoded.length > s.limits.eventBytesMax) {
    return shockError(
      'SHOCK_INGRESS_RECORD_TOO_LARGE',
      `the event encodes to more than ${s.limits.eventBytesMax} bytes`,
      {
        bytes: encoded.length,
        eventBytesMax: s.limits.eventBytesMax,
      },
    );
  }
  const keyBytes = Buffer.from(key, 'utf8');
  return {
    eventId,
    clientId: v.event_id !== undefined,
    priority: v.priority,
    keyBytes,
    value: encoded,
    partition: partitionForKey(keyBytes, s.log.partitions),
  };
}

/** Appends one partition's events (durable on return) and keeps the dedupe window and breaker informed. */
async function appendGroup(
  s: IngestState,
  tenant: string,
  partition: number,
  events: Prepared[],
): Promise<AppendResult | ShockError> {
  const records = events.map((e) => ({ key: e.keyBytes, value: e.value, timestampMs: 0 }));
  const startMs = s.clock.monoMs();
  const nowMs = s.clock.nowMs();
  for (const r of records) r.timestampMs = nowMs;
  s.inflightEvents += events.length;
  let promise: Promise<AppendResult>;
  try {
    promise = s.log.append(partition, records);
  } catch (err) {
    promise = Promise.reject(err);
  }
  const entries: Array<[string, DedupeEntry]> = [];
  for (let i = 0; i < events.length; i++) {
    if (!events[i].clientId) continue;
    const entry: DedupeEntry = { partition, pending: promise, index: i, offset: -1, acceptedAtMs: nowMs };
    s.dedupe.add(tenant, events[i].eventId, entry);
    entries.push([events[i].eventId, entry]);
  }
  try {
    const result = await promise;
    assert(result.count === events.length, 'append returns one offset per record', {
      count: result.count,
      records: events.length,
    });
    assert(Number.isSafeInteger(result.baseOffset) && result.baseOffset >= 0, 'offsets are safe integers');
    s.breaker.onSuccess();
    for (const [, entry] of entries) {
      entry.offset = result.baseOffset + entry.index;
      entry.pending = null;
    }
    s.metrics.appendDuration.observe((s.clock.monoMs() - startMs) / 1000);
    s.metrics.appendRecords.observe(events.length);
    s.metrics.countAccepted(tenant, partition, events.length);
    s.counters.accepted += events.length;
    s.counters.acceptedByTenant.set(tenant, (s.counters.acceptedByTenant.get(tenant) ?? 0) + events.length);
    s.counters.acceptedByPartition[partition] += events.length;
    return result;
  } catch (err) {
    for (const [id, entry] of entries) s.dedupe.remove(tenant, id, entry);
    const clientFault = err !== null && typeof err === 'object' && (err as ShockError).httpStatus < 500;
    if (clientFault) s.breaker.onSuccess();
    else s.breaker.onFailure();
    s.onAppendError(err, partition);
    if (clientFault) return err as ShockError;
    const cause = (err as ShockError)?.code ?? (err as Error)?.message ?? String(err);
    return shockError(
      'SHOCK_INGRESS_APPEND_FAILED',
      'the log failed the append; nothing of it was acknowledged',
      {
        partition,
        cause,
      },
      err,
    );
  } finally {
    s.inflightEvents -= events.length;
  }
}

/** The outcome of a duplicate: the original's partition and offset once its append has settled. */
async function duplicateOutcome(entry: DedupeEntry, eventId: string): Promise<Outcome> {
  if (entry.pending !== null) {
    try {
      const r = await entry.pending;
      return { ok: true, eventId, partition: entry.partition, offset: r.baseOffset + entry.index, duplicate: true };
    } catch {
      const err = shockError('SHOCK_INGRESS_APPEND_FAILED', 'the original append of this event id failed; retry', {
        partition: entry.partition,
      });
      return { ok: false, err, eventId };
    }
  }
  return { ok: true, eventId, partition: entry.partition, offset: entry.offset, duplicate: true };
}

/** Waits `ms` (graduated delay). One timer per delayed request; no timer when there is no delay. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Overload decision for a request: shed (returns the 503), delay (awaits), shadow (counts), or nothing. */
async function overload(
  s: IngestState,
  ex: Exchange,
  pressure: Pressure,
  priority: Priority,
): Promise<ShockError | null> {
  const shadow = s.shedder.options.shadow;
  if (s.shedder.shouldShed(pressure, priority)) {
    s.metrics.shedDecisions.labels(shadow ? 'shadow' : 'shed', pressure.reason, priority).inc();
    if (shadow) {
      s.counters.shadowed += 1;
      ex.h.shadow = `shed;reason=${pressure.reason}`;
      return null;
    }
    s.counters.shed += 1;
    return shed(s, ex, pressure);
  }
  if (pressure.delayMs > 0 && priority !== 'critical') {
    s.metrics.shedDecisions.labels(shadow ? 'shadow' : 'delay', pressure.reason, priority).inc();
    if (shadow) {
      s.counters.shadowed += 1;
      ex.h.shadow = `delay;ms=${pressure.delayMs}`;
      return null;
    }
    s.counters.delayed += 1;
    await sleep(pressure.delayMs);
  }
  return null;
}

/** POST /v1/events: one event, 202 after its durable append. */
async function ingestOne(s: IngestState, ex: Exchange, principal: Principal, text: string): Promise<void> {
  const tenant = principal.tenant;
  s.metrics.countReceived(tenant, 1);
  s.counters.received += 1;
  const parsed = parseJson(text);
  if (isShockError(parsed)) return fail(s, ex, parsed, 1);
  const event = prepare(s, principal, parsed.value, ex.receivedAtMs);
  if (isShockError(event)) return fail(s, ex, event, 1);
  const bucket = s.limiter.bucket(tenant);
  if (bucket.take(1) === 0) {
    if (s.limiter.options.mode === 'enforce') {
      const err = rateLimited(s, ex, tenant, 1);
      rateHeaders(s, ex, tenant);
      return fail(s, ex, err, 1);
    }
    shadowRateLimited(s, ex, tenant, 1);
  }
  rateHeaders(s, ex, tenant);
  s.shedder.observe(event.priority);
  const pressure = s.shedder.assess(s.signals(), 1);
  if (pressure.ratio > s.shedder.options.delayStartRatio || pressure.p > 0) {
    const shedError = await overload(s, ex, pressure, event.priority);
    if (shedError !== null) return fail(s, ex, shedError, 1);
  }
  if (event.clientId) {
    const entry = s.dedupe.get(tenant, event.eventId, s.clock.nowMs());
    if (entry !== undefined) return answerOne(s, ex, tenant, await duplicateOutcome(entry, event.eventId));
  }
  if (!s.breaker.tryAcquire()) return fail(s, ex, breakerOpen(s, ex), 1);
  const result = await appendGroup(s, tenant, event.partition, [event]);
  if (isShockError(result)) {
    ex.h.retryAfterSec = retryAfterSec(0, s.rng, s.limiter.options.retryJitterSecMax);
    return fail(s, ex, result, 1);
  }
  answerOne(s, ex, tenant, {
    ok: true,
    eventId: event.eventId,
    partition: event.partition,
    offset: result.baseOffset,
    duplicate: false,
  });
}

function answerOne(s: IngestState, ex: Exchange, tenant: string, outcome: Outcome): void {
  if (!outcome.ok) {
    ex.h.retryAfterSec = retryAfterSec(0, s.rng, s.limiter.options.retryJitterSecMax);
    return fail(s, ex, outcome.err, 1);
  }
  if (outcome.duplicate) {
    s.metrics.duplicates.labels(tenant).inc();
    s.counters.duplicates += 1;
  }
  sendBody(ex.res, 202, acceptedBody(outcome.eventId, outcome.partition, outcome.offset, outcome.duplicate), ex.h);
}

function shadowRateLimited(s: IngestState, ex: Exchange, tenant: string, events: number): void {
  s.metrics.rateLimited.labels(tenant, 'shadow').inc(events);
  s.counters.shadowed += events;
  ex.h.shadow = 'rate_limited';
}

/** Splits a batch body into records: a JSON array, or NDJSON where a bad line is a failed record. */
function parseBatch(text: string, format: BodyFormat): unknown[] | ShockError {
  if (format === 'json') {
    const parsed = parseJson(text);
    if (isShockError(parsed)) return parsed;
    if (!Array.isArray(parsed.value)) {
      return shockError('SHOCK_INGRESS_INVALID_EVENT', 'the batch must be a JSON array of events (or NDJSON)', {
        problems: [{ path: '/', message: 'must be array' }],
      });
    }
    return parsed.value;
  }
  const records: unknown[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;
    const parsed = parseJson(line);
    records.push(isShockError(parsed) ? parsed : parsed.value);
  }
  return records;
}

/** A pending append of one partition's events and the batch indexes they answer. */
interface Group {
  partition: number;
  indexes: number[];
  events: Prepared[];
}

/** POST /v1/events/batch: per-record results in order; a bad record never sinks the batch. */
async function ingestBatch(
  s: IngestState,
  ex: Exchange,
  principal: Principal,
  text: string,
  format: BodyFormat,
): Promise<void> {
  const tenant = principal.tenant;
  const items = parseBatch(text, format);
  if (!Array.isArray(items)) return fail(s, ex, items, 1);
  const n = items.length;
  if (n === 0) return fail(s, ex, shockError('SHOCK_INGRESS_BATCH_EMPTY', 'the batch holds no records'));
  if (n > s.limits.batchRecordsMax) {
    const err = shockError(
      'SHOCK_INGRESS_BATCH_TOO_LONG',
      `the batch holds more than ${s.limits.batchRecordsMax} records`,
      {
        records: n,
        batchRecordsMax: s.limits.batchRecordsMax,
      },
    );
    return fail(s, ex, err, n);
  }
  s.metrics.countReceived(tenant, n);
  s.counters.received += n;
  const outcomes: Array<Outcome | null> = new Array<Outcome | null>(n).fill(null);
  const prepared: Array<Prepared | null> = new Array<Prepared | null>(n).fill(null);
  let valid = 0;
  for (let i = 0; i < n; i++) {
    const item = items[i];
    const p = isShockError(item) ? item : prepare(s, principal, item, ex.receivedAtMs);
    if (isShockError(p)) {
      outcomes[i] = { ok: false, err: p, eventId: eventIdOf(item) };
    } else {
      prepared[i] = p;
      valid += 1;
    }
  }
  // Token bucket: the first `granted` valid records pass; the rest answer 429 each.
  const bucket = s.limiter.bucket(tenant);
  let granted = valid === 0 ? 0 : bucket.take(valid);
  if (granted < valid && s.limiter.options.mode === 'shadow') {
    shadowRateLimited(s, ex, tenant, valid - granted);
    granted = valid;
  }
  rateHeaders(s, ex, tenant);
  let seen = 0;
  let limited = 0;
  for (let i = 0; i < n; i++) {
    const p = prepared[i];
    if (p === null) continue;
    seen += 1;
    if (seen > granted) {
      limited += 1;
      prepared[i] = null;
      outcomes[i] = {
        ok: false,
        err: shockError('SHOCK_INGRESS_RATE_LIMITED', `tenant ${tenant} is over its rate`),
        eventId: p.eventId,
      };
    } else {
      s.shedder.observe(p.priority);
    }
  }
  if (limited > 0) {
    s.metrics.rateLimited.labels(tenant, 'enforce').inc(limited);
    s.counters.rateLimited += limited;
  }
  // Shedding: one assessment for the request, one seeded draw per record.
  if (granted > 0) {
    const pressure = s.shedder.assess(s.signals(), granted);
    if (pressure.ratio > s.shedder.options.delayStartRatio || pressure.p > 0) {
      await shedBatch(s, ex, pressure, prepared, outcomes);
    }
  }
  // Dedupe (against the window and within the batch), then one append per partition.
  const groups = new Map<number, Group>();
  const dups: Array<[number, DedupeEntry | number]> = [];
  const firstIndexOf = new Map<string, number>();
  const nowMs = s.clock.nowMs();
  for (let i = 0; i < n; i++) {
    const p = prepared[i];
    if (p === null) continue;
    if (p.clientId) {
      const entry = s.dedupe.get(tenant, p.eventId, nowMs);
      if (entry !== undefined) {
        dups.push([i, entry]);
        continue;
      }
      const first = firstIndexOf.get(p.eventId);
      if (first !== undefined) {
        dups.push([i, first]);
        continue;
      }
      firstIndexOf.set(p.eventId, i);
    }
    let g = groups.get(p.partition);
    if (g === undefined) {
      g = { partition: p.partition, indexes: [], events: [] };
      groups.set(p.partition, g);
    }
    g.indexes.push(i);
    g.events.push(p);
  }
  const appends: Array<Promise<void>> = [];
  for (const g of groups.values()) {
    if (!s.breaker.tryAcquire()) {
      const err = breakerOpen(s, ex);
      for (const i of g.indexes) outcomes[i] = { ok: false, err, eventId: prepared[i]!.eventId };
      continue;
    }
    appends.push(appendBatchGroup(s, tenant, g, outcomes));
  }
  await Promise.all(appends);
  for (const [i, ref] of dups) {
    const eventId = prepared[i]!.eventId;
    if (typeof ref === 'number') {
      const o = outcomes[ref]!;
      outcomes[i] = o.ok ? { ...o, eventId, duplicate: true } : { ok: false, err: o.err, eventId };
    } else {
      outcomes[i] = await duplicateOutcome(ref, eventId);
    }
  }
  answerBatch(s, ex, tenant, outcomes as Outcome[]);
}

async function appendBatchGroup(
  s: IngestState,
  tenant: string,
  g: Group,
  outcomes: Array<Outcome | null>,
): Promise<void> {
  const result = await appendGroup(s, tenant, g.partition, g.events);
  for (let k = 0; k < g.indexes.length; k++) {
    const e = g.events[k];
    outcomes[g.indexes[k]] = isShockError(result)
      ? { ok: false, err: result, eventId: e.eventId }
      : { ok: true, eventId: e.eventId, partition: g.partition, offset: result.baseOffset + k, duplicate: false };
  }
}

async function shedBatch(
  s: IngestState,
  ex: Exchange,
  pressure: Pressure,
  prepared: Array<Prepared | null>,
  outcomes: Array<Outcome | null>,
): Promise<void> {
  let delayMs = 0;
  let err: ShockError | null = null;
  const shadow = s.shedder.options.shadow;
  for (let i = 0; i < prepared.length; i++) {
    const p = prepared[i];
    if (p === null) continue;
    if (s.shedder.shouldShed(pressure, p.priority)) {
      s.metrics.shedDecisions.labels(shadow ? 'shadow' : 'shed', pressure.reason, p.priority).inc();
      if (shadow) {
        s.counters.shadowed += 1;
        ex.h.shadow = `shed;reason=${pressure.reason}`;
        continue;
      }
      s.counters.shed += 1;
      err ??= shed(s, ex, pressure);
      prepared[i] = null;
      outcomes[i] = { ok: false, err, eventId: p.eventId };
    } else if (pressure.delayMs > 0 && p.priority !== 'critical') {
      s.metrics.shedDecisions.labels(shadow ? 'shadow' : 'delay', pressure.reason, p.priority).inc();
      delayMs = pressure.delayMs;
    }
  }
  if (delayMs > 0) {
    if (shadow) {
      s.counters.shadowed += 1;
      ex.h.shadow = `delay;ms=${delayMs}`;
    } else {
      s.counters.delayed += 1;
      await sleep(delayMs);
    }
  }
}

function eventIdOf(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const id = (item as { event_id?: unknown }).event_id;
  return typeof id === 'string' && id.length <= 256 ? id : undefined;
}

/**
 * Writes the batch response: `{failedRecordCount, records}` where `records[i]` answers request record i. Partial
 * success is 202; when nothing was stored the status is the cause's (503 over 429 over the most common 4xx), with the
 * `error` object beside the records (CONVENTIONS.md §1–2).
 */
function answerBatch(s: IngestState, ex: Exchange, tenant: string, outcomes: Outcome[]): void {
  let failed = 0;
  let duplicates = 0;
  const statusCount = new Map<number, number>();
  let worst: ShockError | null = null;
  const parts: string[] = new Array<string>(outcomes.length);
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i];
    if (o.ok) {
      if (o.duplicate) duplicates += 1;
      parts[i] = acceptedBody(o.eventId, o.partition, o.offset, o.duplicate);
      continue;
    }
    failed += 1;
    countError(s, o.err.code, 1);
    parts[i] = recordFailureBody(o.err, o.eventId);
    const st = o.err.httpStatus;
    statusCount.set(st, (statusCount.get(st) ?? 0) + 1);
    if (worst === null || rank(o.err.httpStatus) > rank(worst.httpStatus)) worst = o.err;
  }
  if (duplicates > 0) {
    s.metrics.duplicates.labels(tenant).inc(duplicates);
    s.counters.duplicates += duplicates;
  }
  const records = `"failedRecordCount":${failed},"records":[${parts.join(',')}]`;
  if (failed < outcomes.length || worst === null) {
    // Something was stored: a 202 is not a limiter's or shedder's answer, whatever happened to some records.
    ex.h.shedReason = undefined;
    ex.h.retryAfterSec = undefined;
    sendBody(ex.res, 202, `{${records}}`, ex.h);
    return;
  }
  let status = worst.httpStatus;
  if (status !== 503 && status !== 429) {
    let most = 0;
    for (const [st, count] of statusCount) if (count > most) [status, most] = [st, count];
  }
  const jitter = s.limiter.options.retryJitterSecMax;
  if (status === 429) {
    ex.h.retryAfterSec = retryAfterSec(s.limiter.bucket(tenant).msUntilToken(), s.rng, jitter);
    ex.h.shedReason = 'rate_limited';
  } else if (status === 503) {
    if (worst.code === 'SHOCK_INGRESS_APPEND_FAILED') ex.h.shedReason = undefined;
    ex.h.retryAfterSec ??= retryAfterSec(0, s.rng, jitter);
  } else {
    ex.h.shedReason = undefined;
    ex.h.retryAfterSec = undefined;
  }
  const summary = shockError(
    worst.httpStatus === status ? worst.code : codeForStatus(status, worst.code),
    `no record of the batch was stored (${failed} failed)`,
    { failedRecordCount: failed },
  );
  const body = errorBody(summary);
  sendBody(ex.res, status, `${body.slice(0, -1)},${records}}`, ex.h);
}

/** Retriable statuses first: a client told to retry should retry. */
function rank(status: number): number {
  return status === 503 ? 3 : status === 429 ? 2 : 1;
}

function codeForStatus(status: number, fallback: ErrorCode): ErrorCode {
  switch (status) {
    case 400:
      return 'SHOCK_INGRESS_INVALID_EVENT';
    case 403:
      return 'SHOCK_INGRESS_FORBIDDEN';
    case 413:
      return 'SHOCK_INGRESS_RECORD_TOO_LARGE';
    default:
      return fallback;
  }
}
