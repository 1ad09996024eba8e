import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tempDir } from '../../helpers/cli.js';
import { openSqliteSink } from '../../../src/consume/sqlite/sqlite-sink.js';
import type { SinkBatch } from '../../../src/consume/sink.js';
import { processedIds, resultBatch as batch } from '../../helpers/sink-contract.js';
import { isShockError } from '../../../src/base/index.js';

test('sqlite sink - stores each event id once and counts duplicates', async () => {
  const tmp = tempDir();
  const sink = openSqliteSink({ path: join(tmp.dir, 'sink.db') });
  try {
    const { epoch } = await sink.claim('g', 0);
    const ids = Array.from({ length: 300 }, (_, i) => `e${i}`);
    assert.deepEqual(await sink.write(batch(epoch, ids)), { inserted: 300, duplicates: 0, deadLettered: 0 });
    const again = await sink.write(batch(epoch, [...ids.slice(250), 'new1', 'new2'], 250));
    assert.deepEqual(again, { inserted: 2, duplicates: 50, deadLettered: 0 });
    assert.equal(sink.countResults('g').total, 302);
    assert.deepEqual(sink.result('g', 'acme', 'e7'), { id: 'e7' });
    assert.deepEqual(await processedIds(sink, 'g', ['e1', 'nope', 'new2']), ['e1', 'new2']);
    assert.equal(sink.owner('g', 0)?.offsetNext, 302);
  } finally {
    await sink.close();
    tmp.cleanup();
  }
});

test('sqlite sink - a stale epoch is fenced and writes nothing', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'sink.db');
  const zombie = openSqliteSink({ path });
  const owner = openSqliteSink({ path });
  try {
    const first = await zombie.claim('g', 3);
    const second = await owner.claim('g', 3);
    assert.ok(second.epoch > first.epoch);
    await assert.rejects(zombie.write(batch(first.epoch, ['z1', 'z2'], 0, 3)), (err: unknown) => {
      assert.ok(isShockError(err));
      assert.equal(err.code, 'SHOCK_CONSUME_FENCED');
      assert.equal(err.details.ownerEpoch, second.epoch);
      return true;
    });
    assert.equal(owner.countResults('g').total, 0);
    assert.equal((await owner.write(batch(second.epoch, ['a'], 0, 3))).inserted, 1);
    // Another partition of the same group is not affected by the claim on partition 3.
    const other = await zombie.claim('g', 4);
    assert.equal((await zombie.write(batch(other.epoch, ['b'], 0, 4))).inserted, 1);
  } finally {
    await zombie.close();
    await owner.close();
    tmp.cleanup();
  }
});

test('sqlite sink - dead letters are stored once per partition and offset', async () => {
  const tmp = tempDir();
  const sink = openSqliteSink({ path: join(tmp.dir, 'sink.db') });
  try {
    const { epoch } = await sink.claim('g', 1);
    const b: SinkBatch = {
      ...batch(epoch, ['ok'], 0, 1),
      deadLetters: [
        {
          partition: 1,
          offset: 1,
          tenant: 'acme',
          eventId: 'bad',
          error: 'Error: boom',
          eventJson: '{"event_id":"bad"}',
          attempts: 7,
          timestampMs: 5,
        },
      ],
      offsetNext: 2,
    };
    assert.deepEqual(await sink.write(b), { inserted: 1, duplicates: 0, deadLettered: 1 });
    assert.deepEqual(await sink.write(b), { inserted: 0, duplicates: 1, deadLettered: 0 });
    const dl = sink.deadLetters('g');
    assert.equal(dl.length, 1);
    assert.equal(dl[0].eventId, 'bad');
    assert.equal(dl[0].offset, 1);
    assert.equal(dl[0].attempts, 7);
    assert.match(dl[0].error, /boom/);
  } finally {
    await sink.close();
    tmp.cleanup();
  }
});

test('sqlite sink - uses WAL with synchronous FULL by default', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'sink.db');
  const sink = openSqliteSink({ path });
  try {
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  } finally {
    await sink.close();
    tmp.cleanup();
  }
});

test('sqlite sink - an unusable path gives SHOCK_SINK_IO with the path', async () => {
  const tmp = tempDir();
  // A directory that is a regular file: refused by the kernel even for root (ENOTDIR / EEXIST).
  writeFileSync(join(tmp.dir, 'not-a-dir'), 'x');
  try {
    assert.throws(
      () => openSqliteSink({ path: join(tmp.dir, 'not-a-dir', 'sink.db') }),
      (err: unknown) =>
        isShockError(err) && err.code === 'SHOCK_SINK_IO' && String(err.details.path).endsWith('sink.db'),
    );
  } finally {
    tmp.cleanup();
  }
});

test('sqlite sink - a newer schema version is refused', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'sink.db');
  const db = new Database(path);
  db.pragma('user_version = 99');
  db.close();
  try {
    assert.throws(
      () => openSqliteSink({ path }),
      (err: unknown) => isShockError(err) && err.code === 'SHOCK_SINK_SCHEMA',
    );
  } finally {
    tmp.cleanup();
  }
});
