/**
 * `shock serve` end to end over real HTTP: every status code of the public listener is reachable through the
 * running process, each with its error code and headers, and nothing rejected is appended.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { hashApiKey } from '../../src/cell/config.js';
import { tempDir } from '../helpers/cli.js';
import {
  dashboardUrl,
  fetchStats,
  metricsUrl,
  postEvent,
  request,
  startServe,
  testKeys,
  waitUntil,
  writeConfig,
  type ServeProcess,
} from '../helpers/cell-serve.js';

const initech = { key: 'initech-secret-key', hash: hashApiKey('initech-secret-key') };
const view = { type: 'page.view', payload: { url: '/a' } };

let serve: ServeProcess;
const temp = tempDir('shock-serve-http-');

before(async () => {
  const config = writeConfig(temp.dir, {
    tenants: [
      { id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 100_000, burst: 100_000 },
      { id: 'globex', keyHashes: [testKeys.globex.hash], ratePerSec: 0.01, burst: 2 },
      { id: 'initech', keyHashes: [initech.hash], disabled: true },
    ],
    log: { partitions: 4 },
    consumers: { workers: 1 },
    limits: {
      bodyBytesMax: 65_536,
      eventBytesMax: 16_384,
      batchRecordsMax: 5,
      requestTimeoutMs: 3000,
      headersTimeoutMs: 1500,
    },
  });
  serve = await startServe(`${temp.dir}/data`, ['--config', config]);
});

after(async () => {
  await serve?.stop('SIGTERM');
  temp.cleanup();
});

/** Sends raw bytes on a fresh connection; resolves with everything the server wrote before closing (bounded). */
function raw(url: string, chunks: string[], pauseMs = 0, timeoutMs = 8000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(text);
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      if (/\r\n\r\n[\s\S]*\}$/.test(text)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (text !== '') resolve(text);
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        socket.write(chunk);
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    });
  });
}

function statusOf(rawText: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(rawText)?.[1] ?? 0);
}

test('serve http - 202 for one event and for a batch, with per-record results and failedRecordCount', async () => {
  const one = await postEvent(serve.url, testKeys.acme.key, { ...view, event_id: 'e-1' });
  assert.equal(one.status, 202);
  assert.equal(one.body.event_id, 'e-1');
  assert.ok(Number.isInteger(one.body.partition) && Number.isInteger(one.body.offset));
  assert.match(one.headers.get('ratelimit-policy') ?? '', /q=/);

  const batch = await request(`${serve.url}/v1/events/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/json' },
    body: JSON.stringify([view, { type: 'page.view', payload: {} }, { ...view, event_id: 'e-1' }]),
  });
  assert.equal(batch.status, 202);
  assert.equal(batch.body.failedRecordCount, 1);
  assert.equal(batch.body.records.length, 3);
  assert.ok(Number.isInteger(batch.body.records[0].offset));
  assert.equal(batch.body.records[1].errorCode, 'SHOCK_INGRESS_INVALID_EVENT');
  assert.equal(batch.body.records[1].retriable, false);
  assert.equal(batch.body.records[2].duplicate, true);
});

test('serve http - 400 for bad JSON, bad UTF-8, schema violations (with the field) and unknown types', async () => {
  const badJson = await postEvent(serve.url, testKeys.acme.key, '{"type": ');
  assert.equal(badJson.status, 400);
  assert.equal(badJson.body.error.code, 'SHOCK_INGRESS_INVALID_JSON');

  const badUtf8 = await request(`${serve.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/json' },
    body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
  });
  assert.equal(badUtf8.status, 400);
  assert.equal(badUtf8.body.error.code, 'SHOCK_INGRESS_INVALID_UTF8');

  const invalid = await postEvent(serve.url, testKeys.acme.key, { type: 'page.view', payload: { url: 5 } });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.body.error.code, 'SHOCK_INGRESS_INVALID_EVENT');
  assert.match(JSON.stringify(invalid.body.error.details), /url/);

  const unknown = await postEvent(serve.url, testKeys.acme.key, { type: 'no.such', payload: {} });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.error.code, 'SHOCK_INGRESS_UNKNOWN_TYPE');
});

