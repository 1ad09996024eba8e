/**
 * The cell's generation log on real files: the switch of a reshard (appends in flight on the old generation settle
 * into its sealed end, later ones go to the new one), retirement, and every on-disk state a crash can leave —
 * a new generation's directory no manifest names, a sealed generation whose end was not recorded, a retired
 * generation whose directory was not yet deleted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generationOffsetBase, openGenerationLog } from '../../../src/cell/generation-log.js';
import {
  beginReshard,
  initialManifest,
  openFileLog,
  readManifest,
  recordSealedEnd,
  retireGeneration,
  writeManifest,
} from '../../../src/log/index.js';
import { tempDir } from '../../helpers/cli.js';

const rec = (i: number) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) });

async function fillLog(dir: string, partitions: number, perPartition: number): Promise<void> {
  const log = await openFileLog({ dir, partitions });
  for (let p = 0; p < partitions; p++) {
    await log.append(
      p,
      Array.from({ length: perPartition }, (_, i) => rec(i)),
    );
  }
  await log.close();
}

test('generation log - appends in flight at the switch settle into the sealed end; later ones go to the new generation', async () => {
  const t = tempDir('shock-genlog-');
  try {
    const log = await openGenerationLog(t.dir, 4, {});
    assert.equal(log.partitions, 4);
    const before = Array.from({ length: 40 }, (_, i) => log.append(i % 4, [rec(i)]));
    const switching = log.reshard(8);
    // Issued in the same turn as the reshard call, before its manifest write: still generation 0.
    const sameTurn = log.append(1, [rec(99)]);
    const m = await switching;
    assert.equal(log.partitions, 8);
    await Promise.all([...before, sameTurn]);
    assert.deepEqual(m.generations[0].sealedEnd, [10, 11, 10, 10]);
    const after = await log.append(7, [rec(100)]);
    // Generation 1 starts at 2^40: a partition number's offsets never repeat across generations.
    assert.deepEqual(after, { baseOffset: generationOffsetBase(1), count: 1 });
    assert.equal(generationOffsetBase(1), 2 ** 40);
    assert.equal(log.state(1).offsetStart, 2 ** 40, 'an empty partition of the new generation starts there too');
    assert.deepEqual(await readManifest(t.dir), m);
    await assert.rejects(log.reshard(3), { code: 'SHOCK_CELL_RESHARD_BUSY' });
    await log.retire(0);
    assert.equal(existsSync(join(t.dir, 'log')), false);
    assert.equal((await readManifest(t.dir))!.generations[0].state, 'retired');
    const m2 = await log.reshard(3);
    assert.equal(m2.generations[2].dir, 'log-g2');
    await log.close();
  } finally {
    t.cleanup();
  }
});

test('generation log - retire: the process shows a generation retired only once its directory is gone', async () => {
  const t = tempDir('shock-genlog-');
  try {
    await fillLog(join(t.dir, 'log'), 2, 50);
    const log = await openGenerationLog(t.dir, 2, {});
    await log.reshard(4);
    const dir = join(t.dir, 'log');
    let done = false;
    const retiring = log.retire(0).finally(() => (done = true));
    // Every turn until it resolves: whenever this process shows generation 0 retired, its directory is gone.
    while (!done) {
      if (log.manifest().generations[0].state === 'retired') {
        assert.equal(existsSync(dir), false, 'shown retired while its directory exists');
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await retiring;
    assert.equal(log.manifest().generations[0].state, 'retired');
    assert.equal(existsSync(dir), false);
    assert.equal((await readManifest(t.dir))!.generations[0].state, 'retired');
    await log.close();
  } finally {
    t.cleanup();
  }
});

test('generation log - crash before the manifest write: the unnamed new directory is removed, nothing changed', async () => {
  const t = tempDir('shock-genlog-');
  try {
    await fillLog(join(t.dir, 'log'), 4, 3);
    await fillLog(join(t.dir, 'log-g1'), 8, 1);
    const log = await openGenerationLog(t.dir, 4, {});
    assert.equal(existsSync(join(t.dir, 'log-g1')), false);
    assert.equal(await readManifest(t.dir), null);
    assert.equal(log.partitions, 4);
    assert.equal(log.state(2).offsetEnd, 3);
    await log.close();
  } finally {
    t.cleanup();
  }
});

test('generation log - crash after the manifest write, before the end was recorded: the recovered end is recorded', async () => {
  const t = tempDir('shock-genlog-');
  try {
    await fillLog(join(t.dir, 'log'), 4, 5);
    await fillLog(join(t.dir, 'log-g1'), 8, 2);
    await writeManifest(t.dir, beginReshard(initialManifest(4), 8));
    const log = await openGenerationLog(t.dir, 4, {});
    const m = log.manifest();
    assert.deepEqual(m.generations[0].sealedEnd, [5, 5, 5, 5]);
    assert.deepEqual(await readManifest(t.dir), m);
    assert.equal(log.partitions, 8);
    assert.equal(log.state(3).offsetEnd, 2);
    assert.equal(log.generation(0)?.log.state(0).offsetEnd, 5);
    await log.close();
  } finally {
    t.cleanup();
  }
});

test('generation log - crash after retiring, before the delete: the directory goes at the next open', async () => {
  const t = tempDir('shock-genlog-');
  try {
    await fillLog(join(t.dir, 'log'), 4, 1);
    await fillLog(join(t.dir, 'log-g1'), 2, 1);
    const m = retireGeneration(recordSealedEnd(beginReshard(initialManifest(4), 2), 0, [1, 1, 1, 1]), 0);
    await writeManifest(t.dir, m);
    const log = await openGenerationLog(t.dir, 4, {});
    assert.equal(existsSync(join(t.dir, 'log')), false);
    assert.equal(log.generation(0), undefined);
    assert.equal(log.partitions, 2);
    await log.close();
  } finally {
    t.cleanup();
  }
});
