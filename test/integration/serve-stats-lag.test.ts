/**
 * `/v1/stats` reads the consumer lag for each request (the log's durable end offsets minus the group's committed
 * offsets), not from the once-a-second sample: right after events are answered 202 with the consumers paused, the
 * lag counts exactly those events; once the committed offsets on disk reach the end, the very next request reads 0.
 * Nothing here waits for a sample to happen.
 */
import type { PartitionLag } from '../../src/cell/stats.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli.js';
import {
  adminCall,
  fetchMetrics,
  fetchStats,
  request,
  startServe,
  testKeys,
  waitUntil,
  writeConfig,
  type ServeProcess,
} from '../helpers/cell-serve.js';

const temp = tempDir('shock-serve-stats-lag-');
const partitions = 2;
let serve: ServeProcess;
let dataDir: string;

before(async () => {
  dataDir = join(temp.dir, 'data');
  const configFile = writeConfig(temp.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 100_000, burst: 100_000 }],
    log: { partitions },
    consumers: { workers: 1 },
    schemas: { 'page.view': { type: 'object', required: ['url'] } },
  });
  serve = await startServe(dataDir, ['--config', configFile]);
});

after(async () => {
  await serve?.stop('SIGTERM');
  temp.cleanup();
});

async function stats(): Promise<{ consumers: { paused: boolean; lagEvents: number; partitions: PartitionLag[] } }> {
  return await fetchStats(serve);
}

/** Sends `n` events in one batch; returns the end offset per partition their 202 answers imply. */
async function sendBatch(tag: string, n: number, ends: number[]): Promise<void> {
  const events = Array.from({ length: n }, (_, i) => ({
    type: 'page.view',
    payload: { url: `/${tag}/${i}` },
    key: `user-${tag}-${i}`,
  }));
  const res = await request(`${serve.url}/v1/events/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  assert.equal(res.status, 202, res.text);
  assert.equal(res.body.failedRecordCount ?? 0, 0, res.text);
  for (const r of res.body.records as { partition: number; offset: number }[]) {
    ends[r.partition] = Math.max(ends[r.partition], r.offset + 1);
  }
}

/** The group's committed offset of a partition as the file log keeps it on disk (0 before its first commit). */
function committedOnDisk(partition: number): number {
  try {
    const text = readFileSync(join(dataDir, 'log', 'offsets', 'sink', `${partition}.json`), 'utf8');
    return (JSON.parse(text) as { offset: number }).offset;
  } catch {
    return 0;
  }
}

function admin(path: string) {
  return adminCall(serve, path, 'POST');
}

test('serve stats lag - read at the request: N events behind paused consumers at once, 0 once committed', async () => {
  const ends = Array.from({ length: partitions }, () => 0);
  // A first batch, consumed and committed (on disk) before the consumers are paused.
  await sendBatch('a', 10, ends);
  await waitUntil(() => ends.every((end, p) => committedOnDisk(p) === end), 30_000, 50);
  const caughtUp = await stats();
  assert.equal(caughtUp.consumers.lagEvents, 0);

  // Paused (the pause reaches the worker before any later append does), then N more events, then at once the stats.
  assert.equal((await admin('/admin/consumers/pause')).body.consumers, 'paused');
  const n = 24;
  await sendBatch('b', n, ends);
  const paused = await stats();
  assert.equal(paused.consumers.paused, true);
  assert.deepEqual(
    paused.consumers.partitions.map((p) => p.offsetEnd),
    ends,
    'each partition ends where the 202 answers say',
  );
  assert.equal(paused.consumers.lagEvents, n, 'the events just answered 202 are counted at once');
  assert.equal(
    paused.consumers.partitions.reduce((sum, p) => sum + p.lagEvents, 0),
    n,
  );
  for (const p of paused.consumers.partitions) {
    assert.equal(p.lagEvents, p.offsetEnd - p.offsetCommitted);
    assert.equal(p.offsetCommitted, committedOnDisk(p.partition), 'nothing was consumed while paused');
  }
  // The admin route and the metrics read the same lag.
  assert.equal((await adminCall(serve, '/admin/stats')).body.consumers.lagEvents, n);
  const metrics = await fetchMetrics(serve);
  const lagSum = [...metrics.matchAll(/^shock_consumer_lag\{group="sink",partition="\d+"[^}]*\} (\d+)$/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
  assert.equal(lagSum, n, 'shock_consumer_lag adds up to the events waiting');

  // Resumed: as soon as the committed offsets on disk reach the end, the next request reads 0.
  assert.equal((await admin('/admin/consumers/resume')).body.consumers, 'running');
  await waitUntil(() => ends.every((end, p) => committedOnDisk(p) === end), 30_000, 20);
  const drained = await stats();
  assert.equal(drained.consumers.lagEvents, 0, 'committed to the end: no lag, without waiting for a sample');
  for (const p of drained.consumers.partitions) {
    assert.equal(p.offsetCommitted, ends[p.partition]);
    assert.equal(p.lagEvents, 0);
    assert.equal(p.lagSeconds, 0, 'no lag in events: no lag in seconds either');
  }
});
