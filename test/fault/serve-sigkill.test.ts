/**
 * SIGKILL of `shock serve` under load: every event that was answered 202 before the kill is in the log after a
 * restart on the same data directory — at the partition and offset its answer named — and, once the restarted
 * cell's consumers catch up, in the SQLite sink exactly once.
 */
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/cli.js';
import { testKeys, writeConfig } from '../helpers/cell-serve.js';
import { assertExactlyOnce, killUnderLoadAndRecover } from '../helpers/kill-load.js';

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
    const db = new Database(`${dataDir}/sink.sqlite`, { readonly: true });
    try {
      const rows = db
        .prepare("SELECT event_id, COUNT(*) AS n FROM results WHERE consumer_group = 'sink' GROUP BY event_id")
        .all() as { event_id: string; n: number }[];
      assertExactlyOnce(new Map(rows.map((r) => [r.event_id, r.n])), ackedNow, inLog);
    } finally {
      db.close();
    }
  } finally {
    t.cleanup();
  }
});
