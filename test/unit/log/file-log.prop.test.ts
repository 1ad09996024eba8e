import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { openFileLog, type AppendRecord, type LogEvent } from '../../../src/log/index.js';
import { tempDir } from '../../helpers/cli.js';
import { arbitraryAppends, arbitraryRecord, assertSameRecords, readAll } from '../../helpers/log-records.js';

const record = arbitraryRecord;
const appends = arbitraryAppends;

test('file log - any sequence of appends round-trips through small rolling segments and a reopen', async () => {
  await fc.assert(
    fc.asyncProperty(appends, fc.integer({ min: 64, max: 700 }), async (calls, segmentBytesMax) => {
      const { dir, cleanup } = tempDir('shock-logprop-');
      try {
        const log = await openFileLog({ dir, partitions: 3, segmentBytesMax, groupCommitWindowMs: 0 });
        const expected: AppendRecord[][] = [[], [], []];
        let together: Promise<unknown>[] = [];
        for (const [p, records, concurrent] of calls) {
          expected[p].push(...records);
          together.push(log.append(p, records));
          if (!concurrent) {
            await Promise.all(together);
            together = [];
          }
        }
        await Promise.all(together);
        // Concurrent appends to one partition get offsets in call order, so `expected` is in offset order.
        for (let p = 0; p < 3; p++) assertSameRecords(await readAll(log, p), expected[p]);
        await log.close();
        const again = await openFileLog({ dir, partitions: 3, segmentBytesMax });
        for (let p = 0; p < 3; p++) assertSameRecords(await readAll(again, p), expected[p]);
        await again.close();
      } finally {
        cleanup();
      }
    }),
    { numRuns: 25, interruptAfterTimeLimit: 20_000 },
  );
});

type Damage = { kind: 'cut' | 'flip'; segmentPick: number; bytePick: number; xor: number };

const damage: fc.Arbitrary<Damage> = fc.record({
  kind: fc.constantFrom('cut' as const, 'flip' as const),
  segmentPick: fc.nat(),
  bytePick: fc.nat(),
  xor: fc.integer({ min: 1, max: 255 }),
});

test('file log - cutting or corrupting the last segment at any byte recovers exactly a prefix of the acknowledged records', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(record, { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 64, max: 900 }),
      damage,
      async (records, segmentBytesMax, d) => {
        const { dir, cleanup } = tempDir('shock-logprop-');
        try {
          const log = await openFileLog({ dir, partitions: 1, segmentBytesMax, groupCommitWindowMs: 0 });
          await Promise.all(records.map((r) => log.append(0, [r])));
          await log.close();
          const pdir = join(dir, 'partitions', '0');
          const segments = readdirSync(pdir)
            .filter((n) => n.endsWith('.log'))
            .sort();
          const last = join(pdir, segments[segments.length - 1]);
          const base = Number(segments[segments.length - 1].slice(0, 20));
          const size = statSync(last).size;
          if (size === 0) return;
          const at = d.bytePick % size;
          if (d.kind === 'cut') truncateSync(last, at);
          else {
            const bytes = readFileSync(last);
            bytes[at] ^= d.xor;
            writeFileSync(last, bytes);
          }
          const events: LogEvent[] = [];
          const again = await openFileLog({ dir, partitions: 1, segmentBytesMax, logger: (e) => events.push(e) });
          const got = await readAll(again, 0);
          assert.ok(got.length >= base, 'records of older segments survive');
          assert.ok(got.length < records.length, 'the damaged record is gone');
          assertSameRecords(got, records.slice(0, got.length));
          if (d.kind === 'flip') {
            assert.ok(
              events.some((e) => e.level === 'warn' && /truncated/.test(e.message)),
              'the truncation is reported',
            );
          }
          // The log accepts appends again right after the prefix.
          assert.equal((await again.append(0, [records[0]])).baseOffset, got.length);
          await again.close();
        } finally {
          cleanup();
        }
      },
    ),
    { numRuns: 60, interruptAfterTimeLimit: 20_000 },
  );
});

test('file log - damage in an older segment is a corrupt-record error naming the file, never silent loss', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(record, { minLength: 8, maxLength: 40 }), damage, async (records, d) => {
      const { dir, cleanup } = tempDir('shock-logprop-');
      try {
        const segmentBytesMax = 200;
        const log = await openFileLog({ dir, partitions: 1, segmentBytesMax, groupCommitWindowMs: 0 });
        await Promise.all(records.map((r) => log.append(0, [r])));
        await log.close();
        const pdir = join(dir, 'partitions', '0');
        const segments = readdirSync(pdir)
          .filter((n) => n.endsWith('.log'))
          .sort();
        if (segments.length < 2) return;
        const victim = join(pdir, segments[d.segmentPick % (segments.length - 1)]);
        const size = statSync(victim).size;
        const at = d.bytePick % size;
        if (d.kind === 'cut') truncateSync(victim, at);
        else {
          const bytes = readFileSync(victim);
          bytes[at] ^= d.xor;
          writeFileSync(victim, bytes);
        }
        const isNamedCorruption = (err: { code?: string; details?: { file?: string } }) => {
          assert.equal(err.code, 'SHOCK_LOG_CORRUPT_RECORD');
          assert.equal(err.details?.file, victim);
          return true;
        };
        let again;
        try {
          again = await openFileLog({ dir, partitions: 1, segmentBytesMax });
        } catch (err) {
          isNamedCorruption(err as never);
          return;
        }
        try {
          await assert.rejects(readAll(again, 0), isNamedCorruption);
        } finally {
          await again.close();
        }
      } finally {
        cleanup();
      }
    }),
    { numRuns: 60, interruptAfterTimeLimit: 20_000 },
  );
});

test('file log - a damaged index never changes what is read', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(record, { minLength: 5, maxLength: 60 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      async (records, pick, xor) => {
        const { dir, cleanup } = tempDir('shock-logprop-');
        try {
          const log = await openFileLog({
            dir,
            partitions: 1,
            segmentBytesMax: 2000,
            indexIntervalBytes: 64,
            groupCommitWindowMs: 0,
          });
          await Promise.all(records.map((r) => log.append(0, [r])));
          await log.close();
          const pdir = join(dir, 'partitions', '0');
          const indexes = readdirSync(pdir).filter((n) => n.endsWith('.index') && statSync(join(pdir, n)).size > 0);
          if (indexes.length > 0) {
            const victim = join(pdir, indexes[pick % indexes.length]);
            const bytes = readFileSync(victim);
            bytes[pick % bytes.length] ^= xor;
            writeFileSync(victim, bytes);
          }
          const again = await openFileLog({ dir, partitions: 1, segmentBytesMax: 2000, indexIntervalBytes: 64 });
          assertSameRecords(await readAll(again, 0), records);
          for (let o = 0; o < records.length; o += 7)
            assertSameRecords(await again.read(0, o, { recordsMax: 1 }), [records[o]], o);
          await again.close();
        } finally {
          cleanup();
        }
      },
    ),
    { numRuns: 40, interruptAfterTimeLimit: 20_000 },
  );
});
