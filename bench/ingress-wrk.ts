/**
 * Helpers of the ingress benchmarks: run `wrk` (Debian package `wrk`) against a URL with a Lua script that POSTs
 * one of a few prepared bodies in rotation, and parse its summary; the schema, 200-byte events and gateway
 * configuration the batch benchmarks share. Not a benchmark itself.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex, type GatewayConfig } from '../src/ingress/index.js';

/** The API key of the benchmark tenant. */
export const benchKey = 'bench-key-0123456789';

/** The one event type the benchmarks send. */
export const benchSchemas = {
  'page.view': {
    type: 'object',
    required: ['url'],
    properties: { url: { type: 'string', maxLength: 2048 }, referrer: { type: 'string', maxLength: 2048 } },
  },
};

/** A gateway configuration: one tenant with no practical rate limit, the benchmark schema. */
export function benchGatewayConfig(overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    tenants: [{ id: 'bench', keyHashes: [sha256Hex(benchKey)], ratePerSec: 1e9, burst: 1e9 }],
    schemas: benchSchemas,
    ...overrides,
  };
}

/** One 200-byte event (JSON text) for key i of batch `batch`. */
export function benchEvent(i: number, batch: number): string {
  const base = {
    type: 'page.view',
    key: `user-${i % 97}`,
    priority: 'normal',
    payload: { url: `https://example.com/p/${batch}/${i}`, referrer: '' },
  };
  const pad = 200 - JSON.stringify(base).length;
  base.payload.referrer = 'r'.repeat(Math.max(0, pad));
  return JSON.stringify(base);
}

export interface WrkResult {
  requests: number;
  requestsPerSec: number;
  non2xx: number;
  socketErrors: string;
  latency: string;
}

/** Lua that rotates over `bodies` (request i gets body i mod n), with fixed headers. */
export function postScript(dir: string, bodies: string[], headers: Record<string, string>): string {
  const file = join(dir, 'post.lua');
  const lua = [
    'local bodies = {',
    ...bodies.map((b) => `  ${luaString(b)},`),
    '}',
    'local i = 0',
    'wrk.method = "POST"',
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`),
    'request = function()',
    '  i = i + 1',
    '  return wrk.format(nil, nil, nil, bodies[(i % #bodies) + 1])',
    'end',
  ].join('\n');
  writeFileSync(file, lua);
  return file;
}

function luaString(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
}

/** Runs wrk and parses requests, requests/s, non-2xx responses and socket errors. */
export function runWrk(
  url: string,
  script: string,
  options: { durationSec: number; connections: number; threads?: number },
): Promise<WrkResult> {
  const args = [
    `-t${options.threads ?? 1}`,
    `-c${options.connections}`,
    `-d${options.durationSec}s`,
    '--latency',
    '-s',
    script,
    url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited with ${code}:\n${out}`));
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
      const requestsPerSec = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const socketErrors = /Socket errors:.*/.exec(out)?.[0] ?? 'none';
      const latency = /Latency Distribution[\s\S]*?99%\s+\S+/.exec(out)?.[0].replace(/\s+/g, ' ') ?? '';
      resolve({ requests, requestsPerSec, non2xx, socketErrors, latency });
    });
  });
}
