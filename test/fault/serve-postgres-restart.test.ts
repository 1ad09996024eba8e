/**
 * The database goes away under a running cell: `shock serve` with the PostgreSQL sink keeps accepting events while
 * its PostgreSQL is killed with SIGKILL (the log absorbs them; the consumers fail, restart with backoff and wait),
 * and once PostgreSQL is back every event is stored exactly once. Skipped, saying why, without the binaries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/cli.js';
import { fetchStats, request, startServe, testKeys, waitUntil, writeConfig } from '../helpers/cell-serve.js';
import { connectPostgres, privatePostgres } from '../helpers/postgres.js';

const { skip, server } = privatePostgres();

/** POSTs `n` events with ids `prefix<i>` as batches of 50; every record must be accepted. */
async function send(url: string, prefix: string, n: number): Promise<void> {
  for (let start = 0; start < n; start += 50) {
    const events = Array.from({ length: Math.min(50, n - start) }, (_, j) => ({
      event_id: `${prefix}${start + j}`,
      type: 'page.view',
      key: `user-${(start + j) % 13}`,
      payload: { url: `/p/${start + j}` },
    }));
    const res = await request(`${url}/v1/events/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.failedRecordCount, 0, res.text);
  }
}

async function stored(): Promise<{ rows: number; distinct: number }> {
  const db = await connectPostgres(server().url);
  try {
    const r = await db.query<{ rows: number; distinct: number }>(
      "SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS distinct FROM cell_restart.results WHERE consumer_group = 'sink'",
    );
    return r.rows[0];
  } finally {
    await db.end();
  }
}

test(
  'serve postgres restart - events accepted while PostgreSQL is down are stored exactly once when it returns',
  {
    skip,
    timeout: 180_000,
  },
  async () => {
    const t = tempDir('shock-serve-pg-restart-');
    const config = writeConfig(t.dir, {
      tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 100_000, burst: 100_000 }],
      log: { partitions: 4 },
      consumers: { workers: 2 },
      sink: { engine: 'postgres', postgres: { url: server().url, schema: 'cell_restart' } },
    });
    const serve = await startServe(`${t.dir}/data`, ['--config', config]);
    const stats = async () => await fetchStats(serve);
    try {
      await send(serve.url, 'before-', 400);
      await waitUntil(async () => (await stats()).consumers.consumedTotal >= 400, 60_000);
      assert.deepEqual(await stored(), { rows: 400, distinct: 400 });

      await server().kill9();
      // The log does not depend on the sink: the cell keeps answering 202 while the database is gone.
      await send(serve.url, 'during-', 600);
      await waitUntil(async () => (await stats()).consumers.lagEvents > 0, 30_000);

      await server().restart();
      await send(serve.url, 'after-', 200);
      await waitUntil(
        async () => {
          const s = await stats();
          return s.consumers.running && s.consumers.lagEvents === 0 && s.consumers.partitions.length === 4;
        },
        120_000,
        200,
      );
      const stopped = await serve.stop('SIGTERM');
      assert.equal(stopped.code, 0, serve.output().stderr);
      assert.deepEqual(await stored(), { rows: 1200, distinct: 1200 }, 'every accepted event, exactly once');
    } finally {
      await serve.stop('SIGKILL');
      t.cleanup();
    }
  },
);
