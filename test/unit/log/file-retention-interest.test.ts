/**
 * Interest retention of the file log (the default policy): nothing a known consumer group has not committed past is
 * ever removed, however old or large; `maxAge`/`maxBytes` apply to consumed records only; unconsumed records at
 * `maxBytes` (or the disk under its free-space floor) make appends fail with SHOCK_LOG_FULL until the group commits.
 * The decision itself (`segmentsToRemove`, `unconsumedBytes`) is checked pure, then on real files with retention
 * checks run on demand (`FileLog.applyRetention`) and records timestamped in the past: no timers, no waiting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  openFileLog,
  segmentsToRemove,
  unconsumedBytes,
  type LogEvent,
  type RetentionInput,
  type RetentionSegment,
} from '../../../src/log/index.js';
import { tempDir } from '../../helpers/cli.js';

const HOUR_MS = 3_600_000;
const rec = (i: number, timestampMs?: number) => ({
  key: Buffer.from(`k${i}`),
  value: Buffer.from(`value-${i}`.padEnd(40, '.')),
  ...(timestampMs === undefined ? {} : { timestampMs }),
});

function segmentFiles(dir: string, p = 0): string[] {
  return readdirSync(join(dir, 'partitions', String(p)))
    .filter((n) => n.endsWith('.log'))
    .sort();
}

/** Five segments of 100 bytes, offsets [0,10), [10,20), …, the newest active; all an hour old. */
function segments(): RetentionSegment[] {
  return Array.from({ length: 5 }, (_, i) => ({
    base: i * 10,
    offsetNext: i * 10 + 10,
    sizeBytes: 100,
    timestampMsMax: 1_000,
    index: [
      { offset: i * 10, position: 0 },
      { offset: i * 10 + 5, position: 50 },
    ],
  }));
}

const input = (r: Partial<RetentionInput>): RetentionInput => ({
  policy: 'interest',
  retentionMs: undefined,
  retentionBytesMax: undefined,
  floor: 0,
  nowMs: 1_000 + HOUR_MS,
  diskLow: false,
  ...r,
});

test('file retention decision - interest removes only segments below the committed floor, limits whoever is behind', () => {
  const old = { retentionMs: 1000 };
  // Every segment is past maxAge; under interest only the consumed ones go, under limits all but the active one.
  assert.equal(segmentsToRemove(segments(), input({ ...old, floor: 0 })), 0);
  assert.equal(segmentsToRemove(segments(), input({ ...old, floor: 19 })), 1, 'offset 19 is not consumed yet');
  assert.equal(segmentsToRemove(segments(), input({ ...old, floor: 20 })), 2);
  assert.equal(segmentsToRemove(segments(), input({ ...old, floor: 50 })), 4, 'never the active segment');
  assert.equal(segmentsToRemove(segments(), input({ ...old, policy: 'limits', floor: 0 })), 4);
  // By size: 500 bytes against 250. Consumed segments go until the rest fits; unconsumed ones never.
  assert.equal(segmentsToRemove(segments(), input({ retentionBytesMax: 250, floor: 50 })), 3);
  assert.equal(segmentsToRemove(segments(), input({ retentionBytesMax: 250, floor: 10 })), 1);
  assert.equal(segmentsToRemove(segments(), input({ retentionBytesMax: 250, policy: 'limits' })), 3);
  // Young consumed records stay (no limit says go) unless the disk is below its floor.
  assert.equal(segmentsToRemove(segments(), input({ floor: 40 })), 0);
  assert.equal(segmentsToRemove(segments(), input({ floor: 40, diskLow: true })), 4);
  assert.equal(segmentsToRemove(segments(), input({ floor: 15, diskLow: true })), 1);
  assert.equal(segmentsToRemove(segments(), input({ policy: 'limits', diskLow: true })), 0);
});

