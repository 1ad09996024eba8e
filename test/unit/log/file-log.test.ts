import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { encodeRecords, openFileLog, openFileLogReader, type LogEvent } from '../../../src/log/index.js';
import { tempDir } from '../../helpers/cli.js';
import { startTsWorker } from '../../helpers/log-worker.js';

const rec = (value: string, key = 'k') => ({ key: Buffer.from(key), value: Buffer.from(value) });

test('file log - appends are durable, dense and read back in order across segment rolls', async () => {
  const { dir, cleanup } = tempDir('shock-log-');
  try {
    const log = await openFileLog({ dir, partitions: 3, segmentBytesMax: 256, groupCommitWindowMs: 0 });
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => log.append(1, [rec(`v${i}`), rec(`w${i}`)])),
    );
    const offsets = results.flatMap((r) => [r.baseOffset, r.baseOffset + 1]).sort((a, b) => a - b);
    assert.deepEqual(
      offsets,
      Array.from({ length: 120 }, (_, i) => i),
    );
    assert.deepEqual(log.state(1), { partition: 1, offsetStart: 0, offsetEnd: 120 });
    assert.deepEqual(log.state(0), { partition: 0, offsetStart: 0, offsetEnd: 0 });
    const all = await log.read(1, 0, { recordsMax: 1000 });
    assert.equal(all.length, 120);
    all.forEach((r, i) => assert.equal(r.offset, i));
    const byCall = new Map(results.map((r, i) => [r.baseOffset, i]));
    for (const [base, i] of byCall) assert.equal(all[base].value.toString(), `v${i}`);
    const middle = await log.read(1, 57, { recordsMax: 5 });
    assert.deepEqual(
      middle.map((r) => r.offset),
      [57, 58, 59, 60, 61],
    );
    assert.deepEqual(await log.read(1, 120), []);
    const segments = readdirSync(join(dir, 'partitions', '1')).filter((n) => n.endsWith('.log'));
    assert.ok(segments.length > 3, `small segments roll (got ${segments.length})`);
    const stats = log.stats().partitions[1];
    assert.equal(stats.records, 120);
    assert.ok(stats.fsyncs >= 1 && stats.fsyncs <= stats.batches + segments.length);
    assert.ok(stats.batches < 60, 'concurrent appends share batches');
    await log.close();
    const again = await openFileLog({ dir, partitions: 3, segmentBytesMax: 256 });
    assert.equal(again.state(1).offsetEnd, 120);
    assert.equal((await again.append(1, [rec('after')])).baseOffset, 120);
    assert.equal((await again.read(1, 119, { recordsMax: 2 }))[1].value.toString(), 'after');
    await again.close();
  } finally {
    cleanup();
  }
});

test('file log - read honours recordsMax and bytesMax and returns one record at least', async () => {
  const { dir, cleanup } = tempDir('shock-log-');
  try {
    const log = await openFileLog({ dir, partitions: 1 });
    await log.append(
      0,
      Array.from({ length: 10 }, (_, i) => rec('x'.repeat(100), String(i))),
    );
    assert.equal((await log.read(0, 0, { recordsMax: 3 })).length, 3);
    assert.equal((await log.read(0, 0, { bytesMax: 250 })).length, 3);
    assert.equal((await log.read(0, 0, { bytesMax: 1 })).length, 1);
    await log.close();
  } finally {
    cleanup();
  }
});

