/**
 * The PostgreSQL sink's schema migration, on a private PostgreSQL server: a schema written by version 1 (results
 * keyed by (consumer_group, event_id), no tenant) is migrated in place at open — rows kept, tenants filled where they
 * can be, the version in `sink_meta` bumped — and a version this code does not know is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { encodeEvent, isShockError, type StoredEvent } from '../../../src/base/index.js';
import { adoptTenants, openPostgresSink } from '../../../src/consume/index.js';
import { openFileLog } from '../../../src/log/index.js';
import { tempDir } from '../../helpers/cli.js';
import { connectPostgres, privatePostgres } from '../../helpers/postgres.js';
import { resultBatch } from '../../helpers/sink-contract.js';

const { skip, server } = privatePostgres();

/** The DDL of schema version 1 in schema `s`, as the sink of that version created it. */
const schemaV1 = (s: string) => `
CREATE SCHEMA ${s};
CREATE TABLE ${s}.sink_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE ${s}.results (
  consumer_group text NOT NULL,
  event_id text NOT NULL,
  log_partition integer NOT NULL,
  log_offset bigint NOT NULL,
  result_json text NOT NULL,
  processed_at_ms bigint NOT NULL,
  PRIMARY KEY (consumer_group, event_id)
);
CREATE TABLE ${s}.dead_letters (
  consumer_group text NOT NULL,
  log_partition integer NOT NULL,
  log_offset bigint NOT NULL,
  event_id text,
  error text NOT NULL,
  event_json text NOT NULL,
  attempts integer NOT NULL,
  timestamp_ms bigint NOT NULL,
  dead_at_ms bigint NOT NULL,
  PRIMARY KEY (consumer_group, log_partition, log_offset)
);
CREATE TABLE ${s}.owners (
  consumer_group text NOT NULL,
  log_partition integer NOT NULL,
  epoch bigint NOT NULL,
  offset_next bigint NOT NULL,
  claimed_at_ms bigint NOT NULL,
  PRIMARY KEY (consumer_group, log_partition)
);
INSERT INTO ${s}.sink_meta (key, value) VALUES ('version', '1');
`;

function event(tenant: string, id: string): StoredEvent {
  return { event_id: id, tenant, type: 'generic', ts: 1, priority: 'normal', key: tenant, payload: {} };
}

/** A version-1 schema: results at partition 0 offsets 0..2, dead letters: an event, an undecodable record, bad JSON. */
async function writeV1(s: string): Promise<void> {
  const db = await connectPostgres(server().url);
  try {
    await db.query(schemaV1(s));
    await db.query(
      `INSERT INTO ${s}.results VALUES ('sink', 'order-1', 0, 0, '{"n":1}', 10), ('sink', 'order-2', 0, 1, '{"n":2}', 11),
         ('sink', 'gone-1', 0, 2, '{"n":3}', 12)`,
    );
    await db.query(
      `INSERT INTO ${s}.dead_letters VALUES ('sink', 0, 3, 'order-3', 'Error: boom', $1, 6, 13, 14),
         ('sink', 0, 4, NULL, 'not an event', 'garbage', 0, 15, 16), ('sink', 0, 5, NULL, 'not an event', '{"x":', 0, 17, 18)`,
      [JSON.stringify(event('globex', 'order-3'))],
    );
    await db.query(`INSERT INTO ${s}.owners VALUES ('sink', 0, 3, 6, 17)`);
  } finally {
    await db.end();
  }
}

test(
  'postgres sink migration - a version 1 schema is migrated in place: rows kept, tenants filled, version 2',
  { skip, timeout: 60_000 },
  async () => {
    await writeV1('old_v1');
    const t = tempDir('shock-pg-migrate-');
    const sink = await openPostgresSink({ url: server().url, schema: 'old_v1' });
    const db = await connectPostgres(server().url);
    try {
      const version = await db.query("SELECT value FROM old_v1.sink_meta WHERE key = 'version'");
      assert.deepEqual(version.rows, [{ value: '2' }]);
      const results = await db.query(
        'SELECT consumer_group, tenant, event_id, log_partition, log_offset::int, result_json FROM old_v1.results ORDER BY log_offset',
      );
      assert.deepEqual(
        results.rows.map((r) => Object.values(r as object)),
        [
          ['sink', '', 'order-1', 0, 0, '{"n":1}'],
          ['sink', '', 'order-2', 0, 1, '{"n":2}'],
          ['sink', '', 'gone-1', 0, 2, '{"n":3}'],
        ],
      );
      const dead = await db.query(
        'SELECT log_offset::int AS o, tenant, event_id FROM old_v1.dead_letters ORDER BY log_offset',
      );
      assert.deepEqual(dead.rows, [
        { o: 3, tenant: 'globex', event_id: 'order-3' },
        { o: 4, tenant: null, event_id: null },
        { o: 5, tenant: null, event_id: null },
      ]);
      const pk = await db.query(
        `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
         WHERE i.indrelid = 'old_v1.results'::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
      );
      assert.deepEqual(
        pk.rows.map((r: { attname: string }) => r.attname),
        ['consumer_group', 'tenant', 'event_id'],
      );
      assert.deepEqual(await sink.owner('sink', 0), { epoch: 3, offsetNext: 6 });

      const log = await openFileLog({ dir: join(t.dir, 'log'), partitions: 1 });
      try {
        await log.append(
          0,
          [event('acme', 'order-1'), event('globex', 'order-2'), event('acme', 'other')].map((e) => ({
            key: Buffer.from(e.key),
            value: encodeEvent(e),
          })),
        );
        const held = await sink.processed('sink', [
          { tenant: 'acme', eventId: 'order-1', partition: 0, offset: 0 },
          { tenant: 'globex', eventId: 'order-1', partition: 0, offset: 7 },
        ]);
        assert.deepEqual(held, [true, false]);
        assert.deepEqual(await adoptTenants(sink, 'sink', log, [0]), { adopted: 2, unmatched: 1 });
      } finally {
        await log.close();
      }
      assert.deepEqual(await sink.result('sink', 'acme', 'order-1'), { n: 1 });
      assert.deepEqual(await sink.result('sink', 'globex', 'order-2'), { n: 2 });
      const { epoch } = await sink.claim('sink', 0);
      assert.deepEqual(await sink.write(resultBatch(epoch, ['order-1'], 6, 0, 'sink', 'globex')), {
        inserted: 1,
        duplicates: 0,
        deadLettered: 0,
      });
      assert.equal((await sink.countResults('sink')).total, 4);
      // Opening again runs no DDL: still version 2, same rows.
      await (await openPostgresSink({ url: server().url, schema: 'old_v1' })).close();
      assert.equal((await sink.countResults('sink')).total, 4);
    } finally {
      await db.end();
      await sink.close();
      t.cleanup();
    }
  },
);

test(
  'postgres sink migration - a newer version in sink_meta is refused with SHOCK_SINK_SCHEMA',
  { skip, timeout: 60_000 },
  async () => {
    await (await openPostgresSink({ url: server().url, schema: 'newer' })).close();
    const db = await connectPostgres(server().url);
    try {
      await db.query("UPDATE newer.sink_meta SET value = '3' WHERE key = 'version'");
    } finally {
      await db.end();
    }
    await assert.rejects(
      openPostgresSink({ url: server().url, schema: 'newer' }),
      (err: unknown) => isShockError(err) && err.code === 'SHOCK_SINK_SCHEMA' && err.details.version === 3,
    );
  },
);
