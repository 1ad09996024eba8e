/**
 * Retention of the embedded file log in a running `shock serve` (real process, real files), under the default
 * interest policy: with `log.retention.maxAge: 2s`, 4 KiB segments and the consumers paused, no retention check
 * removes anything the group has not consumed, however many checks run past maxAge (counted by
 * `shock_log_retention_checks_total`, so the test waits for checks, never for a timer); once consumed, the periodic
 * check removes the old segments without any append, never the active one, and `shock log inspect` shows it. Across
 * a reshard with paused consumers, neither the sealed generation (held) nor the new active one (interest) loses a
 * record; every accepted event reaches the sink exactly once. With `maxBytes`, unconsumed records at the limit make
 * the ingress answer 503 SHOCK_LOG_FULL with Retry-After (counted in /metrics, shown in /v1/stats and on the
 * dashboard) instead of deleting, and appends resume by themselves once the consumers catch up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli, tempDir } from '../helpers/cli.js';
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
  type ServeProcess,
} from '../helpers/cell-serve.js';
import type { DataDirReport, LogReport } from '../../src/log/index.js';

const MAX_AGE_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function eventLine(prefix: string, i: number): string {
  return JSON.stringify({
    event_id: `${prefix}-${i}`,
    type: 'page.view',
    key: `key-${i % 7}`,
    payload: { url: `/${prefix}/${i}`.padEnd(120, 'x') },
  });
}

/** Sends `count` events in NDJSON batches of up to 100; returns the accepted event ids. */
async function sendBatches(url: string, prefix: string, count: number): Promise<string[]> {
  const acked: string[] = [];
  for (let from = 0; from < count; from += 100) {
    const lines = [];
    for (let i = from; i < Math.min(count, from + 100); i++) lines.push(eventLine(prefix, i));
    const res = await request(`${url}/v1/events/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/x-ndjson' },
      body: lines.join('\n') + '\n',
    });
    assert.equal(res.status, 202, res.text.slice(0, 500));
    assert.equal(res.body.failedRecordCount, 0, res.text.slice(0, 500));
    for (const r of res.body.records as { event_id: string }[]) acked.push(r.event_id);
  }
  return acked;
}

async function inspect(target: string): Promise<LogReport> {
  const r = await runCli(['log', 'inspect', target, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as LogReport;
}

async function inspectData(dataDir: string): Promise<DataDirReport> {
  const r = await runCli(['log', 'inspect', dataDir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as DataDirReport;
}

function segmentsOnDisk(logDir: string, p: number): string[] {
  return readdirSync(join(logDir, 'partitions', String(p)))
    .filter((n) => n.endsWith('.log'))
    .sort();
}

function sinkEventIds(dataDir: string): string[] {
  const db = new Database(join(dataDir, 'sink.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT event_id FROM results').all() as { event_id: string }[]).map((r) => r.event_id);
  } finally {
    db.close();
  }
}

/** The samples of one metric by partition label (the active generation's partitions). */
function byPartition(metrics: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  const re = new RegExp(`^${name}\\{partition="(\\d+)"\\} (\\S+)$`, 'gm');
  for (const m of metrics.matchAll(re)) out.set(Number(m[1]), Number(m[2]));
  return out;
}

function unlabelled(metrics: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics);
  return m ? Number(m[1]) : NaN;
}

/**
 * Waits until every partition of the active generation ran at least two retention checks that began after
 * `notBeforeMs` (two, because a check running when it is first read may have started earlier).
 */
async function retentionChecksSince(serve: ServeProcess, notBeforeMs: number): Promise<void> {
  const wait = notBeforeMs - Date.now();
  if (wait > 0) await sleep(wait);
  const before = byPartition(await fetchMetrics(serve), 'shock_log_retention_checks_total');
  assert.ok(before.size > 0, 'the retention check counter is exported');
  await waitUntil(
    async () => {
      const now = byPartition(await fetchMetrics(serve), 'shock_log_retention_checks_total');
      return [...before].every(([p, n]) => (now.get(p) ?? 0) >= n + 2);
    },
    30_000,
    200,
  );
}

test('serve retention - interest: nothing unconsumed is removed however long past maxAge; consumed segments go; a reshard loses nothing', async () => {
  const t = tempDir('shock-serve-retention-');
  const dataDir = join(t.dir, 'data');
  const gen0 = join(dataDir, 'log');
  const config = writeConfig(t.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 1_000_000, burst: 1_000_000 }],
    log: { partitions: 2, segmentBytesMax: 4096, retention: { maxAge: '2s' } },
    consumers: { workers: 1 },
  });
  const serve = await startServe(dataDir, ['--config', config]);
  try {
    // The consumers are stopped before anything is sent: every record stays unconsumed.
    assert.equal((await adminCall(serve, '/admin/consumers/pause', 'POST')).status, 200);
    const acked = await sendBatches(serve.url, 'a', 300);
    const sentMs = Date.now();
    const filled = [segmentsOnDisk(gen0, 0), segmentsOnDisk(gen0, 1)];
    for (const segments of filled) assert.ok(segments.length >= 3, `rolled: ${segments.join(' ')}`);

    // Retention checks that began after every record was older than maxAge: nothing goes, nothing was consumed.
    await retentionChecksSince(serve, sentMs + MAX_AGE_MS + 100);
    assert.deepEqual([segmentsOnDisk(gen0, 0), segmentsOnDisk(gen0, 1)], filled, 'no unconsumed segment removed');
    const kept = await inspect(gen0);
    assert.deepEqual(
      kept.partitionReports.map((p) => p.offsetStart),
      [0, 0],
    );
    assert.deepEqual(kept.retention && [kept.retention.policy, kept.retention.retentionMs], ['interest', 2000]);
    const text = await runCli(['log', 'inspect', gen0]);
    assert.match(text.stdout, /^retention: maxAge 2s, policy interest$/m);
    assert.equal((await fetchStats(serve)).consumers.removedBeforeConsumed, 0);

    // Consumed: the periodic check removes the old segments without any append, never the active one.
    assert.equal((await adminCall(serve, '/admin/consumers/resume', 'POST')).status, 200);
    await waitUntil(() => sinkEventIds(dataDir).length === acked.length, 30_000, 50);
    await waitUntil(() => [0, 1].every((p) => segmentsOnDisk(gen0, p).length === 1), 15_000, 100);
    const trimmed = await inspect(gen0);
    for (const p of trimmed.partitionReports) {
      const active = filled[p.partition][filled[p.partition].length - 1];
      assert.deepEqual(segmentsOnDisk(gen0, p.partition), [active], 'the active segment is never removed');
      assert.equal(p.offsetStart, Number(active.slice(0, 20)), 'the new first offset');
      assert.ok(p.offsetStart > 0);
    }
    assert.equal(
      trimmed.partitionReports.reduce((sum, p) => sum + p.offsetEnd, 0),
      300,
      'the ends still count every event',
    );

    // A reshard while the consumers are paused: generation 0 is sealed with unconsumed records and holds them;
    // the new active generation takes events its own consumers cannot read before the drain: under interest
    // retention it keeps them, however long past maxAge (what limits retention lost on a busy machine).
    assert.equal((await adminCall(serve, '/admin/consumers/pause', 'POST')).status, 200);
    acked.push(...(await sendBatches(serve.url, 'b', 300)));
    const reshard = await adminCall(serve, '/admin/reshard', 'POST', { partitions: 3 });
    assert.equal(reshard.status, 200, reshard.text);
    const sealedEnd = reshard.body.generations[0].sealedEnd as number[];
    acked.push(...(await sendBatches(serve.url, 'c', 300)));
    const resentMs = Date.now();
    const gen1 = join(dataDir, 'log-g1');
    const atSeal = [segmentsOnDisk(gen0, 0), segmentsOnDisk(gen0, 1)];
    const gen1Filled = [0, 1, 2].map((p) => segmentsOnDisk(gen1, p));
    assert.ok(atSeal.every((s) => s.length >= 3));
    assert.ok(
      gen1Filled.every((s) => s.length >= 3),
      gen1Filled.join(' | '),
    );
    await retentionChecksSince(serve, resentMs + MAX_AGE_MS + 100);
    assert.deepEqual([segmentsOnDisk(gen0, 0), segmentsOnDisk(gen0, 1)], atSeal, 'the sealed generation keeps all');
    assert.deepEqual(
      [0, 1, 2].map((p) => segmentsOnDisk(gen1, p)),
      gen1Filled,
      'the active generation keeps what nobody consumed',
    );
    const draining = await inspectData(dataDir);
    assert.deepEqual(
      draining.generations.map((g) => [g.gen, g.state, g.retentionState]),
      [
        [0, 'sealed', 'held'],
        [1, 'active', 'active'],
      ],
    );
    const g0 = draining.generations[0];
    assert.deepEqual(g0.sealedEnd, sealedEnd);
    const lag0 = g0.groups.find((g) => g.group === 'sink')!;
    for (const row of lag0.partitions) assert.equal(row.behindRetention, false);
    assert.equal(lag0.lag, 300);
    assert.equal(draining.groups.find((g) => g.group === 'sink')!.lagTotal, 600);
    const drainingText = await runCli(['log', 'inspect', dataDir]);
    assert.match(
      drainingText.stdout,
      /retention: held until the generation retires \(configured: maxAge 2s, policy interest\)/,
    );

    // Resumed: generation 0 drains, retires and goes as a whole; generation 1 is consumed, then trimmed.
    assert.equal((await adminCall(serve, '/admin/consumers/resume', 'POST')).status, 200);
    await waitUntil(async () => (await adminCall(serve, '/admin/reshard')).body.state === 'idle', 30_000);
    assert.equal(existsSync(gen0), false, 'the retired generation is deleted');
    await waitUntil(
      async () => (await inspectData(dataDir)).groups.find((g) => g.group === 'sink')?.lagTotal === 0,
      30_000,
      200,
    );
    await waitUntil(
      async () => (await inspect(gen1)).partitionReports.every((p) => p.segments.length === 1),
      15_000,
      500,
    );
    const ids = sinkEventIds(dataDir);
    assert.equal(new Set(ids).size, ids.length, 'no event stored twice');
    assert.deepEqual(new Set(ids), new Set(acked), 'every accepted event reached the sink');
    assert.equal((await fetchStats(serve)).consumers.removedBeforeConsumed, 0);
  } finally {
    const stopped = await serve.stop('SIGTERM');
    assert.equal(stopped.code, 0, serve.output().stderr);
    t.cleanup();
  }
});

test('serve retention - unconsumed records at maxBytes: 503 SHOCK_LOG_FULL with Retry-After, counted, shown; clears once consumed', async () => {
  const t = tempDir('shock-serve-logfull-');
  const dataDir = join(t.dir, 'data');
  const config = writeConfig(t.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 1_000_000, burst: 1_000_000 }],
    log: { partitions: 1, segmentBytesMax: 4096, retention: { maxBytes: 16384 } },
    consumers: { workers: 1 },
  });
  const serve = await startServe(dataDir, ['--config', config]);
  try {
    assert.equal((await adminCall(serve, '/admin/consumers/pause', 'POST')).status, 200);
    const acked: string[] = [];
    let full: Awaited<ReturnType<typeof postEvent>> | undefined;
    // ~300-byte records: about 55 fit under 16 KiB. Bounded: the log must be full long before 500.
    for (let i = 0; i < 500 && full === undefined; i++) {
      const res = await postEvent(serve.url, testKeys.acme.key, {
        event_id: `f-${i}`,
        type: 'page.view',
        payload: { url: `/${i}`.padEnd(200, 'x') },
      });
      if (res.status === 202) acked.push(`f-${i}`);
      else full = res;
    }
    assert.ok(full !== undefined, 'the log got full');
    assert.ok(acked.length >= 40, `${acked.length} accepted before`);
    assert.equal(full.status, 503, JSON.stringify(full.body));
    assert.equal(full.body.error.code, 'SHOCK_LOG_FULL');
    assert.equal(full.body.error.details.retentionBytesMax, 16384);
    assert.ok(Number(full.headers.get('retry-after')) >= 1, 'Retry-After says when to try again');
    // A batch gets the same answer, per record too.
    const batch = await request(`${serve.url}/v1/events/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/x-ndjson' },
      body: `${eventLine('fb', 0)}\n${eventLine('fb', 1)}\n`,
    });
    assert.equal(batch.status, 503, batch.text);
    assert.equal(batch.body.error.code, 'SHOCK_LOG_FULL');
    assert.ok(Number(batch.headers.get('retry-after')) >= 1);
    assert.deepEqual(
      (batch.body.records as { errorCode: string; retriable: boolean }[]).map((r) => [r.errorCode, r.retriable]),
      [
        ['SHOCK_LOG_FULL', true],
        ['SHOCK_LOG_FULL', true],
      ],
    );

    const metrics = await fetchMetrics(serve);
    assert.equal(unlabelled(metrics, 'shock_ingress_log_full_total'), 3, 'one single event and a batch of two');
    assert.equal(byPartition(metrics, 'shock_log_full').get(0), 1);
    assert.ok(byPartition(metrics, 'shock_log_unconsumed_bytes').get(0)! >= 16384);
    const stats = await fetchStats(serve);
    assert.equal(stats.log.partitions[0].full, true);
    assert.ok(stats.log.partitions[0].unconsumedBytes >= 16384);
    const page = await adminCall(serve, '/');
    assert.match(page.text, /data-k="logFull"/, 'the dashboard shows it');
    // Nothing was removed to make room.
    const inspected = await inspect(join(dataDir, 'log'));
    assert.deepEqual(
      [inspected.partitionReports[0].offsetStart, inspected.partitionReports[0].offsetEnd],
      [0, acked.length],
    );

    // The consumers catch up: appends resume by themselves (the client retries as Retry-After says).
    assert.equal((await adminCall(serve, '/admin/consumers/resume', 'POST')).status, 200);
    let n = 0;
    await waitUntil(
      async () => {
        const id = `r-${n++}`;
        const res = await postEvent(serve.url, testKeys.acme.key, {
          event_id: id,
          type: 'page.view',
          payload: { url: '/r' },
        });
        if (res.status === 202) acked.push(id);
        else assert.equal(res.body.error.code, 'SHOCK_LOG_FULL');
        return res.status === 202;
      },
      30_000,
      200,
    );
    await waitUntil(async () => byPartition(await fetchMetrics(serve), 'shock_log_full').get(0) === 0, 10_000, 100);
    await waitUntil(() => sinkEventIds(dataDir).length === acked.length, 30_000, 50);
    const ids = sinkEventIds(dataDir);
    assert.deepEqual(new Set(ids), new Set(acked), 'every 202 reached the sink, exactly once; no 503 did');
    assert.equal(new Set(ids).size, ids.length);
    assert.match(serve.output().stderr, /is full: .*appends are refused \(SHOCK_LOG_FULL\)/);
  } finally {
    const stopped = await serve.stop('SIGTERM');
    assert.equal(stopped.code, 0, serve.output().stderr);
    t.cleanup();
  }
});
