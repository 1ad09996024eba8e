/**
 * The coordinated-omission acceptance test: against a server that freezes D ms every P ms, the open-loop generator
 * must report the analytic distribution (p95, p99, p99.9 and max within [ideal − 3%, ideal + max(10%, 25 ms)], the
 * mean within [ideal, 1.3 × ideal]), hold its rate within 1%, and record exactly one sample per response; a closed
 * loop against the same server reports the much lower, omitted tail.
 *
 * Chosen for a loaded 2-core machine: S = 1 ms, D = 500 ms, P = 2 s, 200 req/s for 12 s with a 2 s warm-up (five
 * whole periods measured). The stall tail is hundreds of ms, so the tolerance (≥ 40 ms on every percentile, 19 ms on
 * the mean) dwarfs scheduling noise. The server runs in its own process. When the machine starves the generator so
 * badly that the generator itself declares the run invalid (p99 scheduling lag above its gate), the run is repeated,
 * at most twice — the seed's rule for a window with a structural stall: re-run it, do not filter it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decodeHistogram } from '../../src/measure/histogram/index.js';
import { runClosedLoop, runOpenLoop, type LoadResult } from '../../src/measure/load/index.js';
import { idealFreezeDistribution } from '../unit/measure/load/freeze-server.js';

const shape = { serviceMs: 1, freezeMs: 500, periodMs: 2000 };
const ratePerSec = 200;
const serverEntry = fileURLToPath(new URL('../unit/measure/load/freeze-server.ts', import.meta.url));
let server: ChildProcess | undefined;

after(() => {
  if (server?.pid !== undefined && server.exitCode === null) process.kill(server.pid, 'SIGKILL');
});

/** Starts the freeze server in its own process; resolves its URL and a reader of its answered count. */
async function startServer(): Promise<{ url: string; answered: () => number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', serverEntry, String(shape.serviceMs), String(shape.freezeMs), String(shape.periodMs)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  server = child;
  let answered = 0;
  let buffer = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('freeze server did not start')), 20_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('http://')) {
          clearTimeout(timer);
          resolve(line.trim());
        } else if (line.startsWith('answered ')) answered = Number(line.slice(9));
      }
    });
  });
  return { url, answered: () => answered };
}

function within(name: string, measured: number, lo: number, hi: number): void {
  assert.ok(
    measured >= lo && measured <= hi,
    `${name} = ${measured.toFixed(2)} ms, expected in [${lo.toFixed(2)}, ${hi.toFixed(2)}]`,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  'load - open loop reports the analytic distribution of a freezing server; closed loop omits the tail',
  { timeout: 120_000 },
  async () => {
    const { url, answered } = await startServer();
    const ideal = idealFreezeDistribution(shape);
    let open: LoadResult | undefined;
    let answeredOpen = 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      await sleep(400); // the server reports its count every 200 ms
      const before = answered();
      open = await runOpenLoop({ url, ratePerSec, durationMs: 12_000, warmupMs: 2000, connections: 256 });
      await sleep(400);
      answeredOpen = answered() - before;
      if (!open.problems.some((p) => p.code === 'lag')) break;
    }
    assert.ok(open !== undefined);
    assert.equal(open.valid, true, JSON.stringify(open.problems));

    const c = open.latencyMs.corrected;
    for (const [name, idealMs, measured] of [
      ['p95', ideal.p95, c.p95],
      ['p99', ideal.p99, c.p99],
      ['p99.9', ideal.p99_9, c.p99_9],
      ['max', ideal.max, c.max],
    ] as const) {
      within(name, measured, idealMs * 0.97, idealMs + Math.max(0.1 * idealMs, 25));
    }
    within('mean', c.mean, ideal.mean, 1.3 * ideal.mean);
    const achieved = open.ratePerSecAchieved;
    assert.ok(Math.abs(achieved - ratePerSec) <= 0.01 * ratePerSec, `achieved ${achieved} req/s`);

    // Exactly one sample per response: the server's answers = the generator's responses = samples + warm-up.
    assert.equal(open.counts.errors, 0);
    assert.equal(open.counts.responses, answeredOpen);
    assert.equal(open.counts.samples + open.counts.warmupExcluded, open.counts.responses);
    assert.equal(decodeHistogram(open.histograms.corrected).totalCount, open.counts.samples);
    assert.equal(decodeHistogram(open.histograms.uncorrected).totalCount, open.counts.samples);
    // Five whole periods measured: a quarter of the samples were caught in a freeze.
    assert.equal(open.counts.samples, 10 * ratePerSec);

    // The same server, closed loop: the stall is one slow sample per client per period — the tail is omitted.
    const closed = await runClosedLoop({ url, concurrency: 4, durationMs: 5000, warmupMs: 1000 });
    assert.equal(closed.latencyValidForTail, false);
    const k = closed.latencyMs.corrected;
    assert.ok(k.p95 < c.p95 / 10, `closed p95 ${k.p95} vs open ${c.p95}`);
    assert.ok(k.p99 < c.p99 / 5, `closed p99 ${k.p99} vs open ${c.p99}`);
    assert.ok(k.mean < c.mean / 2, `closed mean ${k.mean} vs open ${c.mean}`);
    assert.ok(closed.counts.responses > open.counts.responses / 10);
  },
);
