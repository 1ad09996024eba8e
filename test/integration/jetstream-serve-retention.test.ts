/**
 * A cell on the JetStream log with retention (`maxMsgsPerSubject: 5`) whose consumers fall behind it: while they
 * are paused after the first event, 19 more are accepted and retention keeps the newest 5. On resume the
 * consumer finds its next offset below the stream's first sequence — as with the file log — and jumps to the oldest
 * event left, without a worker restart, reporting the jump: one `retention_skip` line on stderr (offsets 1 → 15),
 * `removedBeforeConsumed` in /v1/stats and `shock_consumer_removed_before_consumed_total` in /metrics. The sink gets
 * exactly the first and the 5 retained events, in order, none twice, and the skip stays visible after a restart:
 * the offsets bucket counts the 14 records removed before they were consumed, and `shock log inspect` shows them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { connect } from 'nats';
import { runCli, tempDir } from '../helpers/cli.js';
import {
  adminCall,
  fetchMetrics,
  fetchStats,
  postEvent,
  startServe,
  testKeys,
  waitUntil,
  writeConfig,
} from '../helpers/cell-serve.js';
import { natsSkipReason, startNatsServer } from '../helpers/nats.js';

test(
  'serve jetstream retention - consumers behind retention resume at the oldest event left, visibly',
  { skip: natsSkipReason(), timeout: 120_000 },
  async () => {
    const nats = await startNatsServer();
    const t = tempDir('shock-serve-js-ret-');
    const config = writeConfig(t.dir, {
      tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 100_000, burst: 100_000 }],
      log: {
        partitions: 1,
        engine: 'jetstream',
        jetstream: { servers: [nats.url], streamPrefix: 'cellret', maxMsgsPerSubject: 5, maxAge: '1h' },
        retention: { policy: 'limits' },
      },
      consumers: { workers: 1 },
    });
    const serve = await startServe(join(t.dir, 'data'), ['--config', config]);
    const post = async (i: number) => {
      const res = await postEvent(serve.url, testKeys.acme.key, {
        event_id: `ev-${i}`,
        type: 'page.view',
        payload: { url: '/' },
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal(res.body.offset, i);
    };
    const consumed = async (n: number) => {
      const s = await fetchStats(serve);
      return s.consumers.running && s.consumers.lagEvents === 0 && s.consumers.consumedTotal >= n;
    };
    try {
      // The consumer runs and has committed offset 1; then it is paused and falls behind retention.
      await post(0);
      await waitUntil(() => consumed(1), 60_000, 100);
      assert.equal((await adminCall(serve, '/admin/consumers/pause', 'POST')).status, 200);
      for (let i = 1; i < 20; i++) await post(i);
      const nc = await connect({ servers: nats.url });
      try {
        const info = await (await nc.jetstreamManager()).streams.info('cellret_0');
        assert.equal(info.config.max_msgs_per_subject, 5);
        assert.equal(info.config.max_age, 3600 * 1e9);
        assert.equal(info.state.messages, 5);
        assert.equal(info.state.first_seq, 16);
      } finally {
        await nc.close();
      }

      assert.equal((await adminCall(serve, '/admin/consumers/resume', 'POST')).status, 200);
      await waitUntil(() => consumed(6), 60_000, 200);
      const s = await fetchStats(serve);
      assert.equal(s.consumers.removedBeforeConsumed, 14);
      assert.deepEqual(s.consumers.removedBeforeConsumedByPartition, { '0': 14 });
      assert.equal(s.consumers.restarts, 0, JSON.stringify(s.consumers.lastError));
      const metrics = await fetchMetrics(serve);
      assert.match(metrics, /^shock_consumer_removed_before_consumed_total\{group="sink",partition="0"\} 14$/m);
      const skips = serve
        .output()
        .stderr.split('\n')
        .filter((l) => l.includes('"event":"retention_skip"'))
        .map((l) => JSON.parse(l));
      assert.equal(skips.length, 1, serve.output().stderr);
      assert.deepEqual(skips[0].details, { group: 'sink', partition: 0, from: 1, to: 15, records: 14 });
      const stopped = await serve.stop('SIGTERM');
      assert.equal(stopped.code, 0, serve.output().stderr);

      const db = new Database(join(t.dir, 'data', 'sink.sqlite'), { readonly: true });
      try {
        const rows = db
          .prepare("SELECT event_id, log_offset FROM results WHERE consumer_group = 'sink' ORDER BY log_offset")
          .all() as { event_id: string; log_offset: number }[];
        assert.deepEqual(
          rows.map((r) => [r.event_id, r.log_offset]),
          [0, 15, 16, 17, 18, 19].map((i) => [`ev-${i}`, i]),
        );
      } finally {
        db.close();
      }
      // The skip stays on record after the group caught up: 14 records (offsets 1..14) never consumed.
      const report = await runCli(['log', 'inspect', nats.url, '--stream-prefix', 'cellret', '--json']);
      assert.equal(report.code, 0, report.stderr);
      assert.deepEqual(JSON.parse(report.stdout).groups[0].partitions[0], {
        partition: 0,
        committed: 20,
        lag: 0,
        behindRetention: false,
        removedBeforeConsumed: 14,
      });
    } finally {
      await serve.stop('SIGKILL');
      await nats.cleanup();
      t.cleanup();
    }
  },
);
