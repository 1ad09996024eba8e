/**
 * Consumers behind the file log's retention: records the group never consumed are removed (small segments, a small
 * `retentionBytesMax`) while the consumers are paused, or while they are stopped. The consumer resumes at the
 * partition's first remaining offset and makes the jump visible: one `retention_skip` event per jump with its
 * from/to offsets, `removedBeforeConsumed` in the stats, and the jump committed (a restart does not count it again).
 * Real files, a real SQLite sink, real worker threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir, repoRoot } from '../helpers/cli.js';
import { appendEvents, testEvent, waitUntil } from '../helpers/consume-events.js';
import { openFileLog, type FileLog } from '../../src/log/index.js';
import { startConsumers, type ConsumerSupervisor, type SupervisorEvent } from '../../src/consume/index.js';

const testHandlerPath = join(repoRoot, 'test/helpers/consume-handler.ts');
const quick = { consumeBackoffBaseMs: 1, consumeBackoffMaxMs: 5, consumeBatchWaitMs: 5, consumeIdleWaitMs: 100 };

function sinkOffsets(sinkPath: string): number[] {
  const db = new Database(sinkPath, { readonly: true });
  try {
    return db
      .prepare("SELECT log_offset FROM results WHERE consumer_group = 'g' ORDER BY log_offset")
      .pluck()
      .all() as number[];
  } finally {
    db.close();
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/**
 * Appends `n` events (payload padded so a few fill a segment) from index `first`, two per append: an append is
 * written whole into one segment, so small appends let segments roll (and retention run at each roll).
 */
async function append(log: FileLog, first: number, n: number): Promise<number> {
  let end = 0;
  for (let i = 0; i < n; i += 2) {
    const events = Array.from({ length: Math.min(2, n - i) }, (_, k) =>
      testEvent(0, first + i + k, { pad: 'x'.repeat(200) }),
    );
    end = (await appendEvents(log, 0, events)).end;
  }
  return end;
}

/** One partition of small segments (~6 records each) with limits retention of about three segments. */
function openSmallLog(dir: string) {
  return openFileLog({
    dir: join(dir, 'log'),
    partitions: 1,
    segmentBytesMax: 2048,
    retentionPolicy: 'limits',
    retentionBytesMax: 6144,
    logger: () => undefined,
  });
}

test('consume retention skip - paused consumers behind retention resume at the first remaining offset and report the jump once', async () => {
  const tmp = tempDir('shock-consume-retention-');
  // ~330-byte records: a segment rolls every ~6 records; retention keeps ~3 segments.
  const log = await openSmallLog(tmp.dir);
  const sinkPath = join(tmp.dir, 'sink.db');
  const events: SupervisorEvent[] = [];
  let sup: ConsumerSupervisor | undefined;
  try {
    sup = await startConsumers({
      log,
      group: 'g',
      workers: 1,
      handlerPath: testHandlerPath,
      sinkPath,
      limits: quick,
      onEvent: (e) => events.push(e),
    });
    const s0 = sup;
    let end = await append(log, 0, 5);
    await waitUntil(() => log.offsets.get('g', 0) === 5, 'the first 5 events committed');
    assert.equal(log.state(0).offsetStart, 0, 'nothing removed yet');

    // Paused, the group falls behind while retention removes the oldest segments.
    sup.pause();
    await waitUntil(() => s0.snapshot().partitions[0].state === 'paused', 'the partition paused');
    end = await append(log, 5, 120);
    const start1 = log.state(0).offsetStart;
    assert.ok(start1 > 5, `retention removed records the group had not consumed (offsetStart ${start1})`);
    assert.equal(log.offsets.get('g', 0), 5);

    sup.resume();
    await waitUntil(() => log.offsets.get('g', 0) === end, 'the group caught up', 30_000);
    const skips = events.filter((e) => e.kind === 'retention_skip');
    assert.equal(skips.length, 1, JSON.stringify(events));
    assert.equal(skips[0].level, 'warn');
    assert.deepEqual(skips[0].details, { group: 'g', partition: 0, from: 5, to: start1, records: start1 - 5 });
    assert.match(skips[0].message, new RegExp(`${start1 - 5} record\\(s\\) removed by retention`));
    const snap = await sup.stats();
    assert.equal(snap.partitions[0].removedBeforeConsumed, start1 - 5);
    assert.equal(snap.totals.removedBeforeConsumed, start1 - 5);
    assert.equal(snap.totals.restarts, 0, 'the jump needs no worker restart');
    assert.deepEqual(snap.totals.restartsByReason, {});
    assert.equal(snap.lastError, null);
    // Exactly the records consumed before the pause and every record left after the jump, none twice.
    assert.deepEqual(sinkOffsets(sinkPath), [...range(0, 5), ...range(start1, end)]);

    // Stopped (not paused) this time: the next supervisor finds its committed offset below the first one left.
    await sup.stop();
    sup = undefined;
    const committed = log.offsets.get('g', 0);
    assert.equal(committed, end);
    end = await append(log, 125, 120);
    const start2 = log.state(0).offsetStart;
    assert.ok(start2 > committed, `retention removed records again (offsetStart ${start2}, committed ${committed})`);
    events.length = 0;
    sup = await startConsumers({
      log,
      group: 'g',
      workers: 1,
      handlerPath: testHandlerPath,
      sinkPath,
      limits: quick,
      onEvent: (e) => events.push(e),
    });
    await waitUntil(() => log.offsets.get('g', 0) === end, 'the group caught up again', 30_000);
    const atStart = events.filter((e) => e.kind === 'retention_skip');
    assert.equal(atStart.length, 1, JSON.stringify(events));
    assert.deepEqual(atStart[0].details, {
      group: 'g',
      partition: 0,
      from: committed,
      to: start2,
      records: start2 - committed,
    });
    assert.equal((await sup.stats()).partitions[0].removedBeforeConsumed, start2 - committed);
    assert.deepEqual(sinkOffsets(sinkPath), [...range(0, 5), ...range(start1, committed), ...range(start2, end)]);

    // The jump was committed: a restart on the same log reports nothing more.
    await sup.stop();
    events.length = 0;
    sup = await startConsumers({ log, group: 'g', workers: 1, handlerPath: testHandlerPath, sinkPath, limits: quick });
    const again = await sup.stats();
    assert.equal(again.partitions[0].removedBeforeConsumed, 0);
    assert.equal(events.length, 0);
  } finally {
    await sup?.stop();
    await log.close();
    tmp.cleanup();
  }
});

test('consume retention skip - a group that never committed starts at the first remaining offset without a skip', async () => {
  const tmp = tempDir('shock-consume-retention-');
  const log = await openSmallLog(tmp.dir);
  const sinkPath = join(tmp.dir, 'sink.db');
  const events: SupervisorEvent[] = [];
  let sup: ConsumerSupervisor | undefined;
  try {
    const end = await append(log, 0, 60);
    const start = log.state(0).offsetStart;
    assert.ok(start > 0);
    sup = await startConsumers({
      log,
      group: 'g',
      workers: 1,
      handlerPath: testHandlerPath,
      sinkPath,
      limits: quick,
      onEvent: (e) => events.push(e),
    });
    await waitUntil(() => log.offsets.get('g', 0) === end, 'the new group consumed what is left', 30_000);
    assert.equal(events.filter((e) => e.kind === 'retention_skip').length, 0);
    assert.equal((await sup.stats()).totals.removedBeforeConsumed, 0);
    assert.deepEqual(sinkOffsets(sinkPath), range(start, end));
  } finally {
    await sup?.stop();
    await log.close();
    tmp.cleanup();
  }
});
