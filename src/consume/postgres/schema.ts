/**
 * The PostgreSQL sink's schema: the same three tables as the SQLite sink (`results`, `dead_letters`, `owners`), in a
 * schema of their own (default `shock`), plus `sink_meta` holding the schema version. Created at open, idempotently:
 * the DDL runs in one transaction under a transaction-level advisory lock, so several workers opening the sink at
 * once never race on `CREATE … IF NOT EXISTS` (which PostgreSQL does not make safe under concurrency by itself).
 * A sink whose version is already current skips the DDL entirely, so a role without CREATE rights can still open it.
 *
 * Version 2 (docs/consume.md): an event is `(tenant, event_id)` — `results` has a `tenant` column and the primary key
 * `(consumer_group, tenant, event_id)`; `dead_letters` has a `tenant` column (NULL for a record that is not an event)
 * and an index `(consumer_group, tenant, event_id)`, its key staying the record's position. Version 1 is migrated in
 * place, in the same locked transaction (`migrateV1Sql`): the columns are added, the key of `results` replaced, dead
 * letters take their tenant from `event_json`, result rows get `tenantUnknown` ('') until `adoptTenants` reads their
 * tenant back from the log record at their position. The partial index `results_tenant_unknown` finds those rows.
 */
import type { PoolClient } from 'pg';
import { shockError } from '../../base/index.js';

/** The version this code writes and reads. */
export const SCHEMA_VERSION = 2;

/** Lower-case SQL identifier, unquoted-safe: what `schema` may be. */
const schemaNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

/** Checks a schema name and returns it double-quoted for SQL. SHOCK_CONFIG_INVALID when it is not an identifier. */
export function quoteSchema(schema: string): string {
  if (!schemaNamePattern.test(schema)) {
    throw shockError(
      'SHOCK_CONFIG_INVALID',
      `the PostgreSQL sink schema must be a lower-case identifier ([a-z_][a-z0-9_]*, ≤ 63 chars), got "${schema}"`,
      { schema },
    );
  }
  return `"${schema}"`;
}

/** The DDL of version 2 in schema `s` (already quoted). Text columns mirror the SQLite sink, bigint for offsets. */
function schemaSql(s: string): string {
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.sink_meta (
  key text PRIMARY KEY,
  value text NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.results (
  consumer_group text NOT NULL,
  event_id text NOT NULL,
  log_partition integer NOT NULL,
  log_offset bigint NOT NULL,
  result_json text NOT NULL,
  processed_at_ms bigint NOT NULL,
  tenant text NOT NULL,
  PRIMARY KEY (consumer_group, tenant, event_id)
);
CREATE TABLE IF NOT EXISTS ${s}.dead_letters (
  consumer_group text NOT NULL,
  log_partition integer NOT NULL,
  log_offset bigint NOT NULL,
  event_id text,
  error text NOT NULL,
  event_json text NOT NULL,
  attempts integer NOT NULL,
  timestamp_ms bigint NOT NULL,
  dead_at_ms bigint NOT NULL,
  tenant text,
  PRIMARY KEY (consumer_group, log_partition, log_offset)
);
${indexesSql(s)}
CREATE TABLE IF NOT EXISTS ${s}.owners (
  consumer_group text NOT NULL,
  log_partition integer NOT NULL,
  epoch bigint NOT NULL,
  offset_next bigint NOT NULL,
  claimed_at_ms bigint NOT NULL,
  PRIMARY KEY (consumer_group, log_partition)
);
INSERT INTO ${s}.sink_meta (key, value) VALUES ('version', '${SCHEMA_VERSION}') ON CONFLICT (key) DO NOTHING;
`;
}

function indexesSql(s: string): string {
  return `
CREATE INDEX IF NOT EXISTS dead_letters_event ON ${s}.dead_letters (consumer_group, tenant, event_id);
CREATE INDEX IF NOT EXISTS results_tenant_unknown ON ${s}.results (consumer_group, log_partition, log_offset)
  WHERE tenant = '';`;
}

/**
 * Version 1 → 2 in place (see the header). A dead letter's `event_json` may be any text (a record that is not an
 * event), and PostgreSQL 15 has no cast that fails softly, so only values that look like a JSON object are cast,
 * inside a function that turns a failed cast into NULL.
 */
function migrateV1Sql(s: string): string {
  return `
ALTER TABLE ${s}.results ADD COLUMN tenant text NOT NULL DEFAULT '';
ALTER TABLE ${s}.results ALTER COLUMN tenant DROP DEFAULT;
ALTER TABLE ${s}.results DROP CONSTRAINT results_pkey;
ALTER TABLE ${s}.results ADD PRIMARY KEY (consumer_group, tenant, event_id);
ALTER TABLE ${s}.dead_letters ADD COLUMN tenant text;
CREATE FUNCTION pg_temp.shock_tenant_of(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN CASE WHEN jsonb_typeof(t::jsonb -> 'tenant') = 'string' THEN t::jsonb ->> 'tenant' END;
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$;
UPDATE ${s}.dead_letters SET tenant = pg_temp.shock_tenant_of(event_json) WHERE event_json LIKE '{%';
DROP FUNCTION pg_temp.shock_tenant_of(text);
${indexesSql(s)}
UPDATE ${s}.sink_meta SET value = '${SCHEMA_VERSION}' WHERE key = 'version';
`;
}

/** The stored version, or undefined when the schema has not been created yet. */
async function storedVersion(client: PoolClient, schema: string, quoted: string): Promise<number | undefined> {
  const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${quoted}.sink_meta`]);
  if (exists.rows[0].t === null) return undefined;
  const row = await client.query<{ value: string }>(`SELECT value FROM ${quoted}.sink_meta WHERE key = 'version'`);
  const version = row.rows.length === 0 ? undefined : Number(row.rows[0].value);
  if (version !== undefined && version > SCHEMA_VERSION) {
    throw shockError(
      'SHOCK_SINK_SCHEMA',
      `the sink schema "${schema}" has version ${version}; this version knows ${SCHEMA_VERSION}`,
      { schema, version, hint: 'run a newer shockabsorber, or point the sink at another schema' },
    );
  }
  return version;
}

/** Creates the schema if needed (see the header). Throws SHOCK_SINK_SCHEMA for a newer version. */
export async function migrate(client: PoolClient, schema: string): Promise<void> {
  const quoted = quoteSchema(schema);
  if ((await storedVersion(client, schema, quoted)) === SCHEMA_VERSION) return;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`shockabsorber sink ${schema}`]);
    const version = await storedVersion(client, schema, quoted);
    if (version === undefined) await client.query(schemaSql(quoted));
    else if (version === 1) await client.query(migrateV1Sql(quoted));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
