/**
 * Batch workers over real HTTP with a real file log: a batch prepared on a worker thread is answered and stored
 * exactly as one prepared on the gateway's thread, new schemas reach the workers, and a worker that dies costs no
 * batch — its batches are prepared inline and a new worker takes the next ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/base/index.js';
import type { BatchPool } from '../../src/ingress/batch-pool.js';
import { baseConfig, keys, post, startGateway, type Harness } from './ingress-harness.js';

const onWorker = { workers: 1, bytesMin: 0 };
const depthMax = 64;
const inline = { workers: 0, bytesMin: 0 };

/** Waits (bounded) until the gateway's batch worker is ready, warming it with one batch. */
async function workerReady(h: Harness): Promise<void> {
  await post(h, '/v1/events/batch', JSON.stringify([{ type: 'page.view', event_id: 'warm', payload: { url: '/' } }]));
  const deadline = Date.now() + 60_000;
  while (h.gateway.stats().batchWorkers.ready === 0) {
    assert.ok(Date.now() < deadline, 'the batch worker did not start within 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Batches with every kind of record: valid (all with client ids), invalid, forbidden, too large, NDJSON lines. */
function corpus(): Array<{ body: string; contentType: string; key?: string }> {
  const json = 'application/json';
  const big = 'x'.repeat(3000);
  const batches: Array<{ body: string; contentType: string; key?: string }> = [];
  for (let b = 0; b < 6; b++) {
    const records: unknown[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `b${b}-e${i}`;
      switch (i % 10) {
        case 0:
          records.push({ type: 'page.view', event_id: id, key: `ключ-${i}`, payload: { url: `/é/${i}` } });
          break;
        case 1:
          records.push({ type: 'page.view', event_id: id, payload: { url: 42 } });
          break;
        case 2:
          records.push({ type: 'nope', event_id: id, payload: {} });
          break;
        case 3:
          records.push({ type: 'page.view', event_id: id, tenant: 'globex', payload: { url: '/' } });
          break;
        case 4:
          records.push({ type: 'page.view', event_id: id, payload: { url: '/big', referrer: big } });
          break;
        case 5:
          records.push('not an event');
          break;
        case 6:
          records.push({
            type: 'order.created',
            event_id: id,
            priority: 'critical',
            payload: { order_id: id, amount_cents: i },
          });
          break;
        default:
          records.push({
            type: 'page.view',
            event_id: id,
            key: `k${i % 3}`,
            priority: 'low',
            payload: { url: `/p/${i}` },
          });
      }
    }
    // Escaped member names: the payload bytes cannot be spliced, the event is re-serialised.
    let body = JSON.stringify(records).replace(`"payload":{"url":"/p/7"}`, `"pay\\u006coad":{"url":"/p/7"}`);
    if (b === 5) body = records.map((r) => JSON.stringify(r)).join('\n') + '\n{not json\n';
    batches.push({ body, contentType: b === 5 ? 'application/x-ndjson' : json });
  }
  // The limited tenant may write page.view only; a duplicate id within the batch.
  batches.push({
    body: JSON.stringify([
      { type: 'order.created', event_id: 'l-1', payload: { order_id: 'o', amount_cents: 1 } },
      { type: 'page.view', event_id: 'l-2', payload: { url: '/' } },
      { type: 'page.view', event_id: 'l-2', payload: { url: '/' } },
    ]),
    contentType: json,
    key: keys.limited,
  });
  // Nesting at and past the depth limit (with an escaped name: re-serialised), a number that overflows a double.
  const nested = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;
  const shaped = (id: string, d: string, name = 'payload') =>
    `{"type":"page.view","event_id":"${id}","${name}":{"url":"/","d":${d}}}`;
  batches.push({
    body: `[${shaped('d-1', nested(depthMax - 2), 'p\\u0061yload')},${shaped('d-2', nested(depthMax - 1))},${shaped('d-3', nested(5000), 'p\\u0061yload')},${shaped('d-4', '[1e400]')}]`,
    contentType: json,
  });
  // Whole-batch rejections.
  batches.push({ body: '{"not":"a batch"}', contentType: json });
  batches.push({ body: '[1,', contentType: json });
  batches.push({ body: '[]', contentType: json });
  return batches;
}

/** Every record of the log, partition by partition, as text. */
async function logContents(h: Harness): Promise<string[][]> {
  const out: string[][] = [];
  for (let p = 0; p < h.log.partitions; p++) {
    const records = await h.log.read(p, 0, { recordsMax: 10_000 });
    out.push(records.map((r) => `${r.offset} ${r.key.toString('utf8')} ${r.value.toString('utf8')}`));
  }
  return out;
}

test('batch workers - a batch prepared on a worker is answered and stored exactly as one prepared inline', async () => {
  const config = baseConfig({ limits: { eventBytesMax: 2048, eventDepthMax: depthMax } });
  // One clock for both: an event without a `ts` is stamped with the receive time.
  const clock = new ManualClock();
  const a = await startGateway({ ...config, batchWorkers: onWorker }, { clock });
  const b = await startGateway({ ...config, batchWorkers: inline }, { clock });
  try {
    await workerReady(a);
    await post(b, '/v1/events/batch', JSON.stringify([{ type: 'page.view', event_id: 'warm', payload: { url: '/' } }]));
    const before = a.gateway.stats().batchWorkers.preparedOnWorkerTotal;
    for (const batch of corpus()) {
      const options = { contentType: batch.contentType, key: batch.key };
      const [ra, rb] = [
        await post(a, '/v1/events/batch', batch.body, options),
        await post(b, '/v1/events/batch', batch.body, options),
      ];
      assert.equal(ra.status, rb.status, batch.body.slice(0, 80));
      assert.deepEqual(ra.json, rb.json);
      if (batch.body.includes('"d-1"')) {
        const codes = (ra.json.records as Array<{ errorCode?: string }>).map((r) => r.errorCode ?? 'stored');
        assert.deepEqual(codes, [
          'stored',
          'SHOCK_INGRESS_TOO_DEEP',
          'SHOCK_INGRESS_TOO_DEEP',
          'SHOCK_INGRESS_NUMBER_NOT_FINITE',
        ]);
      }
    }
    const stats = a.gateway.stats().batchWorkers;
    assert.equal(stats.preparedOnWorkerTotal - before, corpus().length, 'every batch was prepared on the worker');
    assert.equal(b.gateway.stats().batchWorkers.preparedOnWorkerTotal, 0);
    const stored = await logContents(a);
    assert.ok(stored.flat().length > 60, 'the corpus stores events');
    const expected = await logContents(b);
    assert.equal(
      JSON.stringify(stored),
      JSON.stringify(expected),
      'the same records, byte for byte, at the same offsets',
    );
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('batch workers - ids a worker assigns are unique and new schemas reach the worker', async () => {
  const h = await startGateway(baseConfig({ batchWorkers: onWorker }));
  try {
    await workerReady(h);
    const records = Array.from({ length: 200 }, (_, i) => ({ type: 'page.view', payload: { url: `/${i}` } }));
    const reply = await post(h, '/v1/events/batch', JSON.stringify(records));
    assert.equal(reply.status, 202);
    const ids = (reply.json.records as Array<{ event_id: string }>).map((r) => r.event_id);
    assert.equal(new Set(ids).size, 200);
    for (const id of ids) assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.deepEqual([...ids].sort(), ids, 'one worker assigns ids in arrival order');

    const signup = { type: 'user.signup', event_id: 's-1', payload: { email: 'a@example.com' } };
    const unknown = await post(h, '/v1/events/batch', JSON.stringify([signup]));
    assert.equal(unknown.json.records[0].errorCode, 'SHOCK_INGRESS_UNKNOWN_TYPE');
    h.gateway.reload({
      schemas: { ...baseConfig().schemas, 'user.signup': { type: 'object', required: ['email'] } },
    });
    const before = h.gateway.stats().batchWorkers.preparedOnWorkerTotal;
    const known = await post(h, '/v1/events/batch', JSON.stringify([{ ...signup, event_id: 's-2' }]));
    assert.equal(known.status, 202);
    assert.equal(known.json.failedRecordCount, 0);
    assert.equal(h.gateway.stats().batchWorkers.preparedOnWorkerTotal, before + 1, 'prepared on the worker');
  } finally {
    await h.stop();
  }
});

test('batch workers - a worker that dies loses no batch; the next batches start a new one', async () => {
  const h = await startGateway(baseConfig({ batchWorkers: onWorker }));
  try {
    await workerReady(h);
    // A real termination of the real worker thread while batches are on their way to it.
    const pool = (h.gateway as unknown as { batchPool: BatchPool }).batchPool;
    const workers = (pool as unknown as { workers: Array<{ worker: { terminate(): Promise<number> } }> }).workers;
    const batches = Array.from({ length: 8 }, (_, b) =>
      JSON.stringify(
        Array.from({ length: 50 }, (_, i) => ({ type: 'page.view', event_id: `d${b}-${i}`, payload: { url: '/' } })),
      ),
    );
    const sending = batches.map((body) => post(h, '/v1/events/batch', body));
    await workers[0].worker.terminate();
    const replies = await Promise.all(sending);
    for (const r of replies) {
      assert.equal(r.status, 202);
      assert.equal(r.json.failedRecordCount, 0);
    }
    assert.equal(
      h.offsetsEnd().reduce((x, y) => x + y),
      1 + 8 * 50,
      'every record stored once (plus the warm-up)',
    );
    await workerReady(h);
    const again = await post(h, '/v1/events/batch', batches[0].replaceAll('"d0-', '"again-'));
    assert.equal(again.status, 202);
    assert.ok(h.gateway.stats().batchWorkers.ready >= 1, 'a new worker took over');
  } finally {
    await h.stop();
  }
});
