/**
 * Consumer failures of a running `shock serve` are visible, and the consumers recover once the fault is gone:
 *
 * 1. a sink failure: the test holds SQLite's write lock on the cell's sink file (a real writer in another process,
 *    `BEGIN IMMEDIATE`), so the consumer's writes time out (`SQLITE_BUSY`), its retries run out, its worker ends
 *    with SHOCK_SINK_IO and the supervisor restarts it (and again, while the lock is held);
 * 2. a crash: the handler module throws outside its promise while a marker file exists, which ends the worker
 *    thread with an uncaught error (no code: reason `crash`).
 *
 * Each time: a `worker_restart` JSON line on the process's stderr, `shock_consumer_restarts_total{group,reason}` in
 * /metrics, the count and the last error (code, message, time) in /v1/stats. When the lock is released and the
 * marker removed, every accepted event reaches the sink exactly once and the lag drains to 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/cli.js';
import {
  dashboardUrl,
  fetchMetrics,
  fetchStats,
  postEvent,
  request,
  startServe,
  testKeys,
  waitUntil,
  writeConfig,
} from '../helpers/cell-serve.js';
import { eventLine } from '../../src/cli/commands/serve.js';

/** The value of one sample of `/metrics` text, or undefined. */
function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = /^[^{]+\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const got = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (
      Object.entries(labels).every(([k, v]) => got[k] === v) &&
      Object.keys(got).length === Object.keys(labels).length
    )
      return Number(m[2]);
  }
  return undefined;
}

/** The JSON event lines on stderr. */
function stderrEvents(stderr: string): any[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as unknown);
}

