/**
 * Reading request bodies within limits: a declared `Content-Length` above `bodyBytesMax` is refused before any byte
 * is read (413, connection closed); a chunked body is counted while it streams and refused as soon as it passes the
 * limit. A POST with neither length nor chunked encoding gets 411. Bytes must be valid UTF-8 (400) before parsing.
 */
import type { IncomingMessage } from 'node:http';
import { isUtf8 } from 'node:buffer';
import type { ShockError } from '../base/index.js';
import { rejection } from './rejection.js';

/** How the body is framed: one JSON value, or NDJSON (one JSON value per line). */
export type BodyFormat = 'json' | 'ndjson';

/**
 * The body format from `Content-Type`, or a 415. JSON: `application/json`; NDJSON (batch only):
 * `application/x-ndjson`, `application/ndjson`, `application/jsonl`. A charset other than UTF-8 is refused.
 */
export function bodyFormat(contentType: string | undefined, ndjsonAllowed: boolean): BodyFormat | ShockError {
  if (contentType === undefined) return unsupported(contentType, ndjsonAllowed);
  const semi = contentType.indexOf(';');
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (semi !== -1) {
    const params = contentType.slice(semi + 1).toLowerCase();
    const m = /charset\s*=\s*"?([^";\s]+)/.exec(params);
    if (m !== null && m[1] !== 'utf-8' && m[1] !== 'utf8') return unsupported(contentType, ndjsonAllowed);
  }
  if (type === 'application/json') return 'json';
  if (
    ndjsonAllowed &&
    (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl')
  ) {
    return 'ndjson';
  }
  return unsupported(contentType, ndjsonAllowed);
}

function unsupported(contentType: string | undefined, ndjsonAllowed: boolean): ShockError {
  const accepted = ndjsonAllowed ? ['application/json', 'application/x-ndjson'] : ['application/json'];
  return rejection('SHOCK_INGRESS_UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${accepted.join(' or ')}`, {
    contentType: contentType ?? null,
    accepted,
  });
}

/** A 411/413 decided from the headers alone, before reading; null when the body may be read. */
export function checkDeclaredLength(req: IncomingMessage, bodyBytesMax: number): ShockError | null {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    // node's parser has already refused non-numeric and conflicting lengths (400 via clientError).
    const bytes = Number(declared);
    if (bytes > bodyBytesMax) return tooLarge(bytes, bodyBytesMax);
    return null;
  }
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.toLowerCase().includes('chunked')) return null;
  return rejection('SHOCK_INGRESS_LENGTH_REQUIRED', 'send a Content-Length header or a chunked body', {});
}

function tooLarge(bytes: number, bodyBytesMax: number): ShockError {
  return rejection('SHOCK_INGRESS_BODY_TOO_LARGE', `the body is larger than ${bodyBytesMax} bytes`, {
    bytes,
    bodyBytesMax,
  });
}

interface BodyState {
  chunks: Buffer[];
  bytes: number;
  bytesMax: number;
  resolve: (body: Buffer) => void;
  reject: (err: ShockError) => void;
  done: boolean;
}

const kBody = Symbol('shock.body');
type BodyRequest = IncomingMessage & { [kBody]?: BodyState };

function onData(this: BodyRequest, chunk: Buffer): void {
  const s = this[kBody]!;
  if (s.done) return;
  s.bytes += chunk.length;
  if (s.bytes > s.bytesMax) {
    s.done = true;
    s.chunks.length = 0;
    this.pause();
    s.reject(tooLarge(s.bytes, s.bytesMax));
    return;
  }
  s.chunks.push(chunk);
}

function onEnd(this: BodyRequest): void {
  const s = this[kBody]!;
  if (s.done) return;
  s.done = true;
  s.resolve(s.chunks.length === 1 ? s.chunks[0] : Buffer.concat(s.chunks, s.bytes));
}

function onAbort(this: BodyRequest): void {
  const s = this[kBody]!;
  if (s.done) return;
  s.done = true;
  s.reject(rejection('SHOCK_INGRESS_REQUEST_TIMEOUT', 'the request body did not arrive completely', {}));
}

/** Reads the whole body, refusing it (413) as soon as it passes `bytesMax`. */
export function readBody(req: IncomingMessage, bytesMax: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    (req as BodyRequest)[kBody] = { chunks: [], bytes: 0, bytesMax, resolve, reject, done: false };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  });
}

/** 400 unless `body` is valid UTF-8. */
export function checkUtf8(body: Buffer): ShockError | null {
  if (isUtf8(body)) return null;
  return rejection('SHOCK_INGRESS_INVALID_UTF8', 'the body is not valid UTF-8', {});
}

/** Parses JSON or returns a 400 naming the parser's complaint. */
export function parseJson(text: string): { value: unknown } | ShockError {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return rejection('SHOCK_INGRESS_INVALID_JSON', `the body is not valid JSON: ${(err as Error).message}`, {});
  }
}
