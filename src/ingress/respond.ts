/**
 * The one place the gateway turns outcomes into HTTP (fastify `lib/error-handler.js`): errors become
 * `{error: {code, message, details}}` with the registry's status, plus `Retry-After` for retriable 429/503,
 * `x-shock-shed: <reason>` when the limiter or shedder made the answer, and the tenant's RateLimit headers.
 * Success bodies have fixed shapes and are written by template, not `JSON.stringify` of a generic object.
 */
import { STATUS_CODES, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { isShockError, ShockError, type ErrorCode } from '../base/index.js';

/** Headers a response carries beyond content type and length. */
export interface ResponseHeaders {
  /** `Retry-After` seconds (set for 429 and 503). */
  retryAfterSec?: number;
  /** `x-shock-shed` reason when the limiter or shedder decided. */
  shedReason?: string;
  /** `x-shock-shadow`: what a shadow-mode limit would have done. */
  shadow?: string;
  /** `RateLimit-Policy` and `RateLimit` values. */
  rateLimitPolicy?: string;
  rateLimit?: string;
  /** Close the connection after this response (body not read, or draining). */
  close?: boolean;
  /** `Allow` header of a 405. */
  allow?: string;
}

/** Any thrown value as a ShockError (unknown ones become SHOCK_INTERNAL, keeping the original as `cause`). */
export function toShockError(err: unknown): ShockError {
  if (isShockError(err)) return err;
  return new ShockError('SHOCK_INTERNAL', {
    message: `internal error: ${(err as Error)?.message ?? String(err)}`,
    cause: err,
  });
}

/** The JSON body of an error. */
export function errorBody(err: ShockError): string {
  return `{"error":${JSON.stringify(err.toJSON())}}`;
}

function headersOf(h: ResponseHeaders, bytes: number): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': bytes,
  };
  if (h.retryAfterSec !== undefined) out['retry-after'] = String(h.retryAfterSec);
  if (h.shedReason !== undefined) out['x-shock-shed'] = h.shedReason;
  if (h.shadow !== undefined) out['x-shock-shadow'] = h.shadow;
  if (h.rateLimitPolicy !== undefined) out['ratelimit-policy'] = h.rateLimitPolicy;
  if (h.rateLimit !== undefined) out['ratelimit'] = h.rateLimit;
  if (h.close === true) out['connection'] = 'close';
  if (h.allow !== undefined) out['allow'] = h.allow;
  return out;
}

/** Writes a JSON body (already serialized) with `status`; false when the response could not be written. */
export function sendBody(res: ServerResponse, status: number, body: string, h: ResponseHeaders): boolean {
  if (res.headersSent || res.destroyed) return false;
  res.writeHead(status, headersOf(h, Buffer.byteLength(body)));
  res.end(body);
  return true;
}

/** Headers every error carries: `Retry-After` (1 s unless set) on retriable 429/503. */
export function errorHeaders(err: ShockError, h: ResponseHeaders): void {
  if ((err.httpStatus === 503 || err.httpStatus === 429) && h.retryAfterSec === undefined) h.retryAfterSec = 1;
}

/** Writes an error in the project's shape, with its status and headers. */
export function sendError(res: ServerResponse, err: ShockError, h: ResponseHeaders): void {
  errorHeaders(err, h);
  sendBody(res, err.httpStatus, errorBody(err), h);
}

/** The 202 body of one stored event. */
export function acceptedBody(eventId: string, partition: number, offset: number, duplicate: boolean): string {
  return duplicate
    ? `{"event_id":${JSON.stringify(eventId)},"partition":${partition},"offset":${offset},"duplicate":true}`
    : `{"event_id":${JSON.stringify(eventId)},"partition":${partition},"offset":${offset}}`;
}

/** One batch result: a success `{event_id, partition, offset[, duplicate]}` or a failure (Kinesis PutRecords). */
export function recordFailureBody(err: ShockError, eventId: string | undefined): string {
  const id = eventId === undefined ? '' : `"event_id":${JSON.stringify(eventId)},`;
  const details = Object.keys(err.details).length === 0 ? '' : `,"details":${JSON.stringify(err.details)}`;
  return `{${id}"errorCode":"${err.code}","errorMessage":${JSON.stringify(err.message)},"retriable":${err.retriable}${details}}`;
}

/** Parser-level failures (before a request exists) mapped to codes. */
function clientErrorCode(code: string | undefined): ErrorCode {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'SHOCK_INGRESS_HEADERS_TOO_LARGE';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'SHOCK_INGRESS_REQUEST_TIMEOUT';
    default:
      return 'SHOCK_INGRESS_BAD_REQUEST';
  }
}

/**
 * `clientError` listener: malformed HTTP, oversized headers, a request that did not arrive in time. Answers with
 * the project's JSON error when the socket can still take a response, then closes it.
 */
export function onClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (current !== undefined && current !== null && current.headersSent) {
    socket.destroy();
    return;
  }
  const code = clientErrorCode(err.code);
  const shock = new ShockError(code, { details: { parserError: err.code ?? 'unknown' } });
  const body = errorBody(shock);
  socket.end(
    `HTTP/1.1 ${shock.httpStatus} ${STATUS_CODES[shock.httpStatus]}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
}