test('serve http - 401 without or with an unknown key, 403 for a disabled tenant or a forged tenant', async () => {
  const none = await postEvent(serve.url, null, view);
  assert.equal(none.status, 401);
  assert.equal(none.body.error.code, 'SHOCK_INGRESS_UNAUTHENTICATED');
  const unknown = await postEvent(serve.url, 'not-a-real-key', view);
  assert.equal(unknown.status, 401);
  const disabled = await postEvent(serve.url, initech.key, view);
  assert.equal(disabled.status, 403);
  assert.equal(disabled.body.error.code, 'SHOCK_INGRESS_FORBIDDEN');
  const forged = await postEvent(serve.url, testKeys.acme.key, { ...view, tenant: 'globex' });
  assert.equal(forged.status, 403);
  assert.equal(forged.body.error.code, 'SHOCK_INGRESS_FORBIDDEN');
});

test('serve http - 404 for unknown paths, 405 for wrong methods (with Allow)', async () => {
  const missing = await request(`${serve.url}/nope`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'SHOCK_INGRESS_NOT_FOUND');
  const getEvents = await request(`${serve.url}/v1/events`);
  assert.equal(getEvents.status, 405);
  assert.equal(getEvents.body.error.code, 'SHOCK_INGRESS_METHOD_NOT_ALLOWED');
  const postHealth = await request(`${serve.url}/healthz`, { method: 'POST', body: 'x' });
  assert.equal(postHealth.status, 405);
  assert.equal(postHealth.headers.get('allow'), 'GET, HEAD');
});

test('serve http - 408 for a slow body, 411 without a length, 431 for oversized headers', async () => {
  const auth = `authorization: Bearer ${testKeys.acme.key}\r\n`;
  const slow = await raw(serve.url, [
    `POST /v1/events HTTP/1.1\r\nhost: x\r\n${auth}content-type: application/json\r\ncontent-length: 200\r\n\r\n{"ty`,
  ]);
  assert.equal(statusOf(slow), 408, slow);
  assert.match(slow, /SHOCK_INGRESS_REQUEST_TIMEOUT/);

  const noLength = await raw(serve.url, [
    `POST /v1/events HTTP/1.1\r\nhost: x\r\n${auth}content-type: application/json\r\nconnection: close\r\n\r\n`,
  ]);
  assert.equal(statusOf(noLength), 411, noLength);
  assert.match(noLength, /SHOCK_INGRESS_LENGTH_REQUIRED/);

  const bigHeader = await raw(serve.url, [`GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`]);
  assert.equal(statusOf(bigHeader), 431, bigHeader);
  assert.match(bigHeader, /SHOCK_INGRESS_HEADERS_TOO_LARGE/);
});

