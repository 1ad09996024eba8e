/**
 * The PostgreSQL sink's one error translation: which failures say "cannot reach the database" and which are other
 * sink failures, and that an operator sees where the database is but never its password.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeUrl, translatePostgresError } from '../../../src/consume/postgres/errors.js';
import { shockError } from '../../../src/base/index.js';

test('postgres errors - a URL is described without its credentials', () => {
  assert.equal(describeUrl('postgres://u:s3cret@db:6543/events?sslmode=require'), 'db:6543/events');
  assert.equal(describeUrl('postgresql://u:p@ss@db/events'), 'db/events');
  assert.equal(describeUrl('postgres://u@/events?host=/run/postgresql&port=5433'), '/run/postgresql:5433/events');
  assert.equal(describeUrl('postgres://[::1]:5432/db'), '[::1]:5432/db');
  assert.equal(describeUrl('mysql://u:p@h/db'), '<not a postgres:// URL>');
});

test('postgres errors - unreachable, lost or refused connections are SHOCK_SINK_UNREACHABLE; the rest SHOCK_SINK_IO', () => {
  const code = (err: unknown) => (translatePostgresError(err, 'write', 'h:1/db') as { code: string }).code;
  const withCode = (c: string, message = 'x') => Object.assign(new Error(message), { code: c });
  assert.equal(code(withCode('ECONNREFUSED')), 'SHOCK_SINK_UNREACHABLE');
  assert.equal(code(withCode('ECONNRESET')), 'SHOCK_SINK_UNREACHABLE');
  assert.equal(code(new Error('Connection terminated unexpectedly')), 'SHOCK_SINK_UNREACHABLE');
  assert.equal(code(new Error('timeout expired')), 'SHOCK_SINK_UNREACHABLE');
  assert.equal(code(withCode('28P01', 'password authentication failed')), 'SHOCK_SINK_UNREACHABLE');
  assert.equal(code(withCode('3D000', 'database "x" does not exist')), 'SHOCK_SINK_UNREACHABLE');
  assert.equal(
    code(withCode('57P01', 'terminating connection due to administrator command')),
    'SHOCK_SINK_UNREACHABLE',
  );
  assert.equal(code(withCode('08006')), 'SHOCK_SINK_UNREACHABLE');
  assert.equal(code(withCode('23502', 'null value in column "event_id"')), 'SHOCK_SINK_IO');
  assert.equal(code(withCode('57014', 'canceling statement due to statement timeout')), 'SHOCK_SINK_IO');
  assert.equal(code(withCode('42501', 'permission denied for schema shock')), 'SHOCK_SINK_IO');
  const io = translatePostgresError(withCode('23502', 'null value'), 'write', 'h:1/db') as {
    details: Record<string, unknown>;
    cause: unknown;
    message: string;
  };
  assert.equal(io.details.sqlState, '23502');
  assert.match(io.message, /sink write failed on PostgreSQL at h:1\/db: null value/);
  assert.ok(io.cause instanceof Error);
  const fenced = shockError('SHOCK_CONSUME_FENCED', 'fenced');
  assert.equal(translatePostgresError(fenced, 'write', 'h'), fenced, 'our own errors pass through');
});
