/**
 * Records retention removed before a group consumed them, on the file log (real files): a group behind retention is
 * shown with what is missing below the first offset; the commit that moves it past the gap stores the count in its
 * offset file for good (`removedBeforeConsumed`, as the JetStream engine's offsets do); a group's first commit counts
 * nothing. `shock log inspect` shows both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspectLog, openFileLog } from '../../../src/log/index.js';
import { runCli, tempDir } from '../../helpers/cli.js';

const rec = (i: number) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`value-${i}`.padEnd(40, '.')) });

test('file log retention - removedBeforeConsumed: shown while behind, counted by the commit past the gap, kept', async () => {
  const t = tempDir('shock-ret-offsets-');
  try {
    const log = await openFileLog({
      dir: t.dir,
      partitions: 1,
      segmentBytesMax: 200,
      retentionPolicy: 'limits',
      retentionBytesMax: 400,
    });
    await log.offsets.commit('g', 0, 0);
    for (let i = 0; i < 30; i++) await log.append(0, [rec(i)]);
    const start = log.state(0).offsetStart;
    assert.ok(start > 0, 'retention removed the oldest segments');

    const behind = await inspectLog(t.dir);
    assert.deepEqual(behind.groups, [
      {
        group: 'g',
        lagTotal: 30 - start,
        partitions: [
          { partition: 0, committed: 0, lag: 30 - start, behindRetention: true, removedBeforeConsumed: start },
        ],
      },
    ]);
    const text = await runCli(['log', 'inspect', t.dir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(
        `partition 0: committed 0 {2}lag ${30 - start} {2}\\(behind retention: ${start} record\\(s\\) removed`,
      ),
    );
    assert.match(text.stdout, /^retention: maxBytes 400 per partition, policy limits$/m);

    // The consumer resumes at the first offset left and commits past the gap: the count is kept in its offset file.
    await log.offsets.commit('g', 0, start + 1);
    const file = JSON.parse(readFileSync(join(t.dir, 'offsets', 'g', '0.json'), 'utf8'));
    assert.equal(file.offset, start + 1);
    assert.equal(file.removedBeforeConsumed, start);
    await log.offsets.commit('g', 0, start + 2);
    // A group whose first commit is already past the start counts nothing (it was never behind).
    await log.offsets.commit('h', 0, start + 2);
    const after = await inspectLog(t.dir);
    const rows = Object.fromEntries(after.groups.map((g) => [g.group, g.partitions[0]]));
    assert.deepEqual(rows.g, {
      partition: 0,
      committed: start + 2,
      lag: 28 - start,
      behindRetention: false,
      removedBeforeConsumed: start,
    });
    assert.equal(rows.h.removedBeforeConsumed, 0);
    assert.equal(log.offsets.get('g', 0), start + 2);
    await log.close();
    const text2 = await runCli(['log', 'inspect', t.dir]);
    assert.match(
      text2.stdout,
      new RegExp(`partition 0: committed ${start + 2} {2}lag ${28 - start} {2}\\(${start} record\\(s\\) were removed`),
    );
  } finally {
    t.cleanup();
  }
});
