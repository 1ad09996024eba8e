/**
 * `shock serve` on the JetStream log while its nats-server dies: after a kill -9 the gateway answers 503 (storage
 * unavailable, retriable) within bounded time instead of hanging or answering 202, and /readyz answers 503 saying
 * NATS is unreachable; after a restart on the same store it accepts again, /readyz answers 200, and every event
 * that got a 202 — before or after the crash — reaches the sink exactly once (the consumer workers reconnect, or
 * are restarted by the supervisor, on their own).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/cli.js';
import { fetchStats, postEvent, request, startServe, testKeys, waitUntil, writeConfig } from '../helpers/cell-serve.js';
import { natsSkipReason, startNatsServer } from '../helpers/nats.js';

test(
  'serve jetstream - kill -9 of nats-server: 503 and not ready while it is down, then ready, and every 202 reaches the sink once',
  { skip: natsSkipReason(), timeout: 180_000 },
  async () => {
    const nats = await startNatsServer();
    const t = tempDir('shock-serve-js-kill-');
    const config = writeConfig(t.dir, {
      tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 100_000, burst: 100_000 }],
      log: { partitions: 2, engine: 'jetstream', jetstream: { servers: [nats.url], streamPrefix: 'cellkill' } },
      consumers: { workers: 2 },
    });
    const serve = await startServe(join(t.dir, 'data'), ['--config', config]);
    const accepted = new Set<string>();
    let serial = 0;
    const post = async () => {
      const id = `ev-${serial++}`;
      const res = await postEvent(serve.url, testKeys.acme.key, {
        event_id: id,
        type: 'page.view',
        payload: { url: '/' },
      });
      if (res.status === 202) accepted.add(id);
      return res;
    };
    try {
      for (let i = 0; i < 20; i++) assert.equal((await post()).status, 202);
      assert.equal((await request(`${serve.url}/readyz`)).status, 200);
      const pid = nats.pid;
      await nats.kill(); // SIGKILL to that PID
      // Readiness follows the connection, with no event sent: 503 with the reason.
      await waitUntil(async () => (await request(`${serve.url}/readyz`)).status === 503, 20_000, 100);
      const notReady = (await request(`${serve.url}/readyz`)).body;
      assert.equal(notReady.error.code, 'SHOCK_CELL_NOT_READY');
      assert.ok(
        notReady.error.details.notReady.some((r: string) => /^NATS unreachable since /.test(r)),
        JSON.stringify(notReady),
      );

      const down = await post();
      assert.equal(down.status, 503, JSON.stringify(down.body));
      // The first failure reaches the log (the breaker is still closed): the log's SHOCK_LOG_IO is the cause.
      assert.equal(down.body.error.code, 'SHOCK_INGRESS_APPEND_FAILED');
      assert.equal(down.body.error.details.cause, 'SHOCK_LOG_IO');

      await nats.restart();
      assert.notEqual(nats.pid, pid);
      // The gateway's breaker may hold the door shut for a while after the failures: bounded retries.
      await waitUntil(async () => (await post()).status === 202, 60_000, 200);
      await waitUntil(async () => (await request(`${serve.url}/readyz`)).status === 200, 60_000, 200);
      for (let i = 0; i < 20; i++) await post();

      // Done when the sink holds every accepted event. Not the lag in /v1/stats: it is sampled once a second, and
      // consumedTotal counts the redeliveries of the worker restarts during the outage, so together they can say
      // "caught up" before the last events are consumed.
      const sinkFile = join(t.dir, 'data', 'sink.sqlite');
      const stored = (): Set<string> => {
        const db = new Database(sinkFile, { readonly: true, fileMustExist: true });
        try {
          const rows = db.prepare("SELECT event_id FROM results WHERE consumer_group = 'sink'").all() as {
            event_id: string;
          }[];
          return new Set(rows.map((r) => r.event_id));
        } finally {
          db.close();
        }
      };
      await waitUntil(
        async () => {
          const s = await fetchStats(serve);
          if (!s.consumers.running) return false;
          const ids = stored();
          return [...accepted].every((id) => ids.has(id));
        },
        90_000,
        200,
      );
      const stopped = await serve.stop('SIGTERM');
      assert.equal(stopped.code, 0, serve.output().stderr);

      const db = new Database(join(t.dir, 'data', 'sink.sqlite'), { readonly: true });
      try {
        const ids = (
          db.prepare("SELECT event_id FROM results WHERE consumer_group = 'sink'").all() as { event_id: string }[]
        ).map((r) => r.event_id);
        // A 503'd event may be in the sink too (its publish may have been stored after the timeout); never one
        // that was not sent.
        for (const id of ids) assert.ok(Number(id.slice(3)) < serial, `${id} was sent`);
        for (const id of accepted) assert.ok(ids.includes(id), `${id} got a 202 and is in the sink`);
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
