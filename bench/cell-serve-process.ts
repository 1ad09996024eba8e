/**
 * Benchmark helpers for the cell: start a real `shock serve` (from source, through tsx) or a no-op node:http
 * anchor server in a child process, and the request spec `shock load` sends (single page.view events, ~200 bytes,
 * keys spread over the partitions). Not a benchmark itself.
 */
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { startServe, testKeys, writeConfig, type ServeProcess } from '../test/helpers/cell-serve.js';
import { tempDir } from '../test/helpers/cli.js';
import type { LoadRequestSpec } from '../src/measure/load/index.js';

/** Starts `shock serve` with `config` (merged over a one-tenant base) in a fresh data directory. */
export async function startBenchCell(
  config: Record<string, unknown> = {},
): Promise<{ serve: ServeProcess; cleanup: () => Promise<void> }> {
  const t = tempDir('shock-bench-cell-');
  const file = writeConfig(t.dir, {
    tenants: [{ id: 'bench', keyHashes: [testKeys.acme.hash], ratePerSec: 10_000_000, burst: 10_000_000 }],
    log: { partitions: 4 },
    consumers: { workers: 1 },
    ...config,
  });
  const serve = await startServe(`${t.dir}/data`, ['--config', file]);
  return {
    serve,
    cleanup: async () => {
      await serve.stop('SIGTERM');
      t.cleanup();
    },
  };
}

const noopSource = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => { res.writeHead(202, { 'content-type': 'application/json', 'content-length': 2 }); res.end('{}'); });
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ url: 'http://127.0.0.1:' + server.address().port })));
`;

/** A no-op HTTP server answering 202 `{}` after reading the body: the anchor of the latency benchmarks. */
export function startNoopServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['-e', noopSource], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined) return;
      resolve({
        url: (JSON.parse(line) as { url: string }).url,
        stop: () =>
          new Promise((done) => {
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`the no-op server exited with ${code}`)));
  });
}

/** One page.view event per request, keys spread over 1000 users, ~200 bytes. */
export const eventRequest: LoadRequestSpec = {
  method: 'POST',
  headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/json' },
  template:
    '{"type":"page.view","key":"user-{{key}}","payload":{"url":"https://example.com/products/{{seq}}/detail",' +
    '"referrer":"https://example.com/search?q=shock+absorber"}}',
  keys: 1000,
};

/** The machine and how busy it is, for the results header (other work on the machine skews every figure). */
export function machineLine(): string {
  const load = loadavg()[0].toFixed(1);
  return `${process.platform}/${process.arch}, ${availableParallelism()} cores, Node ${process.versions.node}, load ${load}`;
}
