/**
 * Fuzzing the gateway with malformed requests over raw TCP (fast-check, bounded): bad JSON, bad UTF-8, wrong types,
 * huge / negative / non-numeric Content-Length, missing or forged keys, oversized headers, slow senders. The server
 * must stay up, answer every request with a 4xx whose JSON body carries a SHOCK_INGRESS_* code, and append nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { baseConfig, keys, pageView, post, rawRequest, startGateway } from '../integration/ingress-harness.js';

interface Malformed {
  kind: string;
  chunks: Array<string | Buffer>;
  gapMs?: number;
}

const auth = `authorization: Bearer ${keys.acme}\r\n`;

function request(
  body: Buffer | string,
  headers = `${auth}content-type: application/json\r\n`,
  path = '/v1/events',
): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return Buffer.concat([
    Buffer.from(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${headers}content-length: ${bytes.length}\r\n\r\n`),
    bytes,
  ]);
}

const path = fc.constantFrom('/v1/events', '/v1/events/batch');

const badJson: fc.Arbitrary<Malformed> = fc
  .tuple(fc.string({ maxLength: 200 }), path)
  .filter(([s]) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  })
  .map(([s, p]) => ({ kind: 'bad json', chunks: [request(s, undefined, p)] }));

const badUtf8: fc.Arbitrary<Malformed> = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 100 }), path)
  .map(([bytes, p]) => ({
    kind: 'bad utf-8',
    chunks: [
      request(
        Buffer.concat([Buffer.from('{"type":"'), Buffer.from(bytes), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
        undefined,
        p,
      ),
    ],
  }));

const wrongTypes: fc.Arbitrary<Malformed> = fc
  .record({
    type: fc.oneof(fc.constant('page.view'), fc.constant('order.created'), fc.anything()),
    payload: fc.oneof(fc.anything(), fc.record({ url: fc.anything(), amount_cents: fc.anything() })),
    priority: fc.oneof(fc.constant(undefined), fc.anything()),
    ts: fc.oneof(fc.constant(undefined), fc.anything()),
    key: fc.oneof(fc.constant(undefined), fc.anything()),
    event_id: fc.oneof(fc.constant(undefined), fc.anything()),
  })
  .filter((e) => {
    // Keep only events that are really invalid: a valid one would (rightly) be appended.
    const validUrl = e.type === 'page.view' && typeof (e.payload as { url?: unknown })?.url === 'string';
    return !validUrl ||
      typeof e.priority !== 'undefined' ||
      typeof e.ts !== 'undefined' ||
      e.key !== undefined ||
      e.event_id !== undefined
      ? !isValid(e)
      : false;
  })
  .map((e) => ({ kind: 'wrong types', chunks: [request(JSON.stringify(e) ?? 'null')] }));

function isValid(e: Record<string, unknown>): boolean {
  const p = e.payload as Record<string, unknown> | null;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return false;
  const typeOk =
    (e.type === 'page.view' && typeof p.url === 'string') ||
    (e.type === 'order.created' && typeof p.order_id === 'string' && Number.isInteger(p.amount_cents));
  const priorityOk = e.priority === undefined || ['critical', 'normal', 'low'].includes(e.priority as string);
  const tsOk = e.ts === undefined || (Number.isInteger(e.ts) && (e.ts as number) >= 0);
  const keyOk = e.key === undefined || typeof e.key === 'string';
  const idOk = e.event_id === undefined || (typeof e.event_id === 'string' && e.event_id.length > 0);
  return typeOk && priorityOk && tsOk && keyOk && idOk;
}

const badLength: fc.Arbitrary<Malformed> = fc
  .oneof(
    fc.bigInt({ min: 10n ** 7n, max: 10n ** 30n }).map(String),
    fc.integer({ min: -1_000_000, max: -1 }).map(String),
    fc.constantFrom('abc', '1e3', '0x10', '', '12 34', '+5'),
  )
  .map((length) => ({
    kind: `content-length ${length}`,
    chunks: [
      `POST /v1/events HTTP/1.1\r\nhost: x\r\n${auth}content-type: application/json\r\ncontent-length: ${length}\r\n\r\n{}`,
    ],
  }));

const badKeys: fc.Arbitrary<Malformed> = fc
  .oneof(
    fc.constant(''),
    fc
      .string({ minLength: 1, maxLength: 80 })
      .filter((s) => /^[\x21-\x7e]+$/.test(s))
      .map((k) => `authorization: Bearer ${k}\r\n`),
    fc.constantFrom(
      'authorization: Basic dXNlcjpwYXNz\r\n',
      'authorization: Bearer\r\n',
      'x-api-key: \r\n',
      `authorization: ${keys.acme}\r\n`,
    ),
    fc.constant(`authorization: Bearer ${keys.off}\r\n`),
  )
  .map((header) => ({
    kind: 'missing or forged key',
    chunks: [request(JSON.stringify(pageView()), `${header}content-type: application/json\r\n`)],
  }));

const forgedTenant: fc.Arbitrary<Malformed> = fc.constantFrom('globex', 'off', 'x').map((tenant) => ({
  kind: 'forged tenant in body',
  chunks: [request(JSON.stringify(pageView({ tenant })))],
}));

const hugeHeaders: fc.Arbitrary<Malformed> = fc.integer({ min: 5000, max: 40_000 }).map((n) => ({
  kind: 'oversized headers',
  chunks: [`POST /v1/events HTTP/1.1\r\nhost: x\r\n${auth}x-filler: ${'a'.repeat(n)}\r\ncontent-length: 2\r\n\r\n{}`],
}));

const slowSender: fc.Arbitrary<Malformed> = fc.constantFrom('headers', 'body').map((where) => ({
  kind: `slow sender (${where})`,
  gapMs: 2000,
  chunks:
    where === 'headers'
      ? ['POST /v1/events HTTP/1.1\r\nhost: x\r\n', `${auth}content-type: application/json\r\n`]
      : [
          `POST /v1/events HTTP/1.1\r\nhost: x\r\n${auth}content-type: application/json\r\ncontent-length: 100\r\n\r\n{"type":`,
          '"page.view"',
        ],
}));

const malformed = fc.oneof(
  { arbitrary: badJson, weight: 4 },
  { arbitrary: badUtf8, weight: 3 },
  { arbitrary: wrongTypes, weight: 4 },
  { arbitrary: badLength, weight: 3 },
  { arbitrary: badKeys, weight: 3 },
  { arbitrary: forgedTenant, weight: 1 },
  { arbitrary: hugeHeaders, weight: 2 },
  { arbitrary: slowSender, weight: 1 },
);

test(
  'ingress fuzz - malformed requests get a 4xx with an error code, the server stays up, nothing is appended',
  { timeout: 120_000 },
  async () => {
    const h = await startGateway(
      baseConfig({
        limits: {
          headersBytesMax: 4096,
          headersTimeoutMs: 300,
          requestTimeoutMs: 600,
          bodyBytesMax: 64 * 1024,
          eventBytesMax: 16 * 1024,
        },
      }),
    );
    try {
      const seen = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(malformed, async (m) => {
          const reply = await rawRequest(h.port, m.chunks, { gapMs: m.gapMs, timeoutMs: 4000 });
          const kind = m.kind.startsWith('content-length') ? 'bad content-length' : m.kind;
          seen.set(kind, (seen.get(kind) ?? 0) + 1);
          assert.ok(
            reply.status !== null && reply.status >= 400 && reply.status < 500,
            `${m.kind}: status ${reply.status} ${reply.head}`,
          );
          const body = JSON.parse(reply.body) as { error: { code: string; message: string } };
          assert.match(body.error.code, /^SHOCK_INGRESS_[A-Z0-9_]+$/, m.kind);
          assert.deepEqual(h.offsetsEnd(), [0, 0, 0, 0], `${m.kind} appended something`);
        }),
        { numRuns: 120, seed: 5_000_001, interruptAfterTimeLimit: 90_000 },
      );
      // Still up: a valid event is accepted afterwards.
      const ok = await post(h, '/v1/events', JSON.stringify(pageView()));
      assert.equal(ok.status, 202);
      assert.equal(
        h.offsetsEnd().reduce((a, b) => a + b),
        1,
      );
      if (process.env.SHOCK_FUZZ_VERBOSE) console.log(seen);
      assert.ok(seen.size >= 6, `kinds exercised: ${[...seen.keys()].join(', ')}`);
    } finally {
      await h.stop();
    }
  },
);

/**
 * Valid-looking events whose shape `JSON.parse` accepts but recursive code and consumers must not be handed (issue 12
 * items 3 and 4): nesting from shallow to far past the limit, member names written with escapes (which send the
 * payload through re-serialisation instead of a byte copy), numbers that overflow a double. Sent alone, in a JSON
 * array batch and as NDJSON.
 */
