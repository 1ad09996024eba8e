import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFileLog, type AppendRecord, type LogEvent } from '../../src/log/index.js';
import { runCli } from '../helpers/cli.js';
import { assertSameRecords, readAll } from '../helpers/log-records.js';
import { mountTmpfs, tmpfsSkipReason } from '../helpers/log-tmpfs.js';

const skip = tmpfsSkipReason();
const record = (i: number): AppendRecord => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(2000, i % 251) });
type IoError = { code: string; details: { errno?: string; hint?: string }; cause?: { code?: string } };

test(
  'file log - a full disk fails appends with SHOCK_LOG_IO, keeps failing until reopened, loses no acknowledged record',
  { skip, timeout: 60_000 },
  async () => {
    const fs = mountTmpfs(1024 * 1024);
    try {
      const dir = join(fs.dir, 'log');
      const events: LogEvent[] = [];
      const log = await openFileLog({ dir, partitions: 1, segmentBytesMax: 256 * 1024, logger: (e) => events.push(e) });
      const acked: AppendRecord[] = [];
      let failure: IoError | undefined;
      for (let i = 0; i < 2000 && !failure; i++) {
        try {
          await log.append(0, [record(i)]);
          acked.push(record(i));
        } catch (err) {
          failure = err as IoError;
        }
      }
      assert.ok(failure, 'the disk filled up');
      assert.equal(failure.code, 'SHOCK_LOG_IO');
      assert.equal(failure.details.errno, 'ENOSPC');
      assert.equal(failure.cause?.code, 'ENOSPC');
      assert.match(failure.details.hint ?? '', /full/);
      assert.equal(log.state(0).offsetEnd, acked.length, 'the durable end counts only acknowledged records');
      assert.ok(
        events.some((e) => e.level === 'error'),
        'the failure is reported',
      );
      // fsync gate: once a write failed, nothing is accepted until the log is reopened, even with space again.
      fs.resize(8 * 1024 * 1024);
      await assert.rejects(log.append(0, [{ key: Buffer.alloc(0), value: Buffer.from('x') }]), {
        code: 'SHOCK_LOG_IO',
      });
      assert.equal(log.stats().partitions[0].failed, true);
      await log.close();
      const again = await openFileLog({ dir, partitions: 1, segmentBytesMax: 256 * 1024, logger: () => undefined });
      const got = await readAll(again, 0);
      assert.ok(got.length >= acked.length);
      assertSameRecords(got.slice(0, acked.length), acked);
      assert.equal((await again.append(0, [record(1)])).baseOffset, got.length);
      await again.close();
    } finally {
      fs.cleanup();
    }
  },
);

test(
  'file log - a full disk under the shared journal fails every partition with SHOCK_LOG_IO until reopened, loses no acknowledged record',
  { skip, timeout: 60_000 },
  async () => {
    const fs = mountTmpfs(1024 * 1024);
    try {
      const dir = join(fs.dir, 'log');
      const log = await openFileLog({ dir, partitions: 2, segmentBytesMax: 256 * 1024, logger: () => undefined });
      const acked: AppendRecord[][] = [[], []];
      let failure: IoError | undefined;
      const failed = new Set<number>();
      for (let i = 0; i < 2000 && !failure; i++) {
        // Two small records per turn, one per partition: both rounds go through the journal.
        const small = (p: number) => ({ key: Buffer.from(`k${p}`), value: Buffer.alloc(1500, (i + p) % 251) });
        const results = await Promise.allSettled([log.append(0, [small(0)]), log.append(1, [small(1)])]);
        results.forEach((r, p) => {
          if (r.status === 'fulfilled') acked[p].push(small(p));
          else {
            failure ??= r.reason as IoError;
            failed.add(p);
          }
        });
      }
      assert.ok(failure, 'the disk filled up');
      assert.equal(failure.code, 'SHOCK_LOG_IO');
      assert.equal(failure.details.errno, 'ENOSPC');
      assert.ok(log.stats().journal, 'the journal was in use');
      // Fsync gate: with space again, a partition that failed — every partition, when the journal itself failed —
      // accepts no append until the log is reopened.
      fs.resize(8 * 1024 * 1024);
      if (log.stats().journal!.failed) failed.add(0).add(1);
      for (const p of failed) await assert.rejects(log.append(p, [record(p)]), { code: 'SHOCK_LOG_IO' });
      await log.close();
      const again = await openFileLog({ dir, partitions: 2, segmentBytesMax: 256 * 1024, logger: () => undefined });
      for (const p of [0, 1]) {
        const got = await readAll(again, p);
        assert.ok(got.length >= acked[p].length);
        assertSameRecords(got.slice(0, acked[p].length), acked[p]);
      }
      await again.close();
    } finally {
      fs.cleanup();
    }
  },
);

test(
  'file log - opening on a full disk is a clear SHOCK_LOG_IO error, and works once there is space',
  { skip, timeout: 60_000 },
  async () => {
    const fs = mountTmpfs(256 * 1024);
    try {
      const dir = join(fs.dir, 'log');
      try {
        writeFileSync(join(fs.dir, 'filler'), Buffer.alloc(512 * 1024));
      } catch {
        // the filler stops where the disk is full
      }
      await assert.rejects(openFileLog({ dir, partitions: 2 }), (err: IoError) => {
        assert.equal(err.code, 'SHOCK_LOG_IO');
        assert.equal(err.details.errno, 'ENOSPC');
        return true;
      });
      fs.resize(4 * 1024 * 1024);
      const log = await openFileLog({ dir, partitions: 2 });
      assert.equal((await log.append(1, [record(0)])).baseOffset, 0);
      await log.close();
    } finally {
      fs.cleanup();
    }
  },
);

test(
  'file log - a read-only file system is a clear error at open, and the log tools still read it',
  { skip, timeout: 90_000 },
  async () => {
    const fs = mountTmpfs(4 * 1024 * 1024);
    try {
      const dir = join(fs.dir, 'log');
      const log = await openFileLog({ dir, partitions: 1 });
      await log.append(0, [record(0), record(1)]);
      await log.offsets.commit('g', 0, 1);
      await log.close();
      fs.readOnly();
      await assert.rejects(openFileLog({ dir, partitions: 1 }), (err: IoError) => {
        assert.equal(err.code, 'SHOCK_LOG_IO');
        assert.equal(err.details.errno, 'EROFS');
        assert.equal(err.cause?.code, 'EROFS');
        assert.match(err.details.hint ?? '', /read-only/);
        return true;
      });
      const inspect = await runCli(['log', 'inspect', dir, '--verify', '--json']);
      assert.equal(inspect.code, 0, inspect.stderr);
      assert.equal(JSON.parse(inspect.stdout).groups[0].lagTotal, 1);
      const read = await runCli(['log', 'read', dir, '--partition', '0', '--json']);
      assert.equal(read.stdout.trim().split('\n').length, 2);
    } finally {
      fs.cleanup();
    }
  },
);
