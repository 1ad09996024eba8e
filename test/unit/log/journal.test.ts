import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFileLog, type AppendRecord, type LogEvent } from '../../../src/log/index.js';
import { encodeJournalEntry, journalName, readJournalFiles } from '../../../src/log/file/journal.js';
import { encodeRecords } from '../../../src/log/record.js';
import { segmentName } from '../../../src/log/file/segment.js';
import { tempDir } from '../../helpers/cli.js';
import { assertSameRecords, readAll } from '../../helpers/log-records.js';

const rec = (p: number, i: number, bytes = 100): AppendRecord => ({
  key: Buffer.from(`k${p}`),
  value: Buffer.alloc(bytes, (p * 31 + i) % 251),
});

test('journal - appends to several partitions in the same turn share one journal fdatasync', async () => {
  const { dir, cleanup } = tempDir('shock-journal-');
  try {
    const log = await openFileLog({ dir, partitions: 4 });
    for (let round = 0; round < 20; round++) {
      await Promise.all([0, 1, 2, 3].map((p) => log.append(p, [rec(p, round)])));
    }
    const s = log.stats();
    const rounds = s.partitions.reduce((sum, p) => sum + p.fsyncs, 0);
    assert.ok(s.journal, 'the journal is on by default');
    assert.equal(s.journal.entries, rounds, 'every small round went through the journal');
    assert.ok(
      s.journal.syncs < rounds,
      `one journal fdatasync served several partitions (${s.journal.syncs} for ${rounds} rounds)`,
    );
    for (let p = 0; p < 4; p++) assert.equal(log.state(p).offsetEnd, 20);
    await log.close();
    assert.deepEqual(readdirSync(join(dir, 'journal')), [], 'a clean close checkpoints and removes the journal');
  } finally {
    cleanup();
  }
});

test('journal - a sync round larger than journalWriteBytesMax fdatasyncs its own segment instead', async () => {
  const { dir, cleanup } = tempDir('shock-journal-');
  try {
    const log = await openFileLog({ dir, partitions: 2, journalWriteBytesMax: 4096 });
    await log.append(0, [rec(0, 0, 10_000)]);
    assert.equal(log.stats().journal?.entries, 0);
    await log.append(0, [rec(0, 1, 100)]);
    assert.equal(log.stats().journal?.entries, 1);
    assert.equal(log.stats().partitions[0].fsyncs, 2);
    await log.close();
  } finally {
    cleanup();
  }
});

test('journal - a log of one partition never uses the journal (it has nothing to share)', async () => {
  const { dir, cleanup } = tempDir('shock-journal-');
  try {
    const log = await openFileLog({ dir, partitions: 1, journal: true });
    await log.append(0, [rec(0, 0)]);
    assert.equal(log.stats().journal, null);
    assert.equal(log.stats().partitions[0].fsyncs, 1);
    await log.close();
  } finally {
    cleanup();
  }
});

test('journal - journal: false syncs every round in its segment and writes no journal', async () => {
  const { dir, cleanup } = tempDir('shock-journal-');
  try {
    const log = await openFileLog({ dir, partitions: 2, journal: false });
    await Promise.all([log.append(0, [rec(0, 0)]), log.append(1, [rec(1, 0)])]);
    assert.equal(log.stats().journal, null);
    assert.equal(existsSync(join(dir, 'journal')), false);
    await log.close();
  } finally {
    cleanup();
  }
});

test('journal - full files are checkpointed and removed while appends go on; nothing is lost', async () => {
  const { dir, cleanup } = tempDir('shock-journal-');
  try {
    const log = await openFileLog({ dir, partitions: 3, journalBytesMax: 4096, segmentBytesMax: 8192 });
    const expected: AppendRecord[][] = [[], [], []];
    for (let i = 0; i < 300; i++) {
      const p = i % 3;
      expected[p].push(rec(p, i));
      await log.append(p, [rec(p, i)]);
    }
    const s = log.stats().journal!;
    assert.ok(s.checkpoints >= 3, `several journal files were retired (${s.checkpoints})`);
    assert.ok(readdirSync(join(dir, 'journal')).length <= 2, 'retired files are removed');
    for (let p = 0; p < 3; p++) assertSameRecords(await readAll(log, p), expected[p]);
    await log.close();
    const again = await openFileLog({ dir, partitions: 3 });
    for (let p = 0; p < 3; p++) assertSameRecords(await readAll(again, p), expected[p]);
    await again.close();
  } finally {
    cleanup();
  }
});