test('file retention decision - unconsumed bytes from the floor, via the sparse index, never under the truth', () => {
  assert.equal(unconsumedBytes(segments(), 0, 0), 500);
  assert.equal(unconsumedBytes(segments(), 50, 0), 0);
  assert.equal(unconsumedBytes(segments(), 20, 7), 307, 'pending (not yet durable) bytes count');
  // Offset 25 has an index entry at byte 50; offset 27 uses the entry at or below it (25 → byte 50).
  assert.equal(unconsumedBytes(segments(), 25, 0), 250);
  assert.equal(unconsumedBytes(segments(), 27, 0), 250);
  assert.equal(unconsumedBytes(segments(), 24, 0), 300, 'the entry at or below 24 is the base: byte 0');
});

test('file log interest retention - nothing unconsumed goes however old; consumed segments go at the next check', async () => {
  const t = tempDir('shock-ret-interest-');
  try {
    const events: LogEvent[] = [];
    const log = await openFileLog({
      dir: t.dir,
      partitions: 1,
      segmentBytesMax: 200,
      retentionMs: 1000,
      retentionGroups: ['sink'],
      logger: (e) => events.push(e),
    });
    const record = JSON.parse(readFileSync(join(t.dir, 'retention.json'), 'utf8'));
    assert.deepEqual([record.policy, record.groups], ['interest', ['sink']], 'interest is the default');
    const old = Date.now() - HOUR_MS;
    for (let i = 0; i < 30; i++) await log.append(0, [rec(i, old)]);
    const all = segmentFiles(t.dir);
    assert.ok(all.length >= 5, `${all.length} segments`);
    // An hour past maxAge, rolls and explicit checks: the group "sink" never committed, so nothing goes.
    await log.applyRetention();
    await log.applyRetention();
    assert.deepEqual(segmentFiles(t.dir), all);
    assert.equal(log.state(0).offsetStart, 0);
    assert.ok(log.stats().partitions[0].retentionChecks >= 3);

    // The group commits offset 17: the segments wholly below it go, the one holding 17 stays.
    await log.offsets.commit('sink', 0, 17);
    await log.applyRetention();
    const start = log.state(0).offsetStart;
    assert.ok(start > 0 && start <= 17, `offsetStart ${start}`);
    assert.equal(segmentFiles(t.dir)[0], `${String(start).padStart(20, '0')}.log`);
    assert.equal((await log.read(0, 17, { recordsMax: 1 }))[0].offset, 17, 'the first unconsumed record is there');
    assert.ok(events.some((e) => /retention removed/.test(e.message)));
    await log.close();
  } finally {
    t.cleanup();
  }
});

test('file log interest retention - every group with offsets counts, and with no group known nothing is consumed', async () => {
  const t = tempDir('shock-ret-groups-');
  try {
    const old = Date.now() - HOUR_MS;
    const log = await openFileLog({ dir: t.dir, partitions: 1, segmentBytesMax: 200, retentionMs: 1000 });
    for (let i = 0; i < 30; i++) await log.append(0, [rec(i, old)]);
    const all = segmentFiles(t.dir);
    await log.applyRetention();
    assert.deepEqual(segmentFiles(t.dir), all, 'no group known: no record counts as consumed');
    // Two groups found in offsets/: the slower one holds retention back.
    await log.offsets.commit('fast', 0, 30);
    await log.offsets.commit('slow', 0, 1);
    await log.applyRetention();
    assert.deepEqual(segmentFiles(t.dir), all, 'offset 1 is in the first segment');
    await log.offsets.commit('slow', 0, 30);
    await log.applyRetention();
    assert.equal(segmentFiles(t.dir).length, 1, 'both consumed everything: only the active segment is left');
    // A group that committed from another process (a worker thread writes the file) counts as well.
    for (let i = 30; i < 60; i++) await log.append(0, [rec(i, old)]);
    mkdirSync(join(t.dir, 'offsets', 'other'), { recursive: true });
    writeFileSync(join(t.dir, 'offsets', 'other', '0.json'), JSON.stringify({ offset: 31, committedAtMs: 0 }));
    await log.offsets.commit('fast', 0, 60);
    await log.offsets.commit('slow', 0, 60);
    await log.applyRetention();
    assert.ok(log.state(0).offsetStart <= 31, 'group "other" has not consumed past 31');
    await log.close();
  } finally {
    t.cleanup();
  }
});