test('file log - bad partition, out-of-range offset, oversized record and closed log are clear errors', async () => {
  const { dir, cleanup } = tempDir('shock-log-');
  try {
    const log = await openFileLog({ dir, partitions: 2, recordBytesMax: 1000 });
    await log.append(0, [rec('a')]);
    await assert.rejects(log.append(2, [rec('a')]), { code: 'SHOCK_LOG_BAD_PARTITION' });
    await assert.rejects(log.read(5, 0), { code: 'SHOCK_LOG_BAD_PARTITION' });
    await assert.rejects(log.read(0, 2), { code: 'SHOCK_LOG_OFFSET_OUT_OF_RANGE' });
    await assert.rejects(log.read(0, -1), { code: 'SHOCK_LOG_OFFSET_OUT_OF_RANGE' });
    await assert.rejects(log.append(0, [rec('x'.repeat(1000))]), { code: 'SHOCK_LOG_RECORD_TOO_LARGE' });
    await assert.rejects(log.append(0, [{ key: 'k' as unknown as Buffer, value: Buffer.alloc(1) }]), {
      code: 'SHOCK_LOG_RECORD_INVALID',
    });
    await log.close();
    await log.close();
    await assert.rejects(log.append(0, [rec('a')]), { code: 'SHOCK_LOG_CLOSED' });
  } finally {
    cleanup();
  }
});

test('file log - a second writer is refused and a different partition count is a config error', async () => {
  const { dir, cleanup } = tempDir('shock-log-');
  try {
    const racing = await Promise.allSettled([openFileLog({ dir, partitions: 2 }), openFileLog({ dir, partitions: 2 })]);
    assert.deepEqual(racing.map((r) => r.status).sort(), ['fulfilled', 'rejected'], 'two opens racing: one wins');
    const lost = racing.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.equal((lost.reason as { code: string }).code, 'SHOCK_LOG_LOCKED');
    const log = (
      racing.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Awaited<ReturnType<typeof openFileLog>>>
    ).value;
    await assert.rejects(openFileLog({ dir, partitions: 2 }), { code: 'SHOCK_LOG_LOCKED' });
    await log.close();
    await assert.rejects(openFileLog({ dir, partitions: 3 }), (err: { code: string; message: string }) => {
      assert.equal(err.code, 'SHOCK_CONFIG_INVALID');
      assert.match(err.message, /2 partitions, not 3/);
      return true;
    });
    await (await openFileLog({ dir, partitions: 2 })).close();
  } finally {
    cleanup();
  }
});

test('file log - invalid options are reported all at once', async () => {
  await assert.rejects(
    openFileLog({ dir: '', partitions: 0, segmentBytesMax: -1 }),
    (err: { code: string; details: { problems: string[] } }) => {
      assert.equal(err.code, 'SHOCK_CONFIG_INVALID');
      assert.equal(err.details.problems.length, 3);
      return true;
    },
  );
});

test('file log - waitFor resolves on new durable data, on timeout, and on close', async () => {
  const { dir, cleanup } = tempDir('shock-log-');
  try {
    const log = await openFileLog({ dir, partitions: 1 });
    const waiting = log.waitFor(0, 0, 10_000);
    await log.append(0, [rec('a')]);
    assert.equal(await waiting, 1);
    assert.equal(await log.waitFor(0, 0, 10_000), 1);
    assert.equal(await log.waitFor(0, 1, 20), 1);
    const atClose = log.waitFor(0, 1, 10_000);
    await log.close();
    assert.equal(await atClose, 1);
  } finally {
    cleanup();
  }
});

test('file log - committed offsets are durable, forward-only unless forced, and bounded by the end', async () => {
  const { dir, cleanup } = tempDir('shock-log-');
  try {
    const log = await openFileLog({ dir, partitions: 2 });
    await log.append(1, [rec('a'), rec('b'), rec('c')]);
    assert.equal(log.offsets.get('billing', 1), 0);
    await log.offsets.commit('billing', 1, 2);
    await log.offsets.commit('billing', 0, 0);
    await log.offsets.commit('a/../b.c', 1, 3);
    await assert.rejects(log.offsets.commit('billing', 1, 1), { code: 'SHOCK_LOG_OFFSET_OUT_OF_RANGE' });
    await assert.rejects(log.offsets.commit('billing', 1, 4), { code: 'SHOCK_LOG_OFFSET_OUT_OF_RANGE' });
    await log.offsets.commit('billing', 1, 1, { force: true });
    await log.close();
    const again = await openFileLog({ dir, partitions: 2 });
    assert.deepEqual(again.offsets.list(), { billing: { 0: 0, 1: 1 }, 'a/../b.c': { 1: 3 } });
    assert.equal(again.offsets.get('a/../b.c', 1), 3);
    await again.close();
  } finally {
    cleanup();
  }
});

