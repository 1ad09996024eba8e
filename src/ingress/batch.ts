/**
 * `POST /v1/events/batch`: a JSON array or NDJSON. Each record is validated on its own, then the token bucket grants
 * the first valid records, the shedder draws per record, duplicates are answered from the window, and the rest is
 * appended with one call per partition. `records[i]` answers request record i; `failedRecordCount` counts failures;
 * when nothing was stored the response takes the non-2xx status of its cause (CONVENTIONS.md §1–2).
 */
import { isShockError, type ErrorCode, type ShockError } from '../base/index.js';
import { rejection } from './rejection.js';
import type { Principal } from './auth.js';
import type { BodyFormat } from './body.js';
import type { DedupeEntry } from './dedupe.js';
import { acceptedBody, errorBody, recordFailureBody } from './respond.js';
import type { Pressure } from './shed.js';
import { appendedOffset } from '../log/index.js';
import {
  appendGroup,
  breakerOpen,
  countError,
  duplicateOutcome,
  fail,
  partitionNow,
  reply,
  shadowRateLimited,
  shed,
  sleep,
  type Exchange,
  type IngestState,
  type Outcome,
} from './stages.js';
import { prepareBatch, type BatchRejection, type Prepared, type PreparedBatch } from './prepare.js';
import { retryAfterSec } from './token-bucket.js';

/** A pending append of one partition's events and the batch indexes they answer. */
interface Group {
  partition: number;
  indexes: number[];
  events: Prepared[];
}

/** POST /v1/events/batch: per-record results in order; a bad record never sinks the batch. */
export async function ingestBatch(
  s: IngestState,
  ex: Exchange,
  principal: Principal,
  format: BodyFormat,
  body: Buffer,
): Promise<void> {
  const tenant = principal.tenant;
  const batch = await prepareOnAnyThread(s, ex, principal, body, format);
  if ('err' in batch) return fail(s, ex, batch.err, batch.records);
  const { prepared, failures } = batch;
  const n = prepared.length;
  s.metrics.countReceived(tenant, n);
  s.counters.received += n;
  const outcomes: Array<Outcome | null> = new Array<Outcome | null>(n).fill(null);
  for (let i = 0; i < n; i++) {
    const f = failures[i];
    if (f !== null) outcomes[i] = { ok: false, err: f.err, eventId: f.eventId };
  }
  const valid = batch.valid;
  // Token bucket: the first `granted` valid records pass; the rest answer 429 each.
  const bucket = s.limiter.bucket(tenant);
  let granted = valid === 0 ? 0 : bucket.take(valid);
  if (granted < valid && s.limiter.options.mode === 'shadow') {
    shadowRateLimited(s, ex, tenant, valid - granted);
    granted = valid;
  }
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
        err: rejection('SHOCK_INGRESS_RATE_LIMITED', `tenant ${tenant} is over its rate`),
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
    // The grouping and the appends below run in one synchronous stretch: the partition is the current log's.
    const partition = partitionNow(s, p);
    let g = groups.get(partition);
    if (g === undefined) {
      g = { partition, indexes: [], events: [] };
      groups.set(partition, g);
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

/** The batch prepared by a batch worker when one takes it (`batch-pool.ts`), else on this thread. */
async function prepareOnAnyThread(
  s: IngestState,
  ex: Exchange,
  principal: Principal,
  body: Buffer,
  format: BodyFormat,
): Promise<PreparedBatch | BatchRejection> {
  const onWorker = s.batchPool.submit(body, format, principal, s.log.partitions, ex.receivedAtMs);
  const result = onWorker === null ? null : await onWorker;
  if (result !== null) {
    s.counters.batchesOnWorker += 1;
    s.metrics.batchesPrepared.labels('worker').inc();
    return result;
  }
  s.counters.batchesInline += 1;
  s.metrics.batchesPrepared.labels('gateway').inc();
  return prepareBatch(s, s.log.partitions, principal, body, format, ex.receivedAtMs);
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
      : { ok: true, eventId: e.eventId, partition: g.partition, offset: appendedOffset(result, k), duplicate: false };
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
    reply(s, ex, 202, `{${records}}`);
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
  const summary = rejection(
    worst.httpStatus === status ? worst.code : codeForStatus(status, worst.code),
    `no record of the batch was stored (${failed} failed)`,
    { failedRecordCount: failed },
  );
  const body = errorBody(summary);
  reply(s, ex, status, `${body.slice(0, -1)},${records}}`);
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