test(
  'serve consumer restart - a sink failure and a worker crash are printed, counted and recovered from',
  { timeout: 120_000 },
  async () => {
    const t = tempDir('shock-serve-restart-');
    const marker = join(t.dir, 'crash-now');
    const handler = join(t.dir, 'crashing-handler.mjs');
    writeFileSync(
      handler,
      `import { existsSync } from 'node:fs';
export default async function handle(events) {
  if (existsSync(${JSON.stringify(marker)})) {
    setImmediate(() => { throw new Error('the test handler crashed its worker'); });
    await new Promise(() => undefined);
  }
  return events.map((e) => ({ type: e.type }));
}
`,
    );
    const config = writeConfig(t.dir, {
      tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 100_000, burst: 100_000 }],
      log: { partitions: 2 },
      consumers: { workers: 1, handler },
      limits: {
        consumeSinkBusyTimeoutMs: 100,
        consumeSinkRetriesMax: 1,
        consumeBackoffBaseMs: 50,
        consumeRestartBackoffMaxMs: 400,
        consumeBatchWaitMs: 5,
      },
    });
    const dataDir = join(t.dir, 'data');
    const sinkPath = join(dataDir, 'sink.sqlite');
    const serve = await startServe(dataDir, ['--config', config]);
    let lock: Database.Database | undefined;
    const stats = async () => await fetchStats(serve);
    const metrics = async () => await fetchMetrics(serve);
    const sinkRows = () => {
      const db = new Database(sinkPath, { readonly: true, timeout: 5000 });
      try {
        return db.prepare("SELECT count(*) FROM results WHERE consumer_group = 'sink'").pluck().get() as number;
      } finally {
        db.close();
      }
    };
    const drained = async (rows: number) => {
      const s = await stats();
      return s.consumers.running && s.consumers.lagEvents === 0 && sinkRows() === rows;
    };
    let sent = 0;
    const post = async () => {
      const res = await postEvent(serve.url, testKeys.acme.key, {
        event_id: `ev-${sent++}`,
        type: 'page.view',
        payload: { url: '/' },
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
    };
    try {
      // Healthy: the series exist from the start, at 0; /v1/stats says no restart and no error.
      const m0 = await metrics();
      assert.equal(metricValue(m0, 'shock_consumer_restarts_total', { group: 'sink', reason: 'crash' }), 0);
      for (const partition of ['0', '1']) {
        assert.equal(metricValue(m0, 'shock_consumer_removed_before_consumed_total', { group: 'sink', partition }), 0);
      }
      const s0 = await stats();
      assert.equal(s0.consumers.restarts, 0);
      assert.deepEqual(s0.consumers.restartsByReason, {});
      assert.equal(s0.consumers.lastError, null);
      assert.equal(s0.consumers.removedBeforeConsumed, 0);
      await post();
      await waitUntil(() => drained(1), 30_000);

      // 1. The sink's write lock is held by another process: writes time out, the worker ends and is restarted.
      lock = new Database(sinkPath);
      lock.exec('BEGIN IMMEDIATE');
      const beforeMs = Date.now();
      for (let i = 0; i < 3; i++) await post();
      await waitUntil(() => stderrEvents(serve.output().stderr).some((e) => e.event === 'worker_restart'), 30_000);
      const line = stderrEvents(serve.output().stderr).find((e) => e.event === 'worker_restart');
      assert.equal(line.level, 'warn');
      assert.equal(line.details.reason, 'SHOCK_SINK_IO');
      assert.equal(line.details.code, 'SHOCK_SINK_IO');
      assert.equal(line.details.group, 'sink');
      assert.equal(line.details.worker, 0);
      assert.deepEqual(line.details.partitions, [0, 1]);
      assert.match(line.message, /consumer worker 0 of group sink ended \(SHOCK_SINK_IO: .*\); restarting in \d+ ms/);
      assert.ok(!Number.isNaN(Date.parse(line.time)));
      const m1 = await metrics();
      assert.ok(
        (metricValue(m1, 'shock_consumer_restarts_total', { group: 'sink', reason: 'SHOCK_SINK_IO' }) ?? 0) >= 1,
        m1
          .split('\n')
          .filter((l) => l.includes('restarts'))
          .join('\n'),
      );
      const s1 = await stats();
      assert.ok(s1.consumers.restarts >= 1);
      assert.ok(s1.consumers.restartsByReason.SHOCK_SINK_IO >= 1);
      assert.equal(s1.consumers.lastError.code, 'SHOCK_SINK_IO');
      assert.equal(s1.consumers.lastError.reason, 'SHOCK_SINK_IO');
      assert.match(s1.consumers.lastError.message, /locked|busy/i);
      assert.ok(s1.consumers.lastError.atMs >= beforeMs && s1.consumers.lastError.atMs <= Date.now());
      assert.equal(Date.parse(s1.consumers.lastError.at), s1.consumers.lastError.atMs);
      assert.ok(s1.consumers.lagEvents > 0 || sinkRows() < 4, 'the events wait while the sink is locked');

      // The lock goes: the restarted worker writes the events, once each.
      lock.exec('ROLLBACK');
      lock.close();
      lock = undefined;
      await waitUntil(() => drained(4), 30_000);
      const sinkRestarts = (await stats()).consumers.restarts;

      // 2. The handler crashes its worker thread (an uncaught error, no code).
      writeFileSync(marker, '');
      await post();
      await waitUntil(async () => (await stats()).consumers.restartsByReason.crash >= 1, 30_000);
      const crash = stderrEvents(serve.output().stderr).find(
        (e) => e.event === 'worker_restart' && e.details.reason === 'crash',
      );
      assert.ok(crash, serve.output().stderr);
      assert.equal(crash.details.code, null);
      assert.match(crash.message, /the test handler crashed its worker/);
      const s2 = await stats();
      assert.equal(s2.consumers.lastError.code, null);
      assert.equal(s2.consumers.lastError.reason, 'crash');
      assert.match(s2.consumers.lastError.message, /the test handler crashed its worker/);
      assert.ok(s2.consumers.restarts > sinkRestarts);
      assert.equal(
        s2.consumers.restarts,
        Object.values(s2.consumers.restartsByReason as Record<string, number>).reduce((a, n) => a + n, 0),
      );
      const m2 = await metrics();
      assert.ok((metricValue(m2, 'shock_consumer_restarts_total', { group: 'sink', reason: 'crash' }) ?? 0) >= 1);

      rmSync(marker);
      await waitUntil(() => drained(5), 30_000);
      // Recovered: no more restarts once the fault is gone.
      const settled = (await stats()).consumers.restarts;
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal((await stats()).consumers.restarts, settled);
      assert.ok(
        (await request(dashboardUrl(serve))).text.includes('data-k="restarts"'),
        'the dashboard shows restarts',
      );

      const stopped = await serve.stop('SIGTERM');
      assert.equal(stopped.code, 0, serve.output().stderr);
    } finally {
      if (lock?.inTransaction) lock.exec('ROLLBACK');
      lock?.close();
      if (existsSync(marker)) rmSync(marker);
      await serve.stop('SIGKILL');
      t.cleanup();
    }
  },
);

test('serve consumer restart - an event is one warning line on stderr, or one JSON line with --json', () => {
  const event = {
    level: 'warn' as const,
    kind: 'retention_skip',
    message: 'partition 3 of group sink: 12 record(s) removed by retention before they were consumed',
    details: { group: 'sink', partition: 3, from: 5, to: 17, records: 12 },
  };
  assert.equal(
    eventLine(event, false),
    'shock serve warn: partition 3 of group sink: 12 record(s) removed by retention before they were consumed ' +
      '{"group":"sink","partition":3,"from":5,"to":17,"records":12}\n',
  );
  const json = eventLine(event, true);
  assert.ok(json.endsWith('\n') && !json.slice(0, -1).includes('\n'));
  const parsed = JSON.parse(json);
  assert.equal(parsed.event, 'retention_skip');
  assert.equal(parsed.level, 'warn');
  assert.equal(parsed.message, event.message);
  assert.deepEqual(parsed.details, event.details);
  assert.ok(!Number.isNaN(Date.parse(parsed.time)));
});
