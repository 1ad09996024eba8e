/**
 * The opt-in limits retention policy (`log.retention.policy: limits`, today's behaviour before interest retention
 * became the default): a running `shock serve` on the file log whose consumers fall behind retention (`log.retention.maxBytes` with
 * 4 KiB segments): while the consumers are paused through the admin API, the accepted events roll segments and
 * retention removes the oldest ones, records the group never consumed. On resume the consumer jumps to the first
 * remaining offset, without a worker restart, and says so: one `retention_skip` JSON line on stderr (from/to
 * offsets), `removedBeforeConsumed` in /v1/stats and `shock_consumer_removed_before_consumed_total` in /metrics. The
 * sink holds exactly the event consumed before the pause and every event left after the jump, once each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/cli.js';
import {
  adminCall,
  fetchMetrics,
  fetchStats,
  postEvent,
  request,
  startServe,
  testKeys,
  waitUntil,
  writeConfig,
} from '../helpers/cell-serve.js';

function sinkOffsets(dataDir: string): number[] {
  const db = new Database(join(dataDir, 'sink.sqlite'), { readonly: true });
  try {
    return db
      .prepare("SELECT log_offset FROM results WHERE consumer_group = 'sink' ORDER BY log_offset")
      .pluck()
      .all() as number[];
  } finally {
    db.close();
  }
}

test('serve retention skip - paused consumers behind file-log retention resume at the first remaining offset, visibly', async () => {
  const t = tempDir('shock-serve-retskip-');
  const dataDir = join(t.dir, 'data');
  const config = writeConfig(t.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 1_000_000, burst: 1_000_000 }],
    log: { partitions: 1, segmentBytesMax: 4096, retention: { policy: 'limits', maxBytes: 8192 } },
    consumers: { workers: 1 },
  });
  const serve = await startServe(dataDir, ['--config', config]);
  const stats = async () => await fetchStats(serve);
  try {
    const first = await postEvent(serve.url, testKeys.acme.key, {
      event_id: 'ev-0',
      type: 'page.view',
      payload: { url: '/first' },
    });
    assert.equal(first.status, 202);
    await waitUntil(async () => {
      const s = await stats();
      return s.consumers.consumedTotal >= 1 && s.consumers.lagEvents === 0;
    });
    assert.equal((await adminCall(serve, '/admin/consumers/pause', 'POST')).status, 200);

    // ~300-byte records in batches of 4: segments roll every ~13 records and retention keeps about 2 of them.
    let end = 1;
    for (let b = 0; b < 30; b++) {
      const lines = Array.from({ length: 4 }, (_, k) =>
        JSON.stringify({
          event_id: `ev-${1 + b * 4 + k}`,
          type: 'page.view',
          payload: { url: `/${b}/${k}`.padEnd(200, 'x') },
        }),
      );
      const res = await request(`${serve.url}/v1/events/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/x-ndjson' },
        body: lines.join('\n') + '\n',
      });
      assert.equal(res.status, 202, res.text.slice(0, 300));
      assert.equal(res.body.failedRecordCount, 0);
      end += 4;
    }
    // The sampler shows a group behind retention at the partition's first offset (its committed offset is below).
    let offsetStart = 0;
    await waitUntil(async () => {
      const p = (await stats()).consumers.partitions[0];
      offsetStart = p.offsetCommitted;
      return p.offsetEnd === end && offsetStart > 1;
    });
    assert.ok(offsetStart < end);

    assert.equal((await adminCall(serve, '/admin/consumers/resume', 'POST')).status, 200);
    await waitUntil(async () => {
      const s = await stats();
      return s.consumers.running && s.consumers.lagEvents === 0 && s.consumers.removedBeforeConsumed > 0;
    }, 30_000);
    const s = await stats();
    assert.equal(s.consumers.removedBeforeConsumed, offsetStart - 1);
    assert.deepEqual(s.consumers.removedBeforeConsumedByPartition, { '0': offsetStart - 1 });
    assert.equal(s.consumers.restarts, 0, JSON.stringify(s.consumers.lastError));
    const metrics = await fetchMetrics(serve);
    assert.ok(
      metrics.includes(`shock_consumer_removed_before_consumed_total{group="sink",partition="0"} ${offsetStart - 1}\n`),
      metrics
        .split('\n')
        .filter((l) => l.includes('removed_before'))
        .join('\n'),
    );
    const skips = serve
      .output()
      .stderr.split('\n')
      .filter((l) => l.includes('"event":"retention_skip"'))
      .map((l) => JSON.parse(l));
    assert.equal(skips.length, 1, serve.output().stderr);
    assert.equal(skips[0].level, 'warn');
    assert.deepEqual(skips[0].details, {
      group: 'sink',
      partition: 0,
      from: 1,
      to: offsetStart,
      records: offsetStart - 1,
      generation: 0,
    });
    assert.deepEqual(sinkOffsets(dataDir), [
      0,
      ...Array.from({ length: end - offsetStart }, (_, i) => offsetStart + i),
    ]);

    const stopped = await serve.stop('SIGTERM');
    assert.equal(stopped.code, 0, serve.output().stderr);
  } finally {
    await serve.stop('SIGKILL');
    t.cleanup();
  }
});