test('journal - recovery writes back a segment tail lost after the journal made it durable (even with journal: false)', async () => {
  const { dir, cleanup } = tempDir('shock-journal-');
  try {
    const log = await openFileLog({ dir, partitions: 2 });
    const expected: AppendRecord[][] = [[], []];
    for (let i = 0; i < 10; i++) expected[0].push(rec(0, i));
    await log.append(0, expected[0].slice(0, 5));
    await log.append(0, expected[0].slice(5));
    await log.close();
    // FAKE power loss, built by hand: a journal holding the records of partition 0, and its segment cut in the middle
    // of the second write (the page cache had not reached the disk).
    const seg = join(dir, 'partitions', '0', segmentName(0));
    const first = encodeRecords(expected[0].slice(0, 5), 0, 1);
    const second = encodeRecords(expected[0].slice(5), 5, 1);
    writeFileSync(
      join(dir, 'journal', journalName(7)),
      Buffer.concat([
        encodeJournalEntry({ partition: 0, segmentBase: 0, position: 0, offsetFirst: 0, records: 5, payload: first }),
        encodeJournalEntry({
          partition: 0,
          segmentBase: 0,
          position: first.length,
          offsetFirst: 5,
          records: 5,
          payload: second,
        }),
      ]),
    );
    writeFileSync(seg, Buffer.concat([first, second]));
    truncateSync(seg, first.length + 17);
    const events: LogEvent[] = [];
    const again = await openFileLog({ dir, partitions: 2, journal: false, logger: (e) => events.push(e) });
    assert.equal(again.state(0).offsetEnd, 10);
    const got = await readAll(again, 0);
    assert.deepEqual(
      got.map((r) => r.value),
      expected[0].map((r) => r.value),
    );
    assert.ok(events.some((e) => /replayed \d+ bytes of partition 0/.test(e.message)));
    assert.equal(statSync(seg).size, first.length + second.length);
    assert.deepEqual(await readJournalFiles(dir), [], 'the replayed journal is removed');
    await again.close();
  } finally {
    cleanup();
  }
});

test('journal - replay stops at a gap (a write never made durable) and keeps what precedes it', async () => {
  const { dir, cleanup } = tempDir('shock-journal-');
  try {
    const log = await openFileLog({ dir, partitions: 2 });
    await log.close();
    const records = Array.from({ length: 6 }, (_, i) => rec(0, i));
    const a = encodeRecords(records.slice(0, 2), 0, 1);
    const b = encodeRecords(records.slice(2, 4), 2, 1);
    const c = encodeRecords(records.slice(4), 4, 1);
    const entry = (payload: Buffer, position: number, offsetFirst: number) =>
      encodeJournalEntry({ partition: 0, segmentBase: 0, position, offsetFirst, records: 2, payload });
    // `b` was a large write synced in its own segment, which a crash interrupted: it is neither journaled nor on
    // disk, so `c` (journaled after it) was never acknowledged either.
    writeFileSync(
      join(dir, 'journal', journalName(0)),
      Buffer.concat([entry(a, 0, 0), entry(c, a.length + b.length, 4)]),
    );
    const events: LogEvent[] = [];
    const again = await openFileLog({ dir, partitions: 2, logger: (e) => events.push(e) });
    assertSameRecords(await readAll(again, 0), records.slice(0, 2));
    assert.ok(events.some((e) => e.level === 'warn' && /stopped at a gap/.test(e.message)));
    assert.equal((await again.append(0, [rec(0, 9)])).baseOffset, 2, 'appends go on after the kept prefix');
    await again.close();
  } finally {
    cleanup();
  }
});

test('journal - a torn journal tail is ignored and reported', async () => {
  const { dir, cleanup } = tempDir('shock-journal-');
  try {
    const log = await openFileLog({ dir, partitions: 2 });
    await log.close();
    const records = [rec(0, 0), rec(0, 1)];
    const payload = encodeRecords(records, 0, 1);
    const whole = encodeJournalEntry({
      partition: 0,
      segmentBase: 0,
      position: 0,
      offsetFirst: 0,
      records: 2,
      payload,
    });
    writeFileSync(join(dir, 'journal', journalName(3)), Buffer.concat([whole, whole.subarray(0, 30)]));
    const events: LogEvent[] = [];
    const again = await openFileLog({ dir, partitions: 2, logger: (e) => events.push(e) });
    assertSameRecords(await readAll(again, 0), records);
    assert.ok(events.some((e) => /torn tail of 30 bytes/.test(e.message)));
    await again.close();
  } finally {
    cleanup();
  }
});
