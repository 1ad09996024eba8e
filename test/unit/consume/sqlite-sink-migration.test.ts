/**
 * The SQLite sink's schema migration: a sink written by schema version 1 (results keyed by (consumer_group,
 * event_id), no tenant) is migrated in place at open — rows kept, tenants filled where they can be, the version
 * bumped — and a version this code does not know is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { encodeEvent, isShockError, type StoredEvent } from '../../../src/base/index.js';
import { adoptTenants, openSqliteSink } from '../../../src/consume/index.js';
import { openFileLog } from '../../../src/log/index.js';
import { tempDir } from '../../helpers/cli.js';
import { resultBatch } from '../../helpers/sink-contract.js';

/** The DDL of schema version 1, as the sink of that version created it. */
const schemaV1 = `
CREATE TABLE results (
  consumer_group TEXT NOT NULL,
  event_id TEXT NOT NULL,
  log_partition INTEGER NOT NULL,
  log_offset INTEGER NOT NULL,
  result_json TEXT NOT NULL,
  processed_at_ms INTEGER NOT NULL,
  PRIMARY KEY (consumer_group, event_id)
) WITHOUT ROWID;
CREATE TABLE dead_letters (
  consumer_group TEXT NOT NULL,
  log_partition INTEGER NOT NULL,
  log_offset INTEGER NOT NULL,
  event_id TEXT,
  error TEXT NOT NULL,
  event_json TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  dead_at_ms INTEGER NOT NULL,
  PRIMARY KEY (consumer_group, log_partition, log_offset)
);
CREATE TABLE owners (
  consumer_group TEXT NOT NULL,
  log_partition INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  offset_next INTEGER NOT NULL,
  claimed_at_ms INTEGER NOT NULL,
  PRIMARY KEY (consumer_group, log_partition)
);
PRAGMA user_version = 1;
`;

function event(tenant: string, id: string): StoredEvent {
  return { event_id: id, tenant, type: 'generic', ts: 1, priority: 'normal', key: tenant, payload: {} };
}

