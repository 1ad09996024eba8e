/**
 * Tenant isolation end to end: one tenant far over its quota gets 429s (with Retry-After and RateLimit headers)
 * while another tenant's requests, sent at the same time to the same `shock serve`, are all accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/cli.js';
import { postEvent, startServe, testKeys, writeConfig } from '../helpers/cell-serve.js';

test('serve isolation - a tenant over its quota gets 429s while another tenant is all accepted', async () => {
  const t = tempDir('shock-serve-iso-');
  const config = writeConfig(t.dir, {
    tenants: [
      { id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 100_000, burst: 100_000 },
      { id: 'globex', keyHashes: [testKeys.globex.hash], ratePerSec: 20, burst: 20 },
    ],
    log: { partitions: 4 },
    consumers: { workers: 1 },
  });
  const serve = await startServe(`${t.dir}/data`, ['--config', config]);
  try {
    const event = { type: 'page.view', payload: { url: '/x' } };
    const run = async (key: string, count: number, concurrency: number) => {
      const statuses: number[] = [];
      const retryAfter: (string | null)[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < count) {
            next += 1;
            let r = await postEvent(serve.url, key, event);
            // 503 is the process shedding load (a busy shared machine), not a quota decision: retry like a client.
            for (let retry = 0; r.status === 503 && retry < 20; retry++) {
              await new Promise((resolve) => setTimeout(resolve, 200));
              r = await postEvent(serve.url, key, event);
            }
            statuses.push(r.status);
            if (r.status === 429) retryAfter.push(r.headers.get('retry-after'));
          }
        }),
      );
      return { statuses, retryAfter };
    };
    const startedMs = performance.now();
    const [noisy, quiet] = await Promise.all([run(testKeys.globex.key, 400, 6), run(testKeys.acme.key, 200, 3)]);
    const elapsedSec = (performance.now() - startedMs) / 1000;

    assert.equal(quiet.statuses.length, 200);
    assert.ok(
      quiet.statuses.every((s) => s === 202),
      `acme all 202: ${JSON.stringify(count(quiet.statuses))}`,
    );
    const noisyCounts = count(noisy.statuses);
    assert.deepEqual(Object.keys(noisyCounts).sort(), ['202', '429'], JSON.stringify(noisyCounts));
    // The quota holds: at most the burst plus the rate over the run (one token of slack for rounding).
    const allowed = 20 + 20 * elapsedSec + 1;
    assert.ok(noisyCounts['202'] <= allowed, `globex within quota: ${JSON.stringify(noisyCounts)} vs ${allowed}`);
    assert.ok(noisy.retryAfter.every((v) => v !== null && Number(v) >= 1));
  } finally {
    await serve.stop('SIGTERM');
    t.cleanup();
  }
});

function count(statuses: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of statuses) out[s] = (out[s] ?? 0) + 1;
  return out;
}
