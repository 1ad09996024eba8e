/**
 * The CLI's client of a running cell's admin API (`shock dlq`, and any command that acts on a live cell): one JSON
 * request, the cell's own error answer turned back into the same ShockError (code, message, details), and a clear
 * SHOCK_CLI_ADMIN_UNREACHABLE when nothing answers.
 */
import { errorRegistry, ShockError, shockError, type ErrorCode } from '../base/index.js';

/** The admin address `shock serve` uses by default. */
export const adminUrlDefault = 'http://127.0.0.1:8081';

/** Sends one request to the admin API and returns its JSON answer; an error answer is thrown as its ShockError. */
export async function adminRequest<T>(
  adminUrl: string,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<T> {
  let url: URL;
  try {
    url = new URL(path, adminUrl);
  } catch {
    throw shockError('SHOCK_CLI_USAGE', `--admin must be a URL like ${adminUrlDefault}, got "${adminUrl}"`);
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw shockError(
      'SHOCK_CLI_ADMIN_UNREACHABLE',
      `no cell admin API answers at ${url.origin} (${cause})`,
      { admin: url.origin, hint: 'start shock serve, or pass --admin with the admin URL it printed' },
      err,
    );
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw shockError(
      'SHOCK_CLI_ADMIN_UNREACHABLE',
      `${url.origin} answered ${res.status} with something that is not the admin API`,
      {
        admin: url.origin,
        status: res.status,
      },
    );
  }
  if (!res.ok) {
    const e = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } }).error;
    const code = e?.code !== undefined && e.code in errorRegistry ? (e.code as ErrorCode) : 'SHOCK_INTERNAL';
    throw new ShockError(code, {
      message: e?.message ?? `the admin API answered ${res.status}`,
      details: e?.details ?? {},
    });
  }
  return parsed as T;
}
