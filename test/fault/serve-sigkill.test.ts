/**
 * SIGKILL of `shock serve` under load: every event that was answered 202 before the kill is in the log after a
 * restart on the same data directory — at the partition and offset its answer named — and, once the restarted
 * cell's consumers catch up, in the SQLite sink exactly once.
 */
import { test } from 'node:test';
import { tempDir } from '../helpers/cli.js';
import { testKeys, writeConfig } from '../helpers/cell-serve.js';
import { assertSqliteSinkExactlyOnce, killUnderLoadAndRecover } from '../helpers/kill-load.js';

const partitions = 4;
const senders = 8;
const batchSize = 10;
const ackedTarget = 1500;
const loadMsMax = 20_000;

test('serve sigkill - every 202 survives kill -9: in the log at its offset, then in the sink exactly once', async () => {
  const t = tempDir('shock-serve-kill-');
  const dataDir = `${t.dir}/data`;
  const config = writeConfig(t.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 1_000_000, burst: 1_000_000 }],
    log: { partitions },
    consumers: { workers: 2 },
  });
  try {
    const { acked: ackedNow, inLog } = await killUnderLoadAndRecover({
      dataDir,
      config,
      partitions,
      senders,
      batchSize,
      ackedTarget,
      loadMsMax,
    });

    // The sink: every event of the log exactly once (so every acknowledged one too).
    assertSqliteSinkExactlyOnce(dataDir, ackedNow, inLog);
  } finally {
    t.cleanup();
  }
});