/** A version-1 sink: results at partition 0 offsets 0..2, two dead letters (one event, one undecodable record). */
function writeV1(path: string): void {
  const db = new Database(path);
  db.exec(schemaV1);
  const result = db.prepare('INSERT INTO results VALUES (?, ?, ?, ?, ?, ?)');
  result.run('sink', 'order-1', 0, 0, '{"n":1}', 10);
  result.run('sink', 'order-2', 0, 1, '{"n":2}', 11);
  result.run('sink', 'gone-1', 0, 2, '{"n":3}', 12);
  const dead = db.prepare('INSERT INTO dead_letters VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  dead.run('sink', 0, 3, 'order-3', 'Error: boom', JSON.stringify(event('globex', 'order-3')), 6, 13, 14);
  dead.run('sink', 0, 4, null, 'not an event', '\u0001garbage', 0, 15, 16);
  db.prepare('INSERT INTO owners VALUES (?, ?, ?, ?, ?)').run('sink', 0, 3, 5, 17);
  db.close();
}

test('sqlite sink migration - a version 1 sink is migrated in place: rows kept, tenants filled, version 2', async () => {
  const t = tempDir('shock-sink-migrate-');
  const path = join(t.dir, 'sink.sqlite');
  writeV1(path);
  const sink = openSqliteSink({ path });
  try {
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.prepare("SELECT value FROM sink_meta WHERE key = 'version'").pluck().get(), '2');
      assert.equal(db.pragma('user_version', { simple: true }), 2);
      const results = db
        .prepare('SELECT consumer_group, tenant, event_id, log_partition, log_offset, result_json FROM results')
        .all();
      assert.deepEqual(
        results.map((r) => Object.values(r as object)),
        [
          ['sink', '', 'gone-1', 0, 2, '{"n":3}'],
          ['sink', '', 'order-1', 0, 0, '{"n":1}'],
          ['sink', '', 'order-2', 0, 1, '{"n":2}'],
        ],
      );
      const dead = db.prepare('SELECT log_offset, tenant, event_id FROM dead_letters ORDER BY log_offset').all();
      assert.deepEqual(dead, [
        { log_offset: 3, tenant: 'globex', event_id: 'order-3' },
        { log_offset: 4, tenant: null, event_id: null },
      ]);
      const pk = db.prepare("SELECT name FROM pragma_table_info('results') WHERE pk > 0 ORDER BY pk").pluck().all();
      assert.deepEqual(pk, ['consumer_group', 'tenant', 'event_id']);
    } finally {
      db.close();
    }
    assert.deepEqual(sink.owner('sink', 0), { epoch: 3, offsetNext: 5 });
    assert.equal(sink.deadLetters('sink')[0].tenant, 'globex');

    // The log still holds offsets 0 and 1 (acme's order-1, globex's order-2); offset 2 holds another event.
    const log = await openFileLog({ dir: join(t.dir, 'log'), partitions: 1 });
    try {
      await log.append(
        0,
        [event('acme', 'order-1'), event('globex', 'order-2'), event('acme', 'other')].map((e) => ({
          key: Buffer.from(e.key),
          value: encodeEvent(e),
        })),
      );
      // Before adoption, a redelivered record still finds its own migrated row by position, not another record's.
      const held = await sink.processed('sink', [
        { tenant: 'acme', eventId: 'order-1', partition: 0, offset: 0 },
        { tenant: 'globex', eventId: 'order-1', partition: 0, offset: 7 },
      ]);
      assert.deepEqual(held, [true, false]);
      assert.deepEqual(await adoptTenants(sink, 'sink', log, [0]), { adopted: 2, unmatched: 1 });
      assert.deepEqual(await adoptTenants(sink, 'sink', log, [0]), { adopted: 0, unmatched: 1 });
    } finally {
      await log.close();
    }
    assert.deepEqual(sink.result('sink', 'acme', 'order-1'), { n: 1 });
    assert.deepEqual(sink.result('sink', 'globex', 'order-2'), { n: 2 });
    assert.deepEqual(sink.result('sink', '', 'gone-1'), { n: 3 });
    // The migrated sink takes the same event id from another tenant as a new event.
    const { epoch } = await sink.claim('sink', 0);
    const b = resultBatch(epoch, ['order-1'], 5, 0, 'sink', 'globex');
    assert.deepEqual(await sink.write(b), { inserted: 1, duplicates: 0, deadLettered: 0 });
    assert.deepEqual(await sink.write(resultBatch(epoch, ['order-1'], 0, 0, 'sink', 'acme')), {
      inserted: 0,
      duplicates: 1,
      deadLettered: 0,
    });
    assert.equal(sink.countResults('sink').total, 4);
  } finally {
    await sink.close();
    t.cleanup();
  }
});

test('sqlite sink migration - reopening a version 2 sink changes nothing', async () => {
  const t = tempDir('shock-sink-migrate-');
  const path = join(t.dir, 'sink.sqlite');
  writeV1(path);
  try {
    await openSqliteSink({ path }).close();
    const again = openSqliteSink({ path });
    assert.equal(again.countResults('sink').total, 3);
    assert.equal(again.countDeadLetters('sink'), 2);
    await again.close();
  } finally {
    t.cleanup();
  }
});

test('sqlite sink migration - a newer version in sink_meta is refused with SHOCK_SINK_SCHEMA', async () => {
  const t = tempDir('shock-sink-migrate-');
  const path = join(t.dir, 'sink.sqlite');
  await openSqliteSink({ path }).close();
  const db = new Database(path);
  db.prepare("UPDATE sink_meta SET value = '3' WHERE key = 'version'").run();
  db.close();
  try {
    assert.throws(
      () => openSqliteSink({ path }),
      (err: unknown) => isShockError(err) && err.code === 'SHOCK_SINK_SCHEMA' && err.details.version === 3,
    );
  } finally {
    t.cleanup();
  }
});
