/**
 * What the lab needs from the load generator, against real HTTP servers on 127.0.0.1: a closed loop that runs until
 * stopped and is sliced into contiguous cuts (counts and histograms add up exactly to the whole run and to what the
 * server answered), 2xx-only sampling with the first error as text, a closed-loop pause after transport errors, and
 * an abort signal that stops an open Poisson loop early with a valid result that says when it stopped.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runOpenLoop, startClosedLoop, type LoadCut } from '../../src/measure/load/index.js';
import { decodeHistogram } from '../../src/measure/histogram/index.js';
import { isShockError } from '../../src/base/index.js';

let server: Server;
let base = '';
let answered = 0;
let seen = 0;

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    seen++;
    if (req.url === '/drop') {
      req.socket.destroy();
      return;
    }
    // Every third request to /flaky answers 503; everything else 200 after 5 ms.
    const status = req.url === '/flaky' && seen % 3 === 0 ? 503 : 200;
    setTimeout(() => {
      answered++;
      res.writeHead(status).end('ok');
    }, 5);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  'load session - contiguous cuts of one closed loop add up to the run and to the server',
  { timeout: 30_000 },
  async () => {
    answered = 0;
    const session = await startClosedLoop({ url: `${base}/ok`, concurrency: 4, sampleStatuses: '2xx' });
    const cuts: LoadCut[] = [];
    for (let i = 0; i < 3; i++) {
      await sleep(300);
      cuts.push(session.cut());
    }
    const result = await session.stop();
    cuts.push(session.cut()); // what ended while stopping
    for (let i = 1; i < cuts.length; i++) {
      assert.ok(Math.abs(cuts[i].startMs - (cuts[i - 1].startMs + cuts[i - 1].durationMs)) < 1e-9, 'contiguous');
    }
    for (const c of cuts.slice(0, 3)) {
      assert.ok(c.durationMs >= 295 && c.durationMs < 1000, String(c.durationMs));
      assert.ok(c.ok > 20, `a 300 ms cut at 4 clients × ~5 ms answers many: ${c.ok}`);
      assert.equal(c.errors, 0);
      assert.equal(c.firstError, null);
      assert.equal(decodeHistogram(c.histograms.corrected).totalCount, c.ok, 'one sample per 2xx answer');
    }
    const total = cuts.reduce((a, c) => a + c.responses, 0);
    assert.equal(total, result.counts.responses);
    assert.equal(result.counts.responses, answered);
    assert.equal(result.meta.mode, 'closed');
    assert.equal(result.firstError, null);
    assert.equal(result.stoppedAtMs !== null && result.stoppedAtMs >= 900, true, String(result.stoppedAtMs));
  },
);

test('load session - runs in the calling thread only: workers > 1 is a bad option', async () => {
  await assert.rejects(
    startClosedLoop({ url: `${base}/ok`, concurrency: 4, workers: 2 }),
    (err: unknown) => isShockError(err) && err.code === 'SHOCK_LOAD_BAD_OPTION',
  );
});

test(
  'load - 2xx-only sampling times only 2xx answers and reports the first error as text',
  { timeout: 30_000 },
  async () => {
    seen = 0;
    const only = await runOpenLoop({
      url: `${base}/flaky`,
      ratePerSec: 150,
      durationMs: 1000,
      sampleStatuses: '2xx',
      maxErrorRate: 1,
      lagMaxMs: 1000,
    });
    const ok = only.statusCounts['200'] ?? 0;
    const failed = only.statusCounts['503'] ?? 0;
    assert.ok(ok > 0 && failed > 0, JSON.stringify(only.statusCounts));
    assert.equal(only.counts.samples, ok);
    assert.equal(decodeHistogram(only.histograms.corrected).totalCount, ok);
    assert.equal(only.counts.errors, failed);
    assert.equal(only.firstError, 'HTTP 503');
    assert.equal(only.stoppedAtMs, null);

    const all = await runOpenLoop({
      url: `${base}/flaky`,
      ratePerSec: 150,
      durationMs: 500,
      maxErrorRate: 1,
      lagMaxMs: 1000,
    });
    assert.equal(all.counts.samples, all.counts.responses, 'default: every response is a sample');
    await assert.rejects(
      runOpenLoop({ url: `${base}/ok`, ratePerSec: 10, durationMs: 100, sampleStatuses: 'some' as 'all' }),
      (err: unknown) => isShockError(err) && err.code === 'SHOCK_LOAD_BAD_OPTION',
    );
  },
);

test(
  'load session - transport errors: the message is the first error, and clients pause after each',
  { timeout: 30_000 },
  async () => {
    const session = await startClosedLoop({ url: `${base}/drop`, concurrency: 2 });
    await sleep(400);
    const cut = session.cut();
    const result = await session.stop();
    assert.equal(cut.ok, 0);
    assert.ok(cut.errors > 0, 'the dropped connections are errors');
    // Without the 20 ms pause two clients would fail thousands of times in 400 ms; with it, about 2 × 400 / 20.
    assert.ok(cut.errors <= 2 * (400 / 20 + 2) * 1.5, `errors: ${cut.errors}`);
    assert.ok(cut.firstError !== null && !cut.firstError.startsWith('HTTP'), String(cut.firstError));
    assert.equal(result.firstError, cut.firstError);
  },
);

test(
  'load - an abort stops an open Poisson loop early with a result marked interrupted, its rates over the time run',
  { timeout: 30_000 },
  async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const startedMs = performance.now();
    const r = await runOpenLoop({
      url: `${base}/ok`,
      ratePerSec: 100,
      arrival: 'poisson',
      seed: 3,
      durationMs: 20_000,
      lagMaxMs: 1000,
      signal: controller.signal,
    });
    assert.ok(performance.now() - startedMs < 5000, 'returned soon after the abort');
    assert.ok(r.stoppedAtMs !== null && r.stoppedAtMs >= 400 && r.stoppedAtMs < 2000, String(r.stoppedAtMs));
    assert.equal(r.meta.arrival, 'poisson');
    assert.ok(r.counts.sent > 10 && r.counts.sent < 300, String(r.counts.sent));
    assert.equal(r.counts.responses, r.counts.sent, 'in-flight requests were awaited');
    assert.equal(r.counts.samples, r.counts.responses);
    assert.equal(r.interrupted, true);
    assert.equal(r.valid, false);
    assert.deepEqual(r.problems.filter((p) => p.code === 'interrupted').length, 1, JSON.stringify(r.problems));
    assert.ok(r.responsesPerSec > (r.counts.responses / 20) * 2, 'not divided by the planned 20 s');
    JSON.parse(JSON.stringify(r));
  },
);