test('serve http - 413 for a body over bodyBytesMax and a batch over batchRecordsMax; 415 for a wrong media type', async () => {
  const big = await postEvent(serve.url, testKeys.acme.key, {
    type: 'generic',
    payload: { blob: 'x'.repeat(70_000) },
  });
  assert.equal(big.status, 413);
  assert.equal(big.body.error.code, 'SHOCK_INGRESS_BODY_TOO_LARGE');

  const long = await request(`${serve.url}/v1/events/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(Array.from({ length: 6 }, () => view)),
  });
  assert.equal(long.status, 413);
  assert.equal(long.body.error.code, 'SHOCK_INGRESS_BATCH_TOO_LONG');

  const text = await postEvent(serve.url, testKeys.acme.key, JSON.stringify(view), { 'content-type': 'text/plain' });
  assert.equal(text.status, 415);
  assert.equal(text.body.error.code, 'SHOCK_INGRESS_UNSUPPORTED_MEDIA_TYPE');
});

test('serve http - 429 with Retry-After and RateLimit headers once a tenant spends its burst', async () => {
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await postEvent(serve.url, testKeys.globex.key, view));
  assert.deepEqual(
    answers.map((a) => a.status),
    [202, 202, 429, 429],
  );
  const limited = answers[2];
  assert.equal(limited.body.error.code, 'SHOCK_INGRESS_RATE_LIMITED');
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  assert.match(limited.headers.get('ratelimit-policy') ?? '', /^"tenant";q=\d+;w=\d+/);
  assert.match(limited.headers.get('ratelimit') ?? '', /^"tenant";r=0;t=\d+/);
  assert.ok(limited.headers.get('x-shock-shed') !== null, 'the limiter marks its answers');
});

test('serve http - health, readiness, stats, metrics and dashboard answer; rejected events were never appended', async () => {
  assert.equal((await request(`${serve.url}/healthz`)).status, 200);
  const ready = await request(`${serve.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, 'ready');
  const page = await request(dashboardUrl(serve));
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.doesNotMatch(page.text, /<(script|link)[^>]+(src|href)=/i, 'the dashboard has no external assets');

  const metrics = await request(metricsUrl(serve));
  assert.equal(metrics.status, 200);
  for (const name of [
    'process_cpu_seconds_total',
    'shock_http_requests_total',
    'shock_accepted_events_total',
    'shock_consumer_lag{group="sink",partition="0"}',
    'shock_consumer_lag_seconds{group="sink",partition="3"}',
    'shock_log_fsync_seconds_count',
    'shock_breaker_state',
    'shock_cell_ready 1',
  ]) {
    assert.ok(metrics.text.includes(name), `metrics include ${name}`);
  }
  // The shared journal (on by default) made the accepted events durable and reports it.
  const journal = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics.text)?.[1]);
  assert.ok(journal('shock_log_journal_syncs_total') > 0, 'journal fdatasyncs are counted');
  assert.ok(journal('shock_log_journal_entries_total') > 0, 'journal entries are counted');
  assert.ok(journal('shock_log_journal_bytes_total') > journal('shock_log_journal_entries_total'));
  assert.equal(journal('shock_log_journal_sync_seconds_count'), journal('shock_log_journal_syncs_total'));
  assert.equal(journal('shock_log_journal_failed'), 0);

  // Every accepted event is in the log and nothing else: the log's end offsets add up to the accepted count.
  await waitUntil(async () => {
    const s = await fetchStats(serve);
    const inLog = s.consumers.partitions.reduce((sum: number, p: { offsetEnd: number }) => sum + p.offsetEnd, 0);
    return inLog === s.ingress.acceptedTotal && s.consumers.lagEvents === 0;
  });
  const stats = await fetchStats(serve);
  assert.equal(stats.ingress.acceptedTotal, 4, 'e-1, one batch record, two globex events');
  assert.ok(stats.ingress.rejectedTotal >= 1);
  assert.equal(stats.breaker.state, 'closed');
  assert.equal(stats.cell.ready, true);
});

test('serve http - 503 with Retry-After and x-shock-shed when the process is over capacity', async () => {
  const t = tempDir('shock-serve-503-');
  const config = writeConfig(t.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash] }],
    log: { partitions: 1 },
    consumers: { workers: 1 },
    // Capacity is one event in flight: a batch of three puts the load ratio at 3, past the hard limit (2), where
    // even critical events are shed. (The in-flight signal is deterministic; event-loop delay is not.)
    shedding: { inflightAppendsMax: 1 },
  });
  const shedding = await startServe(`${t.dir}/data`, ['--config', config]);
  try {
    const batch = [1, 2, 3].map((i) => ({ ...view, event_id: `shed-${i}`, priority: 'critical' }));
    const answer = await request(`${shedding.url}/v1/events/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${testKeys.acme.key}` },
      body: JSON.stringify(batch),
    });
    assert.equal(answer.status, 503, 'a batch of which nothing was stored takes the status of its cause');
    const codes: string[] = answer.body.records
      ? answer.body.records.map((r: { errorCode: string }) => r.errorCode)
      : [answer.body.error.code];
    assert.ok(codes.length > 0 && codes.every((c) => c === 'SHOCK_INGRESS_SHED'), JSON.stringify(answer.body));
    assert.ok(Number(answer.headers.get('retry-after')) >= 1);
    assert.ok(answer.headers.get('x-shock-shed'));
    // One event alone is within capacity and is accepted: shedding follows the load, not the tenant.
    const single = await postEvent(shedding.url, testKeys.acme.key, { ...view, priority: 'critical' });
    assert.equal(single.status, 202);
    const stats = await fetchStats(shedding);
    assert.equal(stats.ingress.acceptedTotal, 1, 'only the single event was appended');
  } finally {
    await shedding.stop('SIGTERM');
    t.cleanup();
  }
});
