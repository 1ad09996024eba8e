/**
 * Graceful shutdown of `shock serve` on SIGTERM under load: a request already in flight (its body still arriving)
 * is finished and answered 202, the process exits 0, every 202 is in the log, and the consumers committed offsets
 * only for events that are in the sink. A restart then consumes the rest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import Database from 'better-sqlite3';
import { decodeEvent } from '../../src/base/index.js';
import { openFileLog } from '../../src/log/index.js';
import { tempDir } from '../helpers/cli.js';
import { fetchStats, startServe, testKeys, waitUntil, writeConfig } from '../helpers/cell-serve.js';

const partitions = 2;

/** Opens a POST whose body arrives in two halves; `finish()` sends the rest and resolves with the raw answer. */
function slowPost(url: string, body: string): Promise<{ finish: () => Promise<string> }> {
  const { hostname, port } = new URL(url);
  const half = Math.floor(body.length / 2);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(
        `POST /v1/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${testKeys.acme.key}\r\n` +
          `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
      );
      resolve({
        finish: () =>
          new Promise((done) => {
            const timer = setTimeout(() => done(text), 10_000);
            socket.on('close', () => {
              clearTimeout(timer);
              done(text);
            });
            socket.on('data', () => {
              if (/\r\n\r\n[\s\S]*\}$/.test(text)) {
                clearTimeout(timer);
                socket.destroy();
                done(text);
              }
            });
            socket.write(body.slice(half));
          }),
      });
    });
  });
}

test('serve graceful - SIGTERM finishes in-flight requests, exits 0, keeps every 202 and commits only what is stored', async () => {
  const t = tempDir('shock-serve-term-');
  const dataDir = `${t.dir}/data`;
  const config = writeConfig(t.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 1_000_000, burst: 1_000_000 }],
    log: { partitions },
    consumers: { workers: 1, handlerDelayMs: 20 },
  });
  try {
    const serve = await startServe(dataDir, ['--config', config]);
    const acked = new Set<string>();
    const statuses = new Set<number>();
    let stop = false;
    const senders = Array.from({ length: 4 }, async (_, s) => {
      for (let i = 0; !stop; i++) {
        const id = `g${s}-${i}`;
        try {
          const res = await fetch(`${serve.url}/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ event_id: id, type: 'page.view', payload: { url: '/' } }),
          });
          statuses.add(res.status);
          if (res.status === 202) acked.add(id);
          await res.arrayBuffer();
        } catch {
          return; // the listener closed
        }
      }
    });
    await waitUntil(() => acked.size >= 100, 30_000, 20);
    const inflight = await slowPost(
      serve.url,
      JSON.stringify({ event_id: 'in-flight', type: 'page.view', payload: { url: '/slow' } }),
    );
    // Let the gateway receive the headers, then ask for the drain while the body is still incomplete.
    await new Promise((r) => setTimeout(r, 300));
    const exiting = serve.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const answer = await inflight.finish();
    assert.match(answer, /^HTTP\/1\.1 202/, answer);
    const exit = await exiting;
    stop = true;
    await Promise.all(senders);
    assert.equal(exit.code, 0, serve.output().stderr);
    assert.match(serve.output().stdout, /"event":"stopped"/);
    assert.ok(
      [...statuses].every((s) => s === 202 || s === 503),
      `only 202 or 503 during the drain: ${[...statuses]}`,
    );
    acked.add('in-flight');

    const log = await openFileLog({ dir: `${dataDir}/log`, partitions });
    const inLog = new Map<string, { partition: number; offset: number }>();
    const committed: number[] = [];
    try {
      for (let p = 0; p < partitions; p++) {
        committed.push(log.offsets.get('sink', p));
        for (let offset = 0; offset < log.state(p).offsetEnd;) {
          const records = await log.read(p, offset, { recordsMax: 1000 });
          for (const r of records) inLog.set(decodeEvent(r.value).event_id, { partition: p, offset: r.offset });
          offset = records[records.length - 1].offset + 1;
        }
        assert.ok(committed[p] <= log.state(p).offsetEnd);
      }
    } finally {
      await log.close();
    }
    assert.deepEqual(
      [...acked].filter((id) => !inLog.has(id)),
      [],
      'every 202 is in the log',
    );

    const db = new Database(`${dataDir}/sink.sqlite`, { readonly: true });
    try {
      const stored = db
        .prepare("SELECT log_partition AS p, log_offset AS o FROM results WHERE consumer_group = 'sink'")
        .all() as { p: number; o: number }[];
      const storedSet = new Set(stored.map((r) => `${r.p}:${r.o}`));
      for (let p = 0; p < partitions; p++) {
        for (let o = 0; o < committed[p]; o++) assert.ok(storedSet.has(`${p}:${o}`), `committed ${p}:${o} is stored`);
      }
    } finally {
      db.close();
    }

    // A restart consumes whatever was left.
    const again = await startServe(dataDir, ['--config', config]);
    await waitUntil(async () => (await fetchStats(again)).consumers.lagEvents === 0, 60_000, 200);
    assert.equal((await again.stop('SIGTERM')).code, 0);
  } finally {
    t.cleanup();
  }
});