test('file log - retention by size removes the oldest segments, never the active one', async () => {
  const { dir, cleanup } = tempDir('shock-log-');
  try {
    const events: LogEvent[] = [];
    const log = await openFileLog({
      dir,
      partitions: 1,
      segmentBytesMax: 200,
      retentionPolicy: 'limits',
      retentionBytesMax: 600,
      logger: (e) => events.push(e),
    });
    for (let i = 0; i < 40; i++) await log.append(0, [rec('y'.repeat(40))]);
    const { offsetStart, offsetEnd } = log.state(0);
    assert.equal(offsetEnd, 40);
    assert.ok(offsetStart > 0, 'old segments removed');
    assert.ok(log.stats().partitions[0].bytes <= 600 + 200);
    await assert.rejects(log.read(0, 0), { code: 'SHOCK_LOG_OFFSET_OUT_OF_RANGE' });
    assert.equal((await log.read(0, offsetStart))[0].offset, offsetStart);
    assert.ok(events.some((e) => /retention removed/.test(e.message)));
    await log.close();
  } finally {
    cleanup();
  }
});

test('file log - retention by age removes segments whose newest record is older than retentionMs', async () => {
  const { dir, cleanup } = tempDir('shock-log-');
  try {
    const old = Date.now() - 3_600_000;
    const log = await openFileLog({ dir, partitions: 1, segmentBytesMax: 200 });
    for (let i = 0; i < 10; i++) await log.append(0, [{ ...rec('z'.repeat(60)), timestampMs: old }]);
    for (let i = 0; i < 10; i++) await log.append(0, [rec('z'.repeat(60))]);
    await log.close();
    const aged = await openFileLog({
      dir,
      partitions: 1,
      segmentBytesMax: 200,
      retentionPolicy: 'limits',
      retentionMs: 60_000,
    });
    const s = aged.state(0);
    assert.ok(s.offsetStart > 0 && s.offsetStart <= 10, `segments of old records removed (${JSON.stringify(s)})`);
    assert.equal(s.offsetEnd, 20);
    for (const r of await aged.read(0, s.offsetStart, { recordsMax: 100 }))
      assert.ok(r.offset >= 10 || r.timestampMs === old);
    await aged.close();
  } finally {
    cleanup();
  }
});

test('file log - a worker thread reads through the shared state, waits without polling and commits offsets', async () => {
  const { dir, cleanup } = tempDir('shock-log-');
  try {
    const log = await openFileLog({ dir, partitions: 2, segmentBytesMax: 300 });
    await log.append(1, [rec('before')]);
    const worker = startTsWorker(new URL('../../helpers/log-reader-worker.ts', import.meta.url), {
      workerData: { dir, partitions: 2, shared: log.shareState(), partition: 1, count: 30, group: 'g' },
    });
    const done = new Promise<{ seen: { offset: number; value: string }[]; appendCode: string; committed: number }>(
      (resolve, reject) => {
        worker.on('message', (m: { ready?: boolean }) => {
          if (!m.ready) resolve(m as never);
        });
        worker.on('error', reject);
      },
    );
    for (let i = 1; i < 30; i++) await log.append(i % 2, [rec(`r${i}`)]);
    for (let i = 30; i < 46; i++) await log.append(1, [rec(`r${i}`)]);
    const result = await done;
    await worker.terminate();
    assert.equal(result.seen.length >= 30, true);
    result.seen.forEach((s, i) => assert.equal(s.offset, i));
    assert.equal(result.seen[0].value, 'before');
    assert.equal(result.appendCode, 'SHOCK_CONFIG_INVALID');
    assert.equal(log.offsets.get('g', 1), result.committed);
    await log.close();
  } finally {
    cleanup();
  }
});

