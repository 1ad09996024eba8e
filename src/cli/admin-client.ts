/**
 * The CLI's client of a running cell's admin API (`shock dlq`, `shock reshard`, and any command that acts on a live
 * cell): one JSON request with the admin token, the cell's own error answer turned back into the same ShockError
 * (code, message, details), and a clear SHOCK_CLI_ADMIN_UNREACHABLE when nothing answers.
 *
 * The token comes from `--admin-token`, else `SHOCK_ADMIN_TOKEN`, else the file the cell keeps it in,
 * `<--data-dir>/admin-token` (default `./shock-data`, as `shock serve`).
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorRegistry, ShockError, shockError, type ErrorCode } from '../base/index.js';

/** The admin address `shock serve` uses by default. */
export const adminUrlDefault = 'http://127.0.0.1:8081';

/** The data directory `shock serve` uses by default. */
export const dataDirDefault = './shock-data';

/** Where the admin API is and how to authenticate to it. */
export interface AdminTarget {
  url: string;
  /** The admin token; null when none was found (the request is sent without, and the 401 says what to do). */
  token: string | null;
  /** Where the token came from, or where it was looked for (named in errors). */
  tokenFrom: string;
}

/** The options every admin command takes (commander's camel-cased names). */
export interface AdminOptions {
  admin: string;
  adminToken?: string;
  dataDir?: string;
}

/** Adds `--admin`, `--admin-token` and `--data-dir` to a command. */
export function adminOptions(command: Command): Command {
  return command
    .option('--admin <url>', 'admin API of the cell', adminUrlDefault)
    .option('--data-dir <dir>', `the cell's data directory, where its admin token is kept (default ${dataDirDefault})`)
    .option('--admin-token <token>', 'the admin token (default: $SHOCK_ADMIN_TOKEN, else DATA_DIR/admin-token)');
}

/** Finds the admin token: `--admin-token`, then `SHOCK_ADMIN_TOKEN`, then `<data dir>/admin-token`. */
export function adminTarget(opts: AdminOptions, env: NodeJS.ProcessEnv = process.env): AdminTarget {
  if (opts.adminToken !== undefined && opts.adminToken !== '') {
    return { url: opts.admin, token: opts.adminToken, tokenFrom: '--admin-token' };
  }
  const fromEnv = env.SHOCK_ADMIN_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '')
    return { url: opts.admin, token: fromEnv, tokenFrom: 'SHOCK_ADMIN_TOKEN' };
  const file = resolve(join(opts.dataDir ?? dataDirDefault, 'admin-token'));
  try {
    return { url: opts.admin, token: readFileSync(file, 'utf8').trim(), tokenFrom: file };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (opts.dataDir !== undefined || code !== 'ENOENT') {
      throw shockError(
        'SHOCK_CLI_INPUT_UNREADABLE',
        `cannot read the admin token ${file} (${code ?? (err as Error).message})`,
        { file, hint: "pass the cell's --data-dir, or its token with --admin-token or SHOCK_ADMIN_TOKEN" },
        err,
      );
    }
    return { url: opts.admin, token: null, tokenFrom: `${file} (missing)` };
  }
}

/** Sends one request to the admin API and returns its JSON answer; an error answer is thrown as its ShockError. */
export async function adminRequest<T>(
  target: AdminTarget,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<T> {
  let url: URL;
  try {
    url = new URL(path, target.url);
  } catch {
    throw shockError('SHOCK_CLI_USAGE', `--admin must be a URL like ${adminUrlDefault}, got "${target.url}"`);
  }
  const headers: Record<string, string> = {};
  if (target.token !== null) headers.authorization = `Bearer ${target.token}`;
  // The admin API refuses a POST or PUT without a JSON content type (no web page can send one cross-origin).
  if (method !== 'GET') headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
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
  if (!res.ok) throw answerError(parsed, res.status, target);
  return parsed as T;
}

function answerError(parsed: unknown, status: number, target: AdminTarget): ShockError {
  const e = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } }).error;
  const code = e?.code !== undefined && e.code in errorRegistry ? (e.code as ErrorCode) : 'SHOCK_INTERNAL';
  let message = e?.message ?? `the admin API answered ${status}`;
  const details = { ...e?.details };
  if (code === 'SHOCK_CELL_ADMIN_UNAUTHENTICATED') {
    message += target.token === null ? `; no token found in ${target.tokenFrom}` : ` (token from ${target.tokenFrom})`;
    details.hint =
      "pass the cell's --data-dir (the token is kept in DATA_DIR/admin-token), or its token with --admin-token or " +
      'the SHOCK_ADMIN_TOKEN environment variable';
  }
  return new ShockError(code, { message, details });
}
