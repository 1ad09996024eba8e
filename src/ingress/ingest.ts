/**
 * The two ingest flows, in the order of the ingest path (docs/ingress.md draws it with the status of each stage):
 *
 *   route/method (404/405) → auth (401/403) → empty bucket (429, before the body) → breaker open (503, before the
 *   body) → media type (415) → length (411/413) → body read within limits (413/408) → UTF-8 (400) → JSON (400)
 *   → nesting depth, finite numbers (400) → envelope + payload schema (400) → tenant/type permission (403)
 *   → record size (413) → token bucket (429) → shedder (503 or graduated delay) → dedupe window (202 duplicate)
 *   → breaker (503) → durable append → 202.
 *
 * Module-level functions over a per-request `Exchange`; the gateway state they share is `IngestState`.
 */
import { isShockError } from '../base/index.js';
import { rejection } from './rejection.js';
import type { Principal } from './auth.js';
import { ingestBatch } from './batch.js';
import { memberValueSpan } from './raw-json.js';
import { shapeRejection } from './json-shape.js';
import { bodyFormat, checkDeclaredLength, checkUtf8, parseJson, readBody } from './body.js';
import { acceptedBody, toShockError } from './respond.js';
import { prepare } from './prepare.js';
import {
  appendGroup,
  breakerOpen,
  duplicateOutcome,
  earlyRejection,
  fail,
  overload,
  partitionNow,
  rateLimited,
  reply,
  shadowRateLimited,
  type Exchange,
  type IngestState,
  type Outcome,
} from './stages.js';
import { retryAfterSec } from './token-bucket.js';

/** The whole ingest path of one request; never throws (an unexpected error answers 500 SHOCK_INTERNAL). */
export async function ingest(s: IngestState, ex: Exchange): Promise<void> {
  try {
    if (ex.req.method !== 'POST') {
      ex.h.allow = 'POST';
      return fail(s, ex, rejection('SHOCK_INGRESS_METHOD_NOT_ALLOWED', `${ex.req.method} is not allowed; use POST`));
    }
    if (s.draining) {
      ex.h.close = true;
      return fail(s, ex, rejection('SHOCK_INGRESS_SHUTTING_DOWN'));
    }
    const principal = s.auth.authenticate(ex.req.headers);
    if (isShockError(principal)) return fail(s, ex, principal);
    ex.principal = principal;
    const tenant = principal.tenant;
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
    if (ex.route === 'events') await ingestOne(s, ex, principal, body);
    else await ingestBatch(s, ex, principal, format, body);
  } catch (err) {
    const shock = toShockError(err);
    fail(s, ex, shock);
    if (shock.code === 'SHOCK_INTERNAL') throw shock;
  }
}

/** POST /v1/events: one event, 202 after its durable append. */
async function ingestOne(s: IngestState, ex: Exchange, principal: Principal, body: Buffer): Promise<void> {
  const tenant = principal.tenant;
  s.metrics.countReceived(tenant, 1);
  s.counters.received += 1;
  const parsed = parseJson(body.toString('utf8'));
  if (isShockError(parsed)) return fail(s, ex, parsed, 1);
  const shapeError = shapeRejection(body, 0, body.length, s.limits.eventDepthMax, parsed.value);
  if (shapeError !== null) return fail(s, ex, shapeError, 1);
  const span = memberValueSpan(body, 0, body.length, 'payload');
  const raw = span === null ? null : { buf: body, start: span[0], end: span[1] };
  const event = prepare(s, s.log.partitions, principal, parsed.value, ex.receivedAtMs, raw);
  if (isShockError(event)) return fail(s, ex, event, 1);
  const bucket = s.limiter.bucket(tenant);
  if (bucket.take(1) === 0) {
    if (s.limiter.options.mode === 'enforce') {
      const err = rateLimited(s, ex, tenant, 1);
      return fail(s, ex, err, 1);
    }
    shadowRateLimited(s, ex, tenant, 1);
  }
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
  const partition = partitionNow(s, event);
  const result = await appendGroup(s, tenant, partition, [event]);
  if (isShockError(result)) {
    ex.h.retryAfterSec = retryAfterSec(0, s.rng, s.limiter.options.retryJitterSecMax);
    return fail(s, ex, result, 1);
  }
  answerOne(s, ex, tenant, {
    ok: true,
    eventId: event.eventId,
    partition,
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
  reply(s, ex, 202, acceptedBody(outcome.eventId, outcome.partition, outcome.offset, outcome.duplicate));
}
