/**
 * Parser-level limits (431, 408, 400 for malformed framing), graceful-shutdown refusals, graduated delay, priority
 * shedding on event-loop delay, and shadow shedding — over real HTTP with a real file log.
 *
 * The event-loop delay signal is injected (`eventLoopDelayMs` option) in the shedding tests: a stalled event loop
 * cannot be produced deterministically on a shared machine, so this one input is a named stand-in; everything
 * downstream of it (the shedder, the seeded draws, the HTTP answers, the log) is real.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { baseConfig, keys, pageView, post, rawRequest, startGateway, type Harness } from './ingress-harness.js';

async function withGateway(fn: (h: Harness) => Promise<void>, ...args: Parameters<typeof startGateway>) {
  const h = await startGateway(...args);
  try {
    await fn(h);
  } finally {
    await h.stop();
  }
}

const auth = `authorization: Bearer ${keys.acme}\r\ncontent-type: application/json\r\n`;

test('ingress limits - oversized headers 431, slow headers 408, negative Content-Length 400, each with a JSON code', async () => {
  await withGateway(
    async (h) => {
      const big = await rawRequest(h.port, [
        `POST /v1/events HTTP/1.1\r\nhost: x\r\n${auth}x-pad: ${'a'.repeat(8000)}\r\n\r\n`,
      ]);
      assert.equal(big.status, 431);
      assert.equal(JSON.parse(big.body).error.code, 'SHOCK_INGRESS_HEADERS_TOO_LARGE');
      const slow = await rawRequest(h.port, ['POST /v1/events HTTP/1.1\r\nhost: x\r\n', auth], { gapMs: 3000 });
      assert.equal(slow.status, 408);
      assert.equal(JSON.parse(slow.body).error.code, 'SHOCK_INGRESS_REQUEST_TIMEOUT');
      const slowBody = await rawRequest(
        h.port,
        [`POST /v1/events HTTP/1.1\r\nhost: x\r\n${auth}content-length: 50\r\n\r\n{"type":`, '"page.view"'],
        { gapMs: 3000 },
      );
      assert.equal(slowBody.status, 408);
      assert.match(slowBody.head, /connection: close/i);
      const negative = await rawRequest(h.port, [
        `POST /v1/events HTTP/1.1\r\nhost: x\r\n${auth}content-length: -1\r\n\r\n{}`,
      ]);
      assert.equal(negative.status, 400);
      assert.equal(JSON.parse(negative.body).error.code, 'SHOCK_INGRESS_BAD_REQUEST');
      assert.deepEqual(h.offsetsEnd(), [0, 0, 0, 0]);
      assert.equal((await post(h, '/v1/events', JSON.stringify(pageView()))).status, 202, 'the server is still up');
    },
    baseConfig({ limits: { headersBytesMax: 4096, headersTimeoutMs: 300, requestTimeoutMs: 600 } }),
  );
});

test('ingress limits - while draining, a request on an open connection gets 503 SHUTTING_DOWN and connection: close', async () => {
  const h = await startGateway();
  try {
    const socket = connect({ host: '127.0.0.1', port: h.port });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    let received = '';
    socket.setEncoding('latin1').on('data', (d: string) => (received += d));
    const first = JSON.stringify(pageView());
    // Request A arrives without its last byte, so the connection is busy when close() starts.
    socket.write(
      `POST /v1/events HTTP/1.1\r\nhost: x\r\n${auth}content-length: ${first.length}\r\n\r\n${first.slice(0, -1)}`,
    );
    await new Promise((r) => setTimeout(r, 100));
    const closing = h.gateway.close({ drainMs: 3000 });
    // The rest of A, and B pipelined behind it: A passed the door before the drain, B did not.
    socket.write(
      `${first.slice(-1)}POST /v1/events HTTP/1.1\r\nhost: x\r\n${auth}content-length: ${first.length}\r\n\r\n${first}`,
    );
    await closing;
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [202, 503]);
    const second = received.slice(received.lastIndexOf('HTTP/1.1 503'));
    assert.match(second, /connection: close/i);
    assert.match(second, /retry-after: \d+/i);
    assert.match(second, /SHOCK_INGRESS_SHUTTING_DOWN/);
    assert.equal(
      h.offsetsEnd().reduce((a, b) => a + b),
      1,
    );
  } finally {
    await h.stop();
  }
});

test('ingress limits - delay mode: requests above the start ratio are delayed, not rejected, and counted', async () => {
  await withGateway(
    async (h) => {
      const batch = [pageView(), pageView(), pageView({ priority: 'critical' })];
      const reply = await post(h, '/v1/events/batch', JSON.stringify(batch)); // ρ = 3/4 > 0.5
      assert.equal(reply.status, 202);
      assert.equal(reply.json.failedRecordCount, 0);
      assert.equal(
        h.offsetsEnd().reduce((a, b) => a + b),
        3,
      );
      const metrics = await h.registry.metrics();
      assert.match(metrics, /shock_shed_decisions_total\{decision="delay",reason="inflight",priority="normal"\} 2/);
      assert.doesNotMatch(metrics, /decision="delay"[^\n]*priority="critical"/);
      assert.equal(h.gateway.stats().shedding.delayedRequestsTotal, 1);
      const over = await post(h, '/v1/events/batch', JSON.stringify(Array.from({ length: 8 }, () => pageView())));
      assert.equal(over.status, 503, 'the hard limit still rejects'); // ρ = 8/4 = hardRatio
      assert.equal(over.headers.get('x-shock-shed'), 'hard_limit');
    },
    baseConfig({ shedding: { mode: 'delay', inflightAppendsMax: 4, delayStartRatio: 0.5, delayMsMax: 50 } }),
  );
});

test('ingress limits - event-loop delay above capacity sheds low first and never critical while low is left', async () => {
  await withGateway(
    async (h) => {
      const batch = [
        ...Array.from({ length: 20 }, () => pageView({ priority: 'low' })),
        ...Array.from({ length: 10 }, () => pageView({ priority: 'critical' })),
      ];
      const reply = await post(h, '/v1/events/batch', JSON.stringify(batch)); // ρ = 1.5, p = 1/3 ≤ low share 2/3
      assert.equal(reply.status, 202);
      const records = reply.json.records as Array<{ errorCode?: string; offset?: number }>;
      const shed = records.filter((r) => r.errorCode === 'SHOCK_INGRESS_SHED').length;
      assert.ok(shed > 0 && shed < 20, `shed ${shed} of 20 low`);
      for (const r of records.slice(20)) assert.equal(typeof r.offset, 'number', 'critical kept');
      assert.equal(
        h.offsetsEnd().reduce((a, b) => a + b),
        30 - shed,
      );
      assert.match(
        await h.registry.metrics(),
        /shock_shed_decisions_total\{decision="shed",reason="event_loop_delay",priority="low"\} \d+/,
      );
      const single = await post(h, '/v1/events', JSON.stringify(pageView({ priority: 'low' })));
      if (single.status === 503) assert.equal(single.headers.get('x-shock-shed'), 'event_loop_delay');
    },
    baseConfig({ shedding: { eventLoopDelayMsMax: 200 } }),
    { eventLoopDelayMs: () => 300 },
  );
});

test('ingress limits - shadow shedding counts and marks, never sheds', async () => {
  await withGateway(
    async (h) => {
      const replies = await Promise.all(
        Array.from({ length: 10 }, () => post(h, '/v1/events', JSON.stringify(pageView({ priority: 'low' })))),
      );
      for (const r of replies) assert.equal(r.status, 202);
      assert.ok(replies.some((r) => r.headers.get('x-shock-shadow')?.startsWith('shed;reason=')));
      assert.ok(h.gateway.stats().shedding.shadowDecisionsTotal > 0);
      assert.equal(
        h.offsetsEnd().reduce((a, b) => a + b),
        10,
      );
    },
    baseConfig({ shedding: { shadow: true } }),
    { eventLoopDelayMs: () => 1000 },
  );
});
