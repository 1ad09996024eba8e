/**
 * Malformed requests against the real `shock serve` process (fast-check, bounded): random bytes, JSON of the wrong
 * shape, wrong field types, missing or forged keys, bad media types, lying Content-Lengths. The process stays up,
 * answers each with a 4xx carrying a SHOCK_* code, and appends nothing (the log stays empty).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import fc from 'fast-check';
import { tempDir } from '../helpers/cli.js';
import { fetchStats, request, startServe, testKeys, writeConfig, type ServeProcess } from '../helpers/cell-serve.js';

const temp = tempDir('shock-serve-fuzz-');
let serve: ServeProcess;

before(async () => {
  const config = writeConfig(temp.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 1_000_000, burst: 1_000_000 }],
    log: { partitions: 2 },
    consumers: { workers: 1 },
    limits: { bodyBytesMax: 16_384, eventBytesMax: 8192, requestTimeoutMs: 2000, headersTimeoutMs: 1000 },
  });
  serve = await startServe(`${temp.dir}/data`, ['--config', config]);
});

after(async () => {
  await serve?.stop('SIGTERM');
  temp.cleanup();
});

/** A JSON value that is never a valid event (wrong top-level type, or an object with a broken field). */
const badEvent = fc.oneof(
  fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 })),
  fc.record({
    type: fc.oneof(fc.integer(), fc.constant(''), fc.constant('no.such.type'), fc.constant(null)),
    payload: fc.oneof(fc.object({ maxDepth: 1 }), fc.integer()),
  }),
  fc.record({ type: fc.constant('page.view'), payload: fc.record({ url: fc.oneof(fc.integer(), fc.boolean()) }) }),
  fc.record({
    type: fc.constant('page.view'),
    payload: fc.constant({ url: '/' }),
    priority: fc.string({ maxLength: 5 }).filter((p) => !['critical', 'normal', 'low'].includes(p)),
  }),
);

type Case =
  | { kind: 'body'; body: Uint8Array; contentType: string; key: string | null }
  | { kind: 'lying-length'; declared: number; sent: string };

const cases: fc.Arbitrary<Case> = fc.oneof(
  fc.record({
    kind: fc.constant('body' as const),
    body: fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      badEvent.map((v) => new TextEncoder().encode(JSON.stringify(v))),
    ),
    contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/xml'),
    key: fc.constantFrom<string | null>(testKeys.acme.key, testKeys.acme.key, null, 'forged-key', ''),
  }),
  fc.record({
    kind: fc.constant('lying-length' as const),
    declared: fc.oneof(fc.constant(-1), fc.constant(1e12), fc.integer({ min: 20_000, max: 100_000 })),
    sent: fc.string({ maxLength: 20 }),
  }),
);

/** Raw request with a Content-Length that does not match the body; resolves with the status line's code. */
function lyingLength(url: string, declared: number, sent: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    const timer = setTimeout(() => socket.destroy(), 6000);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
    socket.on('connect', () =>
      socket.write(
        `POST /v1/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${testKeys.acme.key}\r\n` +
          `content-type: application/json\r\ncontent-length: ${declared}\r\nconnection: close\r\n\r\n${sent}`,
      ),
    );
  });
}

test('serve fuzz - malformed requests get a 4xx with a code, the process stays up, nothing is appended', async () => {
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      if (c.kind === 'lying-length') {
        const r = await lyingLength(serve.url, c.declared, c.sent);
        assert.ok(r.status >= 400 && r.status < 500, `lying length ${c.declared}: ${r.text}`);
        assert.match(r.text, /"code":"SHOCK_[A-Z0-9_]+"/);
        return;
      }
      const headers: Record<string, string> = { 'content-type': c.contentType };
      if (c.key !== null) headers.authorization = `Bearer ${c.key}`;
      const r = await request(`${serve.url}/v1/events`, { method: 'POST', headers, body: Buffer.from(c.body) });
      assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}: ${r.text}`);
      assert.match(r.body?.error?.code ?? '', /^SHOCK_[A-Z0-9_]+$/);
    }),
    { numRuns: 150, seed: 5 },
  );
  assert.equal((await request(`${serve.url}/healthz`)).status, 200);
  const stats = await fetchStats(serve);
  assert.equal(stats.ingress.acceptedTotal, 0);
  assert.equal(
    stats.consumers.partitions.reduce((sum: number, p: { offsetEnd: number }) => sum + p.offsetEnd, 0),
    0,
    'the log is empty',
  );
});