test('file log interest retention - unconsumed bytes at maxBytes refuse appends with SHOCK_LOG_FULL until the group commits', async () => {
  const t = tempDir('shock-ret-full-');
  try {
    const events: LogEvent[] = [];
    const log = await openFileLog({
      dir: t.dir,
      partitions: 2,
      segmentBytesMax: 200,
      retentionBytesMax: 1000,
      retentionGroups: ['sink'],
      logger: (e) => events.push(e),
    });
    let accepted = 0;
    let refusal: unknown;
    for (let i = 0; i < 100 && refusal === undefined; i++) {
      await log.append(0, [rec(i)]).then(
        () => accepted++,
        (err: unknown) => (refusal = err),
      );
    }
    assert.ok(accepted > 5, `${accepted} accepted first`);
    assert.ok(refusal !== undefined, 'the log got full');
    const err = refusal as { code: string; retriable: boolean; httpStatus: number; details: Record<string, unknown> };
    assert.deepEqual([err.code, err.retriable, err.httpStatus], ['SHOCK_LOG_FULL', true, 503]);
    assert.equal(err.details.partition, 0);
    assert.equal(err.details.retentionBytesMax, 1000);
    assert.ok((err.details.unconsumedBytes as number) >= 1000);
    const p0 = log.stats().partitions[0];
    assert.deepEqual([p0.full, p0.offsetEnd, p0.offsetStart], [true, accepted, 0], 'nothing was removed');
    assert.ok(p0.unconsumedBytes >= 1000);
    assert.equal(log.stats().partitions[1].full, false, 'another partition has room');
    await log.append(1, [rec(0)]);
    assert.equal(events.filter((e) => /is full/.test(e.message)).length, 1, 'reported once per spell');
    await assert.rejects(log.append(0, [rec(999)]), { code: 'SHOCK_LOG_FULL' });

    // The group consumes half: room again, without waiting for a retention check; nothing unconsumed was lost
    // (consumed segments past maxBytes may go at the next roll: that is what maxBytes bounds).
    const half = Math.floor(accepted / 2);
    await log.offsets.commit('sink', 0, half);
    await log.append(0, [rec(1000)]);
    assert.equal(log.stats().partitions[0].full, false);
    assert.ok(events.some((e) => /has room again/.test(e.message)));
    assert.ok(log.state(0).offsetStart <= half);
    assert.equal((await log.read(0, half, { recordsMax: 1000 })).length, accepted + 1 - half);
    await log.close();
  } finally {
    t.cleanup();
  }
});

test('file log interest retention - under the disk free-space floor appends are refused and consumed segments go', async () => {
  const t = tempDir('shock-ret-disk-');
  try {
    const old = Date.now() - HOUR_MS;
    const filled = await openFileLog({ dir: t.dir, partitions: 1, segmentBytesMax: 200, retentionGroups: ['sink'] });
    for (let i = 0; i < 30; i++) await filled.append(0, [rec(i, old)]);
    await filled.offsets.commit('sink', 0, 20);
    await filled.close();
    const before = segmentFiles(t.dir);
    // A floor no disk meets: the real statfs says the disk is below it.
    const log = await openFileLog({
      dir: t.dir,
      partitions: 1,
      segmentBytesMax: 200,
      retentionGroups: ['sink'],
      diskFreeBytesMin: Number.MAX_SAFE_INTEGER,
    });
    await assert.rejects(log.append(0, [rec(30)]), (err: { code: string; details: Record<string, unknown> }) => {
      assert.equal(err.code, 'SHOCK_LOG_FULL');
      assert.equal(typeof err.details.diskFreeBytes, 'number');
      assert.equal(err.details.diskFreeBytesMin, Number.MAX_SAFE_INTEGER);
      return true;
    });
    // No maxAge or maxBytes, but below the floor the consumed segments go (the check at open already ran).
    const start = log.state(0).offsetStart;
    assert.ok(start > 0 && start <= 20, `offsetStart ${start}`);
    assert.ok(segmentFiles(t.dir).length < before.length);
    assert.equal((await log.read(0, 20, { recordsMax: 100 })).length, 10, 'the unconsumed records stay');
    await log.close();
  } finally {
    t.cleanup();
  }
});
