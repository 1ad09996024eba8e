/**
 * Small JSON-over-HTTP helpers for the cell's own routes (stats, health, admin): bounded body reads and the one
 * error shape of the project, `{error: {code, message, details}}` with the registry's status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isShockError, shockError, ShockError } from '../base/index.js';

/** Largest admin request body; admin bodies are tiny (a tenant, a quota). */
export const adminBodyBytesMax = 64 * 1024;

/** Writes `value` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** Writes any error in the project's shape (with `extraHeaders`); non-ShockErrors become SHOCK_INTERNAL (500). */
export function sendError(res: ServerResponse, err: unknown, extraHeaders: Record<string, string> = {}): void {
  const e = isShockError(err)
    ? err
    : new ShockError('SHOCK_INTERNAL', { message: `internal error: ${(err as Error)?.message ?? String(err)}` });
  const headers: Record<string, string> = { ...extraHeaders };
  if (e.httpStatus === 503) headers['retry-after'] = '1';
  if (!res.headersSent) sendJson(res, e.httpStatus, { error: e.toJSON() }, headers);
  else res.destroy();
}

/** Reads a JSON object body of at most `bytesMax` bytes (empty body: `{}`). */
export async function readJsonObject(
  req: IncomingMessage,
  bytesMax = adminBodyBytesMax,
): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > bytesMax) {
      throw shockError('SHOCK_CELL_ADMIN_INVALID', `the request body exceeds ${bytesMax} bytes`, { bytesMax });
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw shockError('SHOCK_CELL_ADMIN_INVALID', 'the request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw shockError('SHOCK_CELL_ADMIN_INVALID', 'the request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
