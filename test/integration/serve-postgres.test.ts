/**
 * `shock serve` with the PostgreSQL sink (`sink.engine: postgres`) against a private PostgreSQL 15: events POSTed
 * to the cell arrive in PostgreSQL exactly once, with the built-in handler's result, and the cell says which sink
 * it uses (without a password). Skipped, saying why, without the PostgreSQL binaries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/cli.js';
import { fetchStats, postEvent, startServe, testKeys, waitUntil, writeConfig } from '../helpers/cell-serve.js';
import { connectPostgres, privatePostgres } from '../helpers/postgres.js';

const { skip, server } = privatePostgres();

test('serve postgres - POSTed events are stored in PostgreSQL exactly once', { skip, timeout: 120_000 }, async () => {
  const t = tempDir('shock-serve-pg-');
  const partitions = 4;
  const config = writeConfig(t.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 100_000, burst: 100_000 }],
    log: { partitions },
    consumers: { workers: 2 },
    sink: { engine: 'postgres', postgres: { url: server().url, schema: 'cell_e2e' } },
  });
  const serve = await startServe(`${t.dir}/data`, ['--config', config]);
  try {
    const listening = serve
      .output()
      .stdout.split('\n')
      .find((l) => l.includes('"event":"listening"'))!;
    assert.equal(JSON.parse(listening).sink, `postgres 127.0.0.1:${server().port}/postgres schema cell_e2e`);
    const sent = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      const id = `ev-${i}`;
      const res = await postEvent(serve.url, testKeys.acme.key, {
        event_id: id,
        type: 'page.view',
        key: `user-${i % 7}`,
        payload: { url: `/p/${i}`, referrer: 'r' },
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      sent.set(id, res.body.partition);
    }
    // The same event id again is acknowledged as a duplicate and changes nothing downstream.
    const again = await postEvent(serve.url, testKeys.acme.key, {
      event_id: 'ev-3',
      type: 'page.view',
      payload: { url: '/p/3' },
    });
    assert.equal(again.status, 202);
    assert.equal(again.body.duplicate, true);
    await waitUntil(async () => {
      const s = await fetchStats(serve);
      return (
        s.consumers.running &&
        s.consumers.lagEvents === 0 &&
        s.consumers.consumedTotal >= 60 &&
        s.consumers.partitions.length === partitions
      );
    }, 60_000);
    const stopped = await serve.stop('SIGTERM');
    assert.equal(stopped.code, 0, serve.output().stderr);

    const db = await connectPostgres(server().url);
    try {
      const rows = (
        await db.query<{ event_id: string; log_partition: number; result_json: string }>(
          "SELECT event_id, log_partition, result_json FROM cell_e2e.results WHERE consumer_group = 'sink'",
        )
      ).rows;
      assert.equal(rows.length, sent.size, 'one row per event id');
      for (const r of rows) {
        assert.equal(r.log_partition, sent.get(r.event_id), `${r.event_id} stored from the partition its 202 named`);
        assert.deepEqual(JSON.parse(r.result_json), {
          type: 'page.view',
          tenant: 'acme',
          key: `user-${Number(r.event_id.slice(3)) % 7}`,
          payloadFields: 2,
        });
      }
      const dead = await db.query('SELECT count(*)::int AS n FROM cell_e2e.dead_letters');
      assert.equal(dead.rows[0].n, 0);
      const owners = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM cell_e2e.owners WHERE consumer_group = 'sink'",
      );
      assert.equal(owners.rows[0].n, partitions, 'every partition was claimed');
    } finally {
      await db.end();
    }
  } finally {
    await serve.stop('SIGKILL');
    t.cleanup();
  }
});
