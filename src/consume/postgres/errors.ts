/**
 * The one place PostgreSQL failures become project errors (nats.js `parseJsResponse`), the original kept as `cause`:
 * - cannot connect, connection lost, server shutting down or starting, authentication or unknown database →
 *   SHOCK_SINK_UNREACHABLE (check the URL and that PostgreSQL runs; the consumer retries and redelivers);
 * - everything else the server or the driver reports → SHOCK_SINK_IO with PostgreSQL's SQLSTATE;
 * - our own errors (fencing, schema version) pass through.
 * Passwords never reach a message: only the URL's host, port and database are shown.
 */
import { isShockError, shockError } from '../../base/index.js';

/** Node socket errors that mean "no server there" or "the server went away". */
const socketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
]);

/**
 * SQLSTATE classes and codes that mean the connection is unusable: 08 connection exception, 28 invalid
 * authorization, 3D000 invalid catalog name (no such database), 57P01–57P03 admin/crash shutdown, cannot connect now.
 */
function unreachableState(state: string): boolean {
  return state.startsWith('08') || state.startsWith('28') || state === '3D000' || /^57P0[123]$/.test(state);
}

/** Driver messages of a lost or never-established connection (they carry no code). */
const lostConnection = /Connection terminated|connection timeout|timeout expired|Query read timeout|not queryable/i;

/**
 * `postgres://user:secret@host:5432/db?x` → `host:5432/db`, and `postgres://user@/db?host=/run/pg&port=5433` →
 * `/run/pg:5433/db` (what an operator may see: never the user's password).
 */
export function describeUrl(url: string): string {
  const m = /^postgres(?:ql)?:\/\/(?:[^/?]*@)?([^/?]*)(\/[^?]*)?(?:\?(.*))?$/.exec(url);
  if (m === null) return '<not a postgres:// URL>';
  const query = new URLSearchParams(m[3] ?? '');
  const hostPort =
    m[1] !== '' ? m[1] : `${query.get('host') ?? 'localhost'}${query.has('port') ? `:${query.get('port')}` : ''}`;
  return `${hostPort}${m[2] ?? ''}`;
}

/** Translates any failure of `op` on the sink at `where` (see the header). */
export function translatePostgresError(err: unknown, op: string, where: string): unknown {
  if (isShockError(err)) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  const sqlState = code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  const unreachable =
    (code !== undefined && socketCodes.has(code)) ||
    (sqlState !== undefined && unreachableState(sqlState)) ||
    (sqlState === undefined && lostConnection.test(message));
  if (unreachable) {
    return shockError(
      'SHOCK_SINK_UNREACHABLE',
      `sink ${op} failed: cannot use PostgreSQL at ${where}: ${message}`,
      {
        where,
        op,
        sqlState,
        socketCode: sqlState === undefined ? code : undefined,
        hint:
          'check sink.postgres.url (host, port, database, user, password) and that PostgreSQL is running and ' +
          'accepts connections (pg_isready -d URL)' +
          (op === 'open' ? '' : '; the consumers retry and redeliver'),
      },
      err,
    );
  }
  return shockError(
    'SHOCK_SINK_IO',
    `sink ${op} failed on PostgreSQL at ${where}: ${message}`,
    {
      where,
      op,
      sqlState,
      hint:
        'the message has PostgreSQL’s reason (SQLSTATE in details)' +
        (op === 'open'
          ? '; the role may need CREATE on the database to create the schema'
          : '; the consumer retries and redelivers'),
    },
    err,
  );
}
