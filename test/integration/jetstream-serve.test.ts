/**
 * `shock serve` with the JetStream log (`log.engine: jetstream`) against a real nats-server: POSTed events are
 * answered 202 with their partition and offset, stored in the partition streams at those offsets, read by the
 * consumer workers (each with its own connection) into the SQLite sink exactly once, their offsets committed, and
 * /v1/stats reports no lag. Skipped, saying why, without nats-server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openJetStreamLog } from '../../src/log/index.js';
import { tempDir } from '../helpers/cli.js';
import { fetchStats, postEvent, startServe, testKeys, waitUntil, writeConfig } from '../helpers/cell-serve.js';
import { natsSkipReason, startNatsServer } from '../helpers/nats.js';

test(
  'serve jetstream - POSTed events reach the streams at their offsets and the sink exactly once',
  { skip: natsSkipReason(), timeout: 120_000 },
  async () => {
    const nats = await startNatsServer();
    const t = tempDir('shock-serve-js-');
    const partitions = 4;
    const streamPrefix = 'cell';
    const config = writeConfig(t.dir, {
      tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 100_000, burst: 100_000 }],
      log: { partitions, engine: 'jetstream', jetstream: { servers: [nats.url], streamPrefix } },
      consumers: { workers: 2 },
    });
    const serve = await startServe(join(t.dir, 'data'), ['--config', config]);
    try {
      const sent = new Map<string, { partition: number; offset: number }>();
      for (let i = 0; i < 60; i++) {
        const id = `ev-${i}`;
        const res = await postEvent(serve.url, testKeys.acme.key, {
          event_id: id,
          type: 'page.view',
          key: `user-${i % 7}`,
          payload: { url: `/p/${i}` },
        });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        sent.set(id, { partition: res.body.partition, offset: res.body.offset });
      }
      await waitUntil(async () => {
        const s = await fetchStats(serve);
        return s.consumers.running && s.consumers.lagEvents === 0 && s.consumers.consumedTotal >= 60;
      }, 60_000);
      const stats = await fetchStats(serve);
      assert.equal(stats.consumers.partitions.length, partitions);
      const stopped = await serve.stop('SIGTERM');
      assert.equal(stopped.code, 0, serve.output().stderr);

      // The streams hold every event at the offset its 202 named; the committed offsets are at the ends.
      const log = await openJetStreamLog({ servers: nats.url, partitions, streamPrefix });
      try {
        let total = 0;
        for (let p = 0; p < partitions; p++) {
          const end = log.state(p).offsetEnd;
          total += end;
          assert.equal(log.offsets.get('sink', p), end, `partition ${p} committed to its end`);
          if (end === 0) continue;
          for (const r of await log.read(p, 0)) {
            const id = (JSON.parse(r.value.toString()) as { event_id: string }).event_id;
            assert.deepEqual(sent.get(id), { partition: p, offset: r.offset }, `${id} where its 202 said`);
          }
        }
        assert.equal(total, sent.size);
      } finally {
        await log.close();
      }

      const db = new Database(join(t.dir, 'data', 'sink.sqlite'), { readonly: true });
      try {
        const rows = db
          .prepare("SELECT event_id, log_partition, log_offset FROM results WHERE consumer_group = 'sink'")
          .all() as { event_id: string; log_partition: number; log_offset: number }[];
        assert.equal(rows.length, sent.size, 'one row per event');
        for (const r of rows) {
          assert.deepEqual({ partition: r.log_partition, offset: r.log_offset }, sent.get(r.event_id));
        }
      } finally {
        db.close();
      }
    } finally {
      await serve.stop('SIGKILL');
      await nats.cleanup();
      t.cleanup();
    }
  },
);
