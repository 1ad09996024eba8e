/**
 * Retention of the embedded file log in a running `shock serve` (real process, real files): with
 * `log.retention.maxAge: 2s` and 4 KiB segments, the periodic check removes whole old segments while the cell runs
 * and takes no appends (no roll needed), never the active segment; `shock log inspect` shows the new first offsets
 * and the retention. After a reshard the sealed generation 0 keeps every record (retention held) while it waits for
 * its paused consumers, then drains and retires as a whole; every accepted event reaches the sink exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli, tempDir } from '../helpers/cli.js';
import { adminCall, request, startServe, testKeys, waitUntil, writeConfig } from '../helpers/cell-serve.js';
import type { DataDirReport, LogReport } from '../../src/log/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `count` events in NDJSON batches of up to 100; returns the accepted event ids. */
async function sendBatches(url: string, prefix: string, count: number): Promise<string[]> {
  const acked: string[] = [];
  for (let from = 0; from < count; from += 100) {
    const lines = [];
    for (let i = from; i < Math.min(count, from + 100); i++) {
      lines.push(
        JSON.stringify({
          event_id: `${prefix}-${i}`,
          type: 'page.view',
          key: `key-${i % 7}`,
          payload: { url: `/${prefix}/${i}`.padEnd(120, 'x') },
        }),
      );
    }
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

test('serve retention - maxAge 2s removes old segments of a running cell, holds a draining generation, inspect shows it', async () => {
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
    const acked = await sendBatches(serve.url, 'a', 300);
    const filled = [segmentsOnDisk(gen0, 0), segmentsOnDisk(gen0, 1)];
    for (const segments of filled) assert.ok(segments.length >= 3, `rolled: ${segments.join(' ')}`);
    // Consumed well within maxAge (the sink holds every event; checked again at the end).
    await waitUntil(() => sinkEventIds(dataDir).length === acked.length, 30_000, 50);

    // No appends from now on: only the periodic check can remove segments. Each partition keeps its active one.
    await waitUntil(() => [0, 1].every((p) => segmentsOnDisk(gen0, p).length === 1), 15_000, 100);
    const trimmed = await inspect(gen0);
    assert.deepEqual(trimmed.retention && [trimmed.retention.retentionMs, trimmed.retention.retentionBytesMax], [
      2000,
      null,
    ]);
    for (const p of trimmed.partitionReports) {
      const active = filled[p.partition][filled[p.partition].length - 1];
      assert.deepEqual(segmentsOnDisk(gen0, p.partition), [active], 'the active segment is never removed');
      assert.equal(p.offsetStart, Number(active.slice(0, 20)), 'the new first offset');
      assert.ok(p.offsetStart > 0);
    }
    assert.equal(
      trimmed.partitionReports.reduce((sum, p) => sum + p.offsetEnd, 0),
      300,
      'no record of an active segment is removed: the ends still count every event',
    );
    const text = await runCli(['log', 'inspect', gen0]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^retention: maxAge 2s$/m);
    const p0 = trimmed.partitionReports[0];
    assert.ok(text.stdout.includes(`partition 0: offsets [${p0.offsetStart}, ${p0.offsetEnd})`), text.stdout);

    // A reshard while the consumers are paused: generation 0 is sealed with unconsumed records and holds them.
    assert.equal((await adminCall(serve, '/admin/consumers/pause', 'POST')).status, 200);
    acked.push(...(await sendBatches(serve.url, 'b', 300)));
    const reshard = await adminCall(serve, '/admin/reshard', 'POST', { partitions: 3 });
    assert.equal(reshard.status, 200, reshard.text);
    const sealedEnd = reshard.body.generations[0].sealedEnd as number[];
    const atSeal = [segmentsOnDisk(gen0, 0), segmentsOnDisk(gen0, 1)];
    assert.ok(atSeal.every((s) => s.length >= 3));
    await sleep(5000); // past maxAge and two periodic checks
    assert.deepEqual([segmentsOnDisk(gen0, 0), segmentsOnDisk(gen0, 1)], atSeal, 'the sealed generation keeps all');
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
    assert.ok(g0.log!.retention!.held);
    const lag0 = g0.groups.find((g) => g.group === 'sink')!;
    for (const row of lag0.partitions) {
      assert.equal(row.offsetEnd, sealedEnd[row.partition]);
      assert.equal(row.lag, sealedEnd[row.partition] - row.committed!);
      assert.equal(row.behindRetention, false, 'the records the paused consumers still need are all there');
    }
    assert.equal(lag0.lag, 300);
    assert.equal(draining.groups.find((g) => g.group === 'sink')!.lagTotal, 300);
    const drainingText = await runCli(['log', 'inspect', dataDir]);
    assert.match(
      drainingText.stdout,
      /^generation 0: sealed, being drained \(end recorded\) {2}2 partition\(s\) {2}dir log$/m,
    );
    assert.match(drainingText.stdout, /retention: held until the generation retires \(configured: maxAge 2s\)/);
    assert.match(drainingText.stdout, /^ {2}group sink: lag 300 {2}\(generation 0: 300, generation 1: 0\)$/m);

    // Resumed: generation 0 drains, retires and goes as a whole; generation 1 takes the new events.
    assert.equal((await adminCall(serve, '/admin/consumers/resume', 'POST')).status, 200);
    await waitUntil(async () => (await adminCall(serve, '/admin/reshard')).body.state === 'idle', 30_000);
    // The reshard reads idle only once the retired generation's directory is gone.
    assert.equal(existsSync(gen0), false, 'the retired generation is deleted');
    acked.push(...(await sendBatches(serve.url, 'c', 300)));
    const gen1 = join(dataDir, 'log-g1');
    await waitUntil(
      async () => (await inspectData(dataDir)).groups.find((g) => g.group === 'sink')?.lagTotal === 0,
      30_000,
      200,
    );
    // The active generation 1 is trimmed by the same periodic check.
    await waitUntil(
      async () => (await inspect(gen1)).partitionReports.every((p) => p.segments.length === 1),
      15_000,
      500,
    );
    const ids = sinkEventIds(dataDir);
    assert.equal(new Set(ids).size, ids.length, 'no event stored twice');
    assert.deepEqual(new Set(ids), new Set(acked), 'every accepted event reached the sink');
  } finally {
    const stopped = await serve.stop('SIGTERM');
    assert.equal(stopped.code, 0, serve.output().stderr);
    t.cleanup();
  }
});