interface Shaped {
  body: string;
  /** Levels of nesting of the event (the event object is 1). */
  depth: number;
  notFinite: boolean;
  route: 'single' | 'array' | 'ndjson';
}

const depthMax = 128;

const shaped: fc.Arbitrary<Shaped> = fc
  .record({
    levels: fc.oneof(
      fc.integer({ min: 0, max: depthMax + 2 }),
      fc.integer({ min: depthMax - 3, max: depthMax }),
      fc.integer({ min: 1000, max: 12_000 }),
    ),
    objects: fc.boolean(),
    escapedName: fc.boolean(),
    escapedKey: fc.boolean(),
    number: fc.constantFrom('1', '-2.5e-7', '1.7976931348623157e308', '1e400', '-1E999', '9'.repeat(400), '0e999'),
    route: fc.constantFrom<Shaped['route']>('single', 'array', 'ndjson'),
  })
  .map(({ levels, objects, escapedName, escapedKey, number, route }) => {
    const open = objects ? '{"n\\u0065st":' : '[';
    const deep = open.repeat(levels) + number + (objects ? '}' : ']').repeat(levels);
    const key = escapedKey ? '"k\\u0065y":"x",' : '';
    const payloadName = escapedName ? '"p\\u0061yload"' : '"payload"';
    const body = `{"type":"page.view",${key}${payloadName}:{"url":"/","d":${deep}}}`;
    const notFinite = !Number.isFinite(Number(number));
    return { body, depth: 2 + levels, notFinite, route };
  });