test('file log - a lock held by a live process is refused; a dead holder’s lock is taken over', async () => {
  const { dir, cleanup } = tempDir('shock-log-');
  const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await once(holder, 'spawn');
    await (await openFileLog({ dir, partitions: 1 })).close();
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: holder.pid, host: hostname(), sinceMs: Date.now() }));
    await assert.rejects(openFileLog({ dir, partitions: 1 }), (err: { code: string; details: { pid: number } }) => {
      assert.equal(err.code, 'SHOCK_LOG_LOCKED');
      assert.equal(err.details.pid, holder.pid);
      return true;
    });
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    const log = await openFileLog({ dir, partitions: 1 });
    assert.equal(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')).pid, process.pid);
    await log.close();
  } finally {
    holder.kill('SIGKILL');
    cleanup();
  }
});

test('file log reader - never returns bytes past the published durable end', async () => {
  const { dir, cleanup } = tempDir('shock-log-');
  try {
    const log = await openFileLog({ dir, partitions: 1 });
    await log.append(0, [rec('a'), rec('b'), rec('c')]);
    const reader = await openFileLogReader({ dir, partitions: 1, shared: log.shareState() });
    // What a write in flight looks like: a whole, valid record after the durable end, not yet fsynced or published.
    appendFileSync(
      join(dir, 'partitions', '0', '00000000000000000000.log'),
      encodeRecords([rec('in flight')], 3, Date.now()),
    );
    assert.deepEqual(
      (await reader.read(0, 0)).map((r) => r.value.toString()),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(await reader.read(0, 3), []);
    assert.deepEqual(reader.state(0), { partition: 0, offsetStart: 0, offsetEnd: 3 });
    assert.equal(await reader.waitFor(0, 3, 20), 3);
    await assert.rejects(reader.read(0, 4), { code: 'SHOCK_LOG_OFFSET_OUT_OF_RANGE' });
    await reader.close();
    await log.close();
  } finally {
    cleanup();
  }
});

test('file log - offsetBase: new partitions start there, survive reopen and rolls; existing ones keep their offsets', async () => {
  const tmp = tempDir();
  try {
    const base = 2 ** 40;
    const value = Buffer.alloc(100, 7);
    const log = await openFileLog({ dir: tmp.dir, partitions: 2, offsetBase: base, segmentBytesMax: 1024 });
    assert.deepEqual(log.state(0), { partition: 0, offsetStart: base, offsetEnd: base });
    for (let i = 0; i < 30; i++)
      assert.equal((await log.append(0, [{ key: Buffer.alloc(0), value }])).baseOffset, base + i);
    await assert.rejects(log.read(0, 0), { code: 'SHOCK_LOG_OFFSET_OUT_OF_RANGE' });
    const read = await log.read(0, base + 10, { recordsMax: 5 });
    assert.deepEqual(
      read.map((r) => r.offset),
      [10, 11, 12, 13, 14].map((i) => base + i),
    );
    await log.close();
    // Reopened with another base: the partitions exist, so their offsets stay what they were.
    const again = await openFileLog({ dir: tmp.dir, partitions: 2, offsetBase: 5, segmentBytesMax: 1024 });
    assert.deepEqual(again.state(0), { partition: 0, offsetStart: base, offsetEnd: base + 30 });
    assert.deepEqual(again.state(1), { partition: 1, offsetStart: base, offsetEnd: base });
    assert.equal((await again.append(1, [{ key: Buffer.alloc(0), value }])).baseOffset, base);
    await again.close();
    await assert.rejects(openFileLog({ dir: tmp.dir, partitions: 2, offsetBase: -1 }), {
      code: 'SHOCK_CONFIG_INVALID',
    });
  } finally {
    tmp.cleanup();
  }
});
