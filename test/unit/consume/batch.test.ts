import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBatch, BatchAbandoned, backoffMs, type RetryPolicy } from '../../../src/consume/batch.js';
import type { Handler } from '../../../src/consume/handler.js';
import type { StoredEvent } from '../../../src/base/index.js';

const fast: RetryPolicy = { retriesMax: 3, backoffBaseMs: 1, backoffMaxMs: 4, handlerTimeoutMs: 5000 };

function events(n: number): StoredEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    event_id: `e${i}`,
    tenant: 't',
    type: 'x',
    ts: 0,
    priority: 'normal' as const,
    key: 't',
    payload: { i },
  }));
}

function input(n: number) {
  const evs = events(n);
  return { group: 'g', partition: 0, events: evs, offsets: evs.map((_, i) => 100 + i), redelivered: false };
}

test('consume batch - a healthy batch is one handler call with one result per event', async () => {
  let calls = 0;
  const handler: Handler = (evs) => {
    calls++;
    return evs.map((e) => ({ id: e.event_id }));
  };
  const out = await runBatch(handler, input(5), fast, new AbortController().signal);
  assert.equal(calls, 1);
  assert.equal(out.retries, 0);
  assert.deepEqual(
    out.outcomes.map((o) => (o.ok ? JSON.parse(o.resultJson).id : 'fail')),
    ['e0', 'e1', 'e2', 'e3', 'e4'],
  );
});

test('consume batch - a transient throw is retried and then succeeds', async () => {
  let calls = 0;
  const handler: Handler = (evs) => {
    if (++calls <= 2) throw new Error('downstream busy');
    return evs.map(() => 1);
  };
  const out = await runBatch(handler, input(4), fast, new AbortController().signal);
  assert.equal(calls, 3);
  assert.equal(out.retries, 2);
  assert.ok(out.outcomes.every((o) => o.ok));
});

test('consume batch - an event that always throws is isolated by bisection and dead-lettered alone', async () => {
  const seen: number[] = [];
  const handler: Handler = (evs) => {
    seen.push(evs.length);
    if (evs.some((e) => e.event_id === 'e5')) throw new TypeError('cannot read e5');
    return evs.map(() => 'ok');
  };
  const out = await runBatch(handler, input(16), fast, new AbortController().signal);
  const failed = out.outcomes.flatMap((o, i) => (o.ok ? [] : [i]));
  assert.deepEqual(failed, [5]);
  const f = out.outcomes[5];
  assert.ok(!f.ok && /TypeError: cannot read e5/.test(f.error));
  assert.ok(f.attempts >= fast.retriesMax + 2, `attempts ${f.attempts}`);
  // 1 + 3 retries of the whole batch, then at most 2n isolation calls.
  assert.ok(seen.length <= 4 + 2 * 16);
  assert.equal(out.retries, seen.length - 1);
});

test('consume batch - an event answered with an Error is retried alone, then dead-lettered while the rest is stored', async () => {
  const sizes: number[] = [];
  const handler: Handler = (evs) => {
    sizes.push(evs.length);
    return evs.map((e) => (e.event_id === 'e2' ? new RangeError('bad amount') : e.event_id));
  };
  const out = await runBatch(handler, input(4), fast, new AbortController().signal);
  assert.deepEqual(sizes, [4, 1, 1, 1]);
  assert.deepEqual(
    out.outcomes.map((o) => o.ok),
    [true, true, false, true],
  );
  const f = out.outcomes[2];
  assert.ok(!f.ok && f.error === 'RangeError: bad amount' && f.attempts === 4);
});

test('consume batch - a wrong-length answer or an unserialisable result is a failure, never a silent loss', async () => {
  const wrong: Handler = () => [];
  const out = await runBatch(wrong, input(3), { ...fast, retriesMax: 0 }, new AbortController().signal);
  assert.ok(out.outcomes.every((o) => !o.ok && /one result per event/.test(o.error)));

  const bigint: Handler = (evs) => evs.map((e) => (e.event_id === 'e1' ? (10n as never) : null));
  const out2 = await runBatch(bigint, input(3), { ...fast, retriesMax: 0 }, new AbortController().signal);
  assert.deepEqual(
    out2.outcomes.map((o) => o.ok),
    [true, false, true],
  );
  assert.ok(out2.outcomes[0].ok && out2.outcomes[0].resultJson === 'null');
});

test('consume batch - a handler that does not answer times out and counts as a failure', async () => {
  let aborted = false;
  const handler: Handler = (_evs, ctx) =>
    new Promise(() => {
      ctx.signal.addEventListener('abort', () => (aborted = true));
    });
  const out = await runBatch(
    handler,
    input(1),
    { ...fast, retriesMax: 0, handlerTimeoutMs: 20 },
    new AbortController().signal,
  );
  assert.ok(aborted);
  assert.ok(!out.outcomes[0].ok && /did not answer within 20 ms/.test(out.outcomes[0].error));
});

test('consume batch - stopping during a backoff abandons the batch', async () => {
  const stop = new AbortController();
  const handler: Handler = () => {
    stop.abort();
    throw new Error('fail');
  };
  await assert.rejects(
    runBatch(handler, input(2), { ...fast, backoffBaseMs: 10_000, backoffMaxMs: 10_000 }, stop.signal),
    BatchAbandoned,
  );
});

test('consume batch - backoff doubles from the base and is capped', () => {
  const p: RetryPolicy = { retriesMax: 10, backoffBaseMs: 50, backoffMaxMs: 2000, handlerTimeoutMs: 1 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7].map((r) => backoffMs(p, r)),
    [50, 100, 200, 400, 800, 1600, 2000],
  );
});
