/**
 * The stages of the ingest path shared by the single-event and the batch flow: the per-request `Exchange`, the
 * gateway state the flows read (`IngestState`), early rejections (empty bucket, open breaker), event preparation
 * (validate, permission, defaults, encode, size, partition), the overload decision, and the durable append of one
 * partition's events with the dedupe window and breaker kept informed. Module-level functions, no per-request closures.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  assert,
  type Clock,
  type EventWriter,
  type ErrorCode,
  type Limits,
  type Priority,
  type Rng,
  type ShockError,
} from '../base/index.js';
import { rejection } from './rejection.js';
import { appendedOffset, type AppendResult, type Log } from '../log/index.js';
import type { Authenticator, Principal } from './auth.js';
import type { DedupeEntry, DedupeWindow } from './dedupe.js';
import type { EventIdGenerator } from './event-id.js';
import type { GatewayMetrics } from './metrics.js';
import { partitionForKey } from './partition.js';
import { errorBody, errorHeaders, sendBody, type ResponseHeaders } from './respond.js';
import type { CircuitBreaker } from './breaker.js';
import type { OverloadSignals, Pressure, Shedder } from './shed.js';
import { retryAfterSec, type TenantLimiter } from './token-bucket.js';
import type { EventValidator } from './validate.js';
import type { BatchPool } from './batch-pool.js';
import type { Prepared } from './prepare.js';

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
  /** Batches prepared on a batch worker, and on the gateway's own thread. */
  batchesOnWorker: number;
  batchesInline: number;
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
  /** Encodes prepared events and their keys into shared slabs. */
  readonly writer: EventWriter;
  /** Batch workers (large batches are prepared there). */
  readonly batchPool: BatchPool;
  readonly metrics: GatewayMetrics;
  readonly counters: IngestCounters;
  /** Events awaiting their durable append. */
  inflightEvents: number;
  draining: boolean;
  signals(): OverloadSignals;
  onAppendError(err: unknown, partition: number): void;
  /** Accounts one answered request (status 499 when the client was gone before the answer). */
  finished(ex: Exchange, status: number): void;
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
  /** Set by `reply`: each exchange is answered and accounted exactly once. */
  answered: boolean;
}

/**
 * The event's partition in the log as it is now. A reshard may change the log's partition count while a request
 * waits between `prepare` and its append (a shedding delay); the append must use the count of the log it goes to,
 * so call this in the same synchronous stretch as the append. One comparison unless a reshard happened.
 */
export function partitionNow(s: IngestState, e: Prepared): number {
  const partitions = s.log.partitions;
  return e.partitionsAt === partitions ? e.partition : partitionForKey(e.keyBytes, partitions);
}

/** Outcome of one record in a batch (or of the single event). */
export type Outcome =
  | { ok: true; eventId: string; partition: number; offset: number; duplicate: boolean }
  | { ok: false; err: ShockError; eventId: string | undefined };

/**
 * Every ingest exchange ends here, once: the response is written (unless the client is gone: counted as 499,
 * nginx's "client closed request") and the request is accounted.
 */
export function reply(s: IngestState, ex: Exchange, status: number, body: string): void {
  if (ex.answered) return;
  ex.answered = true;
  // The tenant's RateLimit headers, as the bucket stands when the answer goes out (a 429 says r=0).
  if (ex.principal !== null) rateHeaders(s, ex, ex.principal.tenant, status === 429);
  s.finished(ex, sendBody(ex.res, status, body, ex.h) ? status : 499);
}

/** Answers a whole-request failure and counts it. */
export function fail(s: IngestState, ex: Exchange, err: ShockError, events = 0): void {
  countError(s, err.code, events);
  errorHeaders(err, ex.h);
  reply(s, ex, err.httpStatus, errorBody(err));
}

export function countError(s: IngestState, code: ErrorCode, events: number): void {
  s.metrics.errors.labels(code).inc();
  if (events > 0) {
    s.metrics.countDiscarded(code, events);
    s.counters.rejected += events;
    s.counters.rejectedByCode.set(code, (s.counters.rejectedByCode.get(code) ?? 0) + events);
  }
}

/** Sets the tenant's RateLimit headers on the response; `refused`: the answer is the limiter's 429. */
export function rateHeaders(s: IngestState, ex: Exchange, tenant: string, refused: boolean): void {
  ex.h.rateLimitPolicy = s.limiter.policyHeader(tenant);
  ex.h.rateLimit = s.limiter.stateHeader(tenant, refused);
}

