/**
 * The open loop end to end with the request features: rate stages ramp as scheduled, Poisson arrivals, a template
 * with per-request fields, NDJSON batches, headers, and worker threads whose merged counts match the server's.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runOpenLoop } from '../../src/measure/load/index.js';

let server: Server;
let url = '';
const bodies: string[] = [];
const headers: Record<string, string | string[] | undefined>[] = [];

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      bodies.push(body);
      headers.push(req.headers);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test(
  'load - stages ramp as scheduled: 1s at 100/s then a ramp to 300/s over 1s sends 300 requests',
  { timeout: 60_000 },
  async () => {
    bodies.length = 0;
    const r = await runOpenLoop({ url, stages: '1s:100,1s:300', lagMaxMs: 1000 });
    assert.equal(r.counts.scheduled, 300);
    assert.equal(r.counts.sent, 300);
    assert.equal(r.counts.responses, 300);
    assert.equal(bodies.length, 300);
    assert.deepEqual(r.meta.stages, [
      { durationMs: 1000, ratePerSecTarget: 100 },
      { durationMs: 1000, ratePerSecTarget: 300 },
    ]);
    assert.equal(r.meta.durationMs, 2000);
    assert.equal(r.ratePerSecTarget, 150);
  },
);

test('load - Poisson arrivals with a Zipf-keyed NDJSON template across two workers', { timeout: 60_000 }, async () => {
  bodies.length = 0;
  headers.length = 0;
  const r = await runOpenLoop({
    url,
    ratePerSec: 200,
    durationMs: 2000,
    arrival: 'poisson',
    workers: 2,
    lagMaxMs: 1000,
    seed: 5,
    request: {
      headers: { 'X-Api-Key': 'k1' },
      template: '{"event_id":"{{id}}","key":"{{key}}","n":{{seq}}}',
      batch: 3,
      keys: 50,
      keyDistribution: 'zipf',
      zipfS: 1.2,
    },
  });
  assert.equal(r.counts.responses, bodies.length);
  assert.equal(r.counts.samples, r.counts.responses);
  // Poisson(400) requests: well within 5 standard deviations.
  assert.ok(Math.abs(r.counts.sent - 400) < 100, String(r.counts.sent));
  assert.equal(r.meta.method, 'POST');
  assert.equal(headers[0]['x-api-key'], 'k1');
  assert.equal(headers[0]['content-type'], 'application/x-ndjson');
  const records = bodies.flatMap((b) =>
    b
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { event_id: string; key: string; n: number }),
  );
  assert.equal(records.length, 3 * bodies.length);
  assert.equal(new Set(records.map((x) => x.event_id)).size, records.length, 'ids are unique');
  assert.equal(new Set(records.map((x) => x.n)).size, records.length, 'sequence numbers are unique across workers');
  const hot = records.filter((x) => x.key === 'key-0').length / records.length;
  assert.ok(hot > 0.15, `key-0 is hot under Zipf(1.2) over 50 keys (expected ~0.27), got ${hot}`);
});