test(
  'ingress fuzz - deep nesting, escaped names and overflowing numbers get 202 or a 400 with their code, never a 500',
  { timeout: 120_000 },
  async () => {
    const h = await startGateway(baseConfig({ limits: { eventDepthMax: depthMax } }));
    try {
      let appended = 0;
      const seen = new Set<string>();
      await fc.assert(
        fc.asyncProperty(shaped, async (e) => {
          const body = e.route === 'single' ? e.body : e.route === 'array' ? `[${e.body}]` : `${e.body}\n`;
          const path = e.route === 'single' ? '/v1/events' : '/v1/events/batch';
          const contentType = e.route === 'ndjson' ? 'application/x-ndjson' : 'application/json';
          const reply = await post(h, path, body, { contentType });
          const code: unknown = e.route === 'single' ? reply.json?.error?.code : reply.json?.records?.[0]?.errorCode;
          const expected =
            e.depth > depthMax ? 'SHOCK_INGRESS_TOO_DEEP' : e.notFinite ? 'SHOCK_INGRESS_NUMBER_NOT_FINITE' : undefined;
          const what = `${e.route}, depth ${e.depth}, not finite: ${e.notFinite}: ${reply.status} ${reply.text.slice(0, 300)}`;
          assert.equal(reply.status, expected === undefined ? 202 : 400, what);
          assert.equal(code, expected, what);
          if (expected === undefined) appended += 1;
          seen.add(`${e.route} ${expected ?? 'accepted'}`);
          assert.equal(
            h.offsetsEnd().reduce((a, b) => a + b),
            appended,
            what,
          );
        }),
        { numRuns: 150, seed: 12_003, interruptAfterTimeLimit: 90_000 },
      );
      assert.ok(seen.size >= 7, `outcomes exercised: ${[...seen].join(', ')}`);
      // What was accepted is stored as sent: every record decodes, every number in it is finite.
      for (let p = 0; p < h.log.partitions; p++) {
        const records = await h.log.read(p, 0, { recordsMax: 1000 });
        for (const r of records) {
          const text = Buffer.from(r.value).toString('utf8');
          assert.ok(!/Infinity|null/.test(text), text.slice(0, 200));
        }
      }
    } finally {
      await h.stop();
    }
  },
);