/** Rejections decided before reading the body: an empty token bucket (429) or an open breaker (503). */
export function earlyRejection(s: IngestState, ex: Exchange, tenant: string): ShockError | null {
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

export function rateLimited(s: IngestState, ex: Exchange, tenant: string, events: number): ShockError {
  const bucket = s.limiter.bucket(tenant);
  ex.h.retryAfterSec = retryAfterSec(bucket.msUntilToken(), s.rng, s.limiter.options.retryJitterSecMax);
  ex.h.shedReason = 'rate_limited';
  s.metrics.rateLimited.labels(tenant, 'enforce').inc(events);
  s.counters.rateLimited += events;
  return rejection('SHOCK_INGRESS_RATE_LIMITED', `tenant ${tenant} is over its rate; retry after the delay`, {
    tenant,
    retryAfterSec: ex.h.retryAfterSec,
  });
}

export function breakerOpen(s: IngestState, ex: Exchange): ShockError {
  ex.h.retryAfterSec = retryAfterSec(s.breaker.msUntilProbe(), s.rng, s.limiter.options.retryJitterSecMax);
  ex.h.shedReason = 'breaker_open';
  return rejection('SHOCK_INGRESS_STORAGE_UNAVAILABLE', 'the log is failing; the circuit breaker is open', {
    breaker: 'open',
    retryAfterSec: ex.h.retryAfterSec,
  });
}

export function shed(s: IngestState, ex: Exchange, pressure: Pressure): ShockError {
  ex.h.retryAfterSec = retryAfterSec(0, s.rng, s.limiter.options.retryJitterSecMax);
  ex.h.shedReason = pressure.reason;
  return rejection('SHOCK_INGRESS_SHED', `the server is overloaded (${pressure.reason}); retry after the delay`, {
    reason: pressure.reason,
    loadRatio: Math.round(pressure.ratio * 1000) / 1000,
  });
}

/** Appends one partition's events (durable on return) and keeps the dedupe window and breaker informed. */
export async function appendGroup(
  s: IngestState,
  tenant: string,
  partition: number,
  events: Prepared[],
): Promise<AppendResult | ShockError> {
  // The id makes a retried append idempotent in an engine that deduplicates (JetStream): the event's identity.
  const records = events.map((e) => ({
    key: e.keyBytes,
    value: e.value,
    timestampMs: 0,
    id: recordId(tenant, e.eventId),
  }));
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
      entry.offset = appendedOffset(result, entry.index);
      entry.pending = null;
    }
    s.metrics.observeAppend((s.clock.monoMs() - startMs) / 1000, events.length);
    s.metrics.countAccepted(tenant, partition, events.length);
    s.counters.accepted += events.length;
    s.counters.acceptedByTenant.set(tenant, (s.counters.acceptedByTenant.get(tenant) ?? 0) + events.length);
    s.counters.acceptedByPartition[partition] = (s.counters.acceptedByPartition[partition] ?? 0) + events.length;
    return result;
  } catch (err) {
    for (const [id, entry] of entries) s.dedupe.remove(tenant, id, entry);
    if ((err as ShockError)?.code === 'SHOCK_LOG_FULL') return logFull(s, err as ShockError, events.length);
    const clientFault = err !== null && typeof err === 'object' && (err as ShockError).httpStatus < 500;
    if (clientFault) s.breaker.onSuccess();
    else s.breaker.onFailure();
    s.onAppendError(err, partition);
    if (clientFault) return err as ShockError;
    const cause = (err as ShockError)?.code ?? (err as Error)?.message ?? String(err);
    return rejection(
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

/**
 * The log is full (its unconsumed records at the retention limit): backpressure, not a fault — the log answered, so
 * the breaker counts a success, and nothing is logged per request (the log reports the full state once). The answer
 * is the log's own retriable 503 SHOCK_LOG_FULL; the response adds `Retry-After`.
 */
function logFull(s: IngestState, err: ShockError, events: number): ShockError {
  s.breaker.onSuccess();
  s.metrics.logFull.inc(events);
  return rejection('SHOCK_LOG_FULL', err.message, err.details as Record<string, unknown>, err);
}

/** The outcome of a duplicate: the original's partition and offset once its append has settled. */
export async function duplicateOutcome(entry: DedupeEntry, eventId: string): Promise<Outcome> {
  if (entry.pending !== null) {
    try {
      const r = await entry.pending;
      return { ok: true, eventId, partition: entry.partition, offset: appendedOffset(r, entry.index), duplicate: true };
    } catch {
      const err = rejection('SHOCK_INGRESS_APPEND_FAILED', 'the original append of this event id failed; retry', {
        partition: entry.partition,
      });
      return { ok: false, err, eventId };
    }
  }
  return { ok: true, eventId, partition: entry.partition, offset: entry.offset, duplicate: true };
}

/** A log record's idempotency id: the event's identity `(tenant, event_id)`, one string. */
export function recordId(tenant: string, eventId: string): string {
  return `${tenant}\u0000${eventId}`;
}

/** Waits `ms` (graduated delay). One timer per delayed request; no timer when there is no delay. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Overload decision for a request: shed (returns the 503), delay (awaits), shadow (counts), or nothing. */
export async function overload(
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

export function shadowRateLimited(s: IngestState, ex: Exchange, tenant: string, events: number): void {
  s.metrics.rateLimited.labels(tenant, 'shadow').inc(events);
  s.counters.shadowed += events;
  ex.h.shadow = 'rate_limited';
}
