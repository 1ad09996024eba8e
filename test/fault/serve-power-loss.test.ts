/**
 * A SIGKILL of `shock serve` under load followed by a SIMULATED power loss (a fake, named as such: a real one cannot
 * be produced here). Every byte the log's shared journal still holds is cut from the partitions' active segments —
 * what a power loss could take from the page cache — before the restart. Every event answered 202 must come back
 * from the journal: in the log at the offset its answer named, then in the sink exactly once.
 *
 * The simulation needs every sync round to go through the journal: 8 senders of 4-event batches (~200 bytes each)
 * never have more than ~6.4 KB in flight, below the journal's 8 KiB per-round limit (docs/log.md, "Journal").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../src/base/index.js';
import { tempDir } from '../helpers/cli.js';
import { testKeys, writeConfig } from '../helpers/cell-serve.js';
import { assertSqliteSinkExactlyOnce, killUnderLoadAndRecover } from '../helpers/kill-load.js';
import { dropUnsyncedSegmentTails } from '../helpers/log-crash.js';

const partitions = 4;

test('serve power loss - every 202 survives kill -9 plus the loss of every unsynced segment tail (journal replay)', async () => {
  const t = tempDir('shock-serve-power-');
  const dataDir = `${t.dir}/data`;
  const config = writeConfig(t.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 1_000_000, burst: 1_000_000 }],
    log: { partitions },
    consumers: { workers: 1 },
  });
  let cut = -1;
  try {
    const { acked, inLog } = await killUnderLoadAndRecover({
      dataDir,
      config,
      partitions,
      senders: 8,
      batchSize: 4,
      ackedTarget: 800,
      loadMsMax: 20_000,
      afterKill: async () => {
        cut = await dropUnsyncedSegmentTails(`${dataDir}/log`, mulberry32(20_261_123));
      },
    });
    assert.ok(cut > 0, 'the simulated power loss took acknowledged bytes from at least one segment');
    assertSqliteSinkExactlyOnce(dataDir, acked, inLog);
  } finally {
    t.cleanup();
  }
});
