/**
 * `shock log read DATA_DIR` reads a cell's data directory as `shock log inspect DATA_DIR` does: its active log
 * generation (`log` until a reshard, then `log-g<n>`), or the one `--generation` names; a generation that does not
 * exist or was retired, and `--generation` on a plain log directory, are clear errors. Real file logs on disk,
 * written by the cell's generation log, read by the real CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generationOffsetBase, openGenerationLog } from '../../src/cell/generation-log.js';
import { runCli, tempDir } from '../helpers/cli.js';

const rec = (v: string) => ({ key: Buffer.from(`k-${v}`), value: Buffer.from(v) });

async function readJson(args: string[]): Promise<{ offset: number; value: string }[]> {
  const r = await runCli(['log', 'read', ...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as { offset: number; value: string });
}

test('log read - a data directory reads its active generation, or the one --generation names', async () => {
  const t = tempDir('shock-log-read-datadir-');
  try {
    const log = await openGenerationLog(t.dir, 2, {});
    await log.append(1, [rec('a0'), rec('a1'), rec('a2')]);
    await log.close();

    // Never resharded: the data directory is its `log`.
    const direct = await readJson([join(t.dir, 'log'), '--partition', '1']);
    assert.deepEqual(
      direct.map((r) => r.value),
      ['a0', 'a1', 'a2'],
    );
    assert.deepEqual(await readJson([t.dir, '--partition', '1']), direct);
    assert.deepEqual(await readJson([t.dir, '--partition', '1', '--generation', '0']), direct);

    // After a reshard: the active generation by default, the older one by --generation.
    const again = await openGenerationLog(t.dir, 2, {});
    await again.reshard(3);
    await again.append(2, [rec('b0'), rec('b1')]);
    await again.close();
    const active = await readJson([t.dir, '--partition', '2']);
    assert.deepEqual(
      active.map((r) => [r.offset, r.value]),
      [
        [generationOffsetBase(1), 'b0'],
        [generationOffsetBase(1) + 1, 'b1'],
      ],
    );
    assert.deepEqual(await readJson([t.dir, '--partition', '2', '--generation', '1']), active);
    assert.deepEqual(await readJson([t.dir, '--partition', '1', '--generation', '0']), direct);

    const missing = await runCli(['log', 'read', t.dir, '--partition', '0', '--generation', '7']);
    assert.equal(missing.code, 64, missing.stderr);
    assert.match(missing.stderr, /has no generation 7 \(it has 0, 1\).*\[SHOCK_CLI_USAGE\]/);
    const plain = await runCli(['log', 'read', join(t.dir, 'log'), '--partition', '0', '--generation', '0']);
    assert.equal(plain.code, 64, plain.stderr);
    assert.match(plain.stderr, /--generation applies to a cell's data directory/);

    const last = await openGenerationLog(t.dir, 3, {});
    await last.retire(0);
    await last.close();
    const retired = await runCli(['log', 'read', t.dir, '--partition', '0', '--generation', '0']);
    assert.equal(retired.code, 66, retired.stderr);
    assert.match(retired.stderr, /generation 0 of .* was retired.*\[SHOCK_CLI_INPUT_UNREADABLE\]/);
    assert.deepEqual(await readJson([t.dir, '--partition', '2']), active);
  } finally {
    t.cleanup();
  }
});
