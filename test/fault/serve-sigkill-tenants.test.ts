/**
 * SIGKILL of `shock serve` under load from two tenants that send the same event ids: an event is (tenant, event_id),
 * so across two kills every 202 of either tenant is in the log where its answer said and, once the restarted cell's
 * consumers catch up, in the SQLite sink exactly once per (tenant, event_id) — redelivered batches are absorbed per
 * tenant, and one tenant's event never absorbs the other's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/cli.js';
import { testKeys, writeConfig } from '../helpers/cell-serve.js';
import { acmeSender, assertSqliteSinkExactlyOnce, killUnderLoadAndRecover, type Ack } from '../helpers/kill-load.js';

const partitions = 4;
const sendersPerTenant = 4;
const batchSize = 10;
const ackedTarget = 1500;
const loadMsMax = 20_000;
const kills = 2;

test('serve sigkill tenants - the same event ids from two tenants across kill -9: each 202 in the sink once per tenant', async () => {
  const t = tempDir('shock-serve-kill-tenants-');
  const dataDir = `${t.dir}/data`;
  const tenant = (id: 'acme' | 'globex') => ({ id, keyHashes: [testKeys[id].hash], ratePerSec: 1e6, burst: 1e6 });
  const config = writeConfig(t.dir, {
    tenants: [tenant('acme'), tenant('globex')],
    log: { partitions },
    consumers: { workers: 2 },
  });
  try {
    const acked = new Map<string, Ack>();
    let inLog = new Map<string, Ack>();
    for (let k = 0; k < kills; k++) {
      const run = await killUnderLoadAndRecover({
        dataDir,
        config,
        partitions,
        senders: sendersPerTenant,
        tenants: [acmeSender, { id: 'globex', key: testKeys.globex.key }],
        idPrefix: `k${k}-`,
        batchSize,
        ackedTarget,
        loadMsMax,
      });
      for (const [id, at] of run.acked) acked.set(id, at);
      inLog = run.inLog;
    }
    // The collision this test is about happened: many ids were acknowledged to both tenants.
    const shared = [...acked.keys()].filter((id) => id.startsWith('acme/') && acked.has(`globex/${id.slice(5)}`));
    assert.ok(shared.length >= 100, `ids acknowledged to both tenants: ${shared.length}`);
    // Every event of the log exactly once per (tenant, event_id), so every 202 of both kills too.
    assertSqliteSinkExactlyOnce(dataDir, acked, inLog);
  } finally {
    t.cleanup();
  }
});
