/**
 * Retention and log generations, on real files: the active generation's retention removes whole old segments
 * (also without rolls, by the periodic check); a sealed generation holds its retention from the switch until it
 * retires — nothing below its sealed end is removed, also across a reopen — and it then goes as a whole.
 * `retention.json` records what each writer applies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openGenerationLog } from '../../../src/cell/generation-log.js';
import { openFileLog } from '../../../src/log/index.js';
import { tempDir } from '../../helpers/cli.js';

const rec = (i: number) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`value-${i}`.padEnd(40, '.')) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function segmentFiles(dir: string, p: number): string[] {
  return readdirSync(join(dir, 'partitions', String(p)))
    .filter((n) => n.endsWith('.log'))
    .sort();
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(50);
  }
}

test('file log retention - the periodic check removes old segments without a roll; a hold stops it; retention.json says so', async () => {
  const t = tempDir('shock-ret-hold-');
  try {
    const log = await openFileLog({
      dir: t.dir,
      partitions: 1,
      segmentBytesMax: 200,
      retentionPolicy: 'limits',
      retentionMs: 1000,
    });
    assert.deepEqual(
      { ...JSON.parse(readFileSync(join(t.dir, 'retention.json'), 'utf8')), writtenAtMs: 0, pid: 0 },
      { policy: 'limits', groups: [], retentionMs: 1000, retentionBytesMax: null, held: false, writtenAtMs: 0, pid: 0 },
    );
    for (let i = 0; i < 20; i++) await log.append(0, [rec(i)]);
    const segments = segmentFiles(t.dir, 0).length;
    assert.ok(segments >= 4, `${segments} segments`);
    // No append from now on: only the periodic check (every min(60 s, retentionMs)) can remove anything.
    await waitFor(() => segmentFiles(t.dir, 0).length === 1, 5000);
    assert.equal(log.state(0).offsetEnd, 20, 'the active segment and its records stay');
    assert.equal(log.state(0).offsetStart, Number(segmentFiles(t.dir, 0)[0].slice(0, 20)));
    await assert.rejects(log.read(0, 0), { code: 'SHOCK_LOG_OFFSET_OUT_OF_RANGE' });

    for (let i = 20; i < 40; i++) await log.append(0, [rec(i)]);
    await log.holdRetention();
    const held = segmentFiles(t.dir, 0);
    assert.ok(held.length >= 4);
    assert.equal(JSON.parse(readFileSync(join(t.dir, 'retention.json'), 'utf8')).held, true);
    await sleep(2200);
    assert.deepEqual(segmentFiles(t.dir, 0), held, 'nothing is removed while retention is held');
    await log.close();

    // Opened held: not even the check at open removes anything.
    const again = await openFileLog({
      dir: t.dir,
      partitions: 1,
      segmentBytesMax: 200,
      retentionPolicy: 'limits',
      retentionMs: 1000,
      retentionHeld: true,
    });
    assert.deepEqual(segmentFiles(t.dir, 0), held);
    await again.close();
  } finally {
    t.cleanup();
  }
});

test('generation log retention - the sealed generation keeps every record until it retires; the active one is trimmed', async () => {
  const t = tempDir('shock-ret-gen-');
  // The limits policy: under interest nothing unconsumed goes anyway; the hold matters where age alone decides.
  const options = { segmentBytesMax: 200, retention: { policy: 'limits' as const, maxAge: '1s' } };
  try {
    const log = await openGenerationLog(t.dir, 2, options);
    for (let i = 0; i < 30; i++) await log.append(i % 2, [rec(i)]);
    const gen0 = join(t.dir, 'log');
    const before = [segmentFiles(gen0, 0), segmentFiles(gen0, 1)];
    assert.ok(before.every((s) => s.length >= 3));
    const m = await log.reshard(3);
    assert.deepEqual(m.generations[0].sealedEnd, [15, 15]);
    assert.equal(JSON.parse(readFileSync(join(gen0, 'retention.json'), 'utf8')).held, true);
    const gen1 = join(t.dir, 'log-g1');
    assert.equal(JSON.parse(readFileSync(join(gen1, 'retention.json'), 'utf8')).held, false);
    for (let i = 0; i < 45; i++) await log.append(i % 3, [rec(i)]);
    const g1Before = segmentFiles(gen1, 0).length;
    assert.ok(g1Before >= 3);
    // Past maxAge (1 s) and a periodic check: the active generation loses its old segments, the sealed one nothing.
    await waitFor(() => segmentFiles(gen1, 0).length === 1, 5000);
    assert.deepEqual([segmentFiles(gen0, 0), segmentFiles(gen0, 1)], before);
    const old = log.generation(0)!.log;
    assert.deepEqual([old.state(0).offsetStart, old.state(1).offsetStart], [0, 0]);
    assert.equal((await old.read(0, 0, { recordsMax: 100 })).length, 15, 'every record below the sealed end');
    await log.close();

    // After a restart the sealed generation is opened held: the check at open removes nothing either.
    await sleep(1100);
    const reopened = await openGenerationLog(t.dir, 2, options);
    assert.deepEqual([segmentFiles(gen0, 0), segmentFiles(gen0, 1)], before);
    assert.equal(JSON.parse(readFileSync(join(gen0, 'retention.json'), 'utf8')).held, true);
    assert.equal(reopened.generation(0)!.log.state(1).offsetStart, 0);
    // Retirement removes it whole.
    await reopened.retire(0);
    assert.equal(existsSync(gen0), false);
    await reopened.close();
  } finally {
    t.cleanup();
  }
});
