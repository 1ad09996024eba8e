/**
 * The one place that turns a nats.js failure into a SHOCK_* error, keeping the original as `cause`
 * (nats.js `parseJsResponse` does the same for JetStream API answers).
 */
import { isShockError, shockError, type ShockError } from '../../base/index.js';

/** JetStream API error codes (nats-server `server/errors.json`) that this log tells apart. */
export const JsErrCode = {
  streamNotFound: 10059,
  wrongLastSequence: 10071,
  wrongLastMsgId: 10070,
  messageNotFound: 10037,
} as const;

interface NatsLikeError {
  code?: unknown;
  message?: unknown;
  api_error?: { code?: number; err_code?: number; description?: string };
}

/** The JetStream API error code of `err`, if it is one. */
export function jsErrCode(err: unknown): number | undefined {
  const e = err as NatsLikeError | undefined;
  return e?.api_error?.err_code;
}

/**
 * Translates `err` raised while doing `operation`. Unreachable or slow servers (timeouts, no responders, a closed or
 * reconnecting connection) and anything unknown are SHOCK_LOG_IO (retriable); a concurrent writer moving the
 * partition's end is SHOCK_LOG_APPEND_CONFLICT; a payload above the server's max_payload is
 * SHOCK_LOG_RECORD_TOO_LARGE.
 */
export function translateNatsError(err: unknown, operation: string, details: Record<string, unknown>): ShockError {
  if (isShockError(err)) return err;
  const e = (err ?? {}) as NatsLikeError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const api = e.api_error;
  const reason = api?.description ?? (typeof e.message === 'string' ? e.message : String(err));
  const all = { ...details, natsCode: code, jsErrCode: api?.err_code, reason };
  if (api?.err_code === JsErrCode.wrongLastSequence || api?.err_code === JsErrCode.wrongLastMsgId) {
    return shockError(
      'SHOCK_LOG_APPEND_CONFLICT',
      `${operation}: the partition's end moved under this append (${reason})`,
      { ...all, hint: 'another writer appended, or an earlier append of this log failed; retry the append' },
      err,
    );
  }
  if (code === 'MAX_PAYLOAD_EXCEEDED') {
    return shockError(
      'SHOCK_LOG_RECORD_TOO_LARGE',
      `${operation}: the record exceeds the server's max_payload`,
      all,
      err,
    );
  }
  return shockError('SHOCK_LOG_IO', `${operation} failed: ${reason}${hintFor(code)}`, all, err);
}

function hintFor(code: string | undefined): string {
  switch (code) {
    case 'TIMEOUT':
      return ' (no answer from the NATS server in time: is it running, and is JetStream reachable?)';
    case '503':
      return ' (no responders: JetStream is not enabled on the server, or the stream has no leader)';
    case 'CONNECTION_REFUSED':
    case 'DISCONNECT':
    case 'CONNECTION_CLOSED':
      return ' (the connection to the NATS server is down)';
    default:
      return '';
  }
}
