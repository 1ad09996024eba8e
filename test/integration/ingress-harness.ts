/**
 * Shared set-up of the ingress integration and fuzz tests: a real file log in a temporary directory and a real
 * gateway listening on 127.0.0.1, port 0. Also raw-socket requests, for what `fetch` refuses to send.
 */
import { connect } from 'node:net';
import { Registry } from 'prom-client';
import type { Clock } from '../../src/base/index.js';
import { createGateway, sha256Hex, type Gateway, type GatewayConfig } from '../../src/ingress/index.js';
import { openFileLog, type FileLog } from '../../src/log/index.js';
import { tempDir } from '../helpers/cli.js';

export const keys = {
  acme: 'key-acme-0123456789',
  globex: 'key-globex-0123456789',
  off: 'key-off-0123456789',
  limited: 'key-limited-0123456789',
};

export const schemas = {
  'page.view': {
    type: 'object',
    required: ['url'],
    properties: { url: { type: 'string', maxLength: 2048 }, referrer: { type: 'string' } },
  },
  'order.created': {
    type: 'object',
    required: ['order_id', 'amount_cents'],
    properties: {
      order_id: { type: 'string', minLength: 1 },
      amount_cents: { type: 'integer', minimum: 0 },
      email: { type: 'string', format: 'email' },
    },
  },
};

/** The default test configuration: generous rates, two ordinary tenants, a disabled one, one limited to a type. */
export function baseConfig(overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    tenants: [
      { id: 'acme', keyHashes: [`sha256:${sha256Hex(keys.acme)}`], ratePerSec: 100_000, burst: 100_000 },
      { id: 'globex', keyHashes: [sha256Hex(keys.globex)], ratePerSec: 100_000, burst: 100_000 },
      { id: 'off', keyHashes: [`sha256:${sha256Hex(keys.off)}`], ratePerSec: 10, burst: 10, disabled: true },
      {
        id: 'limited',
        keyHashes: [`sha256:${sha256Hex(keys.limited)}`],
        ratePerSec: 100_000,
        burst: 100_000,
        types: ['page.view'],
      },
    ],
    schemas,
    seed: 1,
    ...overrides,
  };
}

export interface Harness {
  url: string;
  port: number;
  gateway: Gateway;
  log: FileLog;
  registry: Registry;
  clock: Clock;
  /** End offset of every partition. */
  offsetsEnd(): number[];
  /** Closes gateway and log, removes the directory. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a file log (4 partitions) and a gateway on a free port. */
export async function startGateway(
  config: GatewayConfig = baseConfig(),
  options: { clock?: Clock; partitions?: number; eventLoopDelayMs?: () => number } = {},
): Promise<Harness> {
  const tmp = tempDir('shock-ingress-');
  const log = await openFileLog({ dir: tmp.dir, partitions: options.partitions ?? 4, logger: () => {} });
  const registry = new Registry();
  const gateway = createGateway({
    log,
    config,
    registry,
    clock: options.clock,
    logger: () => {},
    // Event-loop delay depends on how loaded the test machine is, so it is no signal here unless a test injects
    // one: tests check behaviour, not timing.
    eventLoopDelayMs: options.eventLoopDelayMs ?? (() => 0),
  });
  const { url, port } = await gateway.listen({ host: '127.0.0.1', port: 0 });
  let stopped = false;
  return {
    url,
    port,
    gateway,
    log,
    registry,
    clock: options.clock ?? { nowMs: Date.now, monoMs: () => performance.now() },
    offsetsEnd: () => Array.from({ length: log.partitions }, (_, p) => log.state(p).offsetEnd),
    async stop() {
      if (stopped) return;
      stopped = true;
      await gateway.close({ drainMs: 2000 });
      await log.close();
      tmp.cleanup();
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** POSTs `body` to `path` with an API key and a content type. */
export async function post(
  h: Harness,
  path: string,
  body: string | Uint8Array,
  options: { key?: string | null; contentType?: string | null; headers?: Record<string, string>; method?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? keys.acme : options.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  const method = options.method ?? 'POST';
  const res = await fetch(h.url + path, {
    method,
    headers,
    body: method === 'GET' ? undefined : typeof body === 'string' ? body : new Uint8Array(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** An event that passes validation. */
export function pageView(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'page.view', payload: { url: 'https://example.com/' }, ...extra };
}

/** The raw HTTP answer to raw bytes: status line, headers and body, or `null` status when the server just closed. */
export interface RawReply {
  status: number | null;
  head: string;
  body: string;
}

/**
 * Writes `chunks` to a fresh TCP connection (with `gapMs` between them) and reads until the server closes or
 * `timeoutMs` passes. Resolves with the first response.
 */
export function rawRequest(
  port: number,
  chunks: Array<string | Buffer>,
  options: { gapMs?: number; timeoutMs?: number } = {},
): Promise<RawReply> {
  const { gapMs = 0, timeoutMs = 5000 } = options;
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const received: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(received).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end === -1 ? text : text.slice(0, end);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({ status: m === null ? null : Number(m[1]), head, body: end === -1 ? '' : text.slice(end + 4) });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (d) => {
      received.push(d);
      const text = Buffer.concat(received).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end !== -1) {
        const m = /content-length: (\d+)/i.exec(text.slice(0, end));
        if (m !== null && text.length - end - 4 >= Number(m[1])) finish();
      }
    });
    socket.on('close', finish);
    socket.on('error', finish);
    socket.on('connect', async () => {
      for (const c of chunks) {
        if (done || socket.destroyed) return;
        socket.write(c);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}
