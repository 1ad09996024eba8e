/**
 * The coordinated-omission acceptance test: against a server that freezes D ms every P ms, the open-loop generator
 * must report the analytic distribution (p95, p99, p99.9 and max within [ideal − 3%, ideal + max(10%, 25 ms)], the
 * mean within [ideal, 1.3 × ideal]), hold its rate within 1%, and record exactly one sample per response; a closed
 * loop against the same server reports the much lower, omitted tail.
 *
 * Chosen for a loaded 2-core machine (CPU pressure above 80% while other suites and benchmarks run): S = 1 ms,
 * D = 1 s, P = 4.001 s, 200 req/s for 22.005 s with a 2 s warm-up (five whole periods measured). The stall tail is
 * hundreds of ms, so the tolerance (≥ 80 ms on every percentile, 38 ms on the mean) dwarfs scheduling noise, which
 * on this machine reaches tens of ms. P is one ms off a multiple of the 5 ms arrival spacing, so the phase between
 * arrivals and freezes walks through every residue and the discrete arrivals average to the continuous mixture (the
 * mean's lower bound is exact, with no slack). The server runs in its own process.
 *
 * Noise from other tenants can only add latency: the server never answers before its model time, and every
 * client-side delay is positive. So a result below a lower bound — the coordinated-omission failure this test exists
 * to catch — fails at once, while a run that is only above an upper bound, or that the generator itself declares
 * starved (p99 scheduling lag above 100 ms, the test's gate), is re-run, at most twice: the seed's rule for a window
 * with a structural stall — re-run it, do not filter it. A systematic upward error (back-filled samples) still fails
 * every run, and the one-sample-per-response checks catch it directly.
 * Both processes ask for a higher CPU priority (nice −10, best effort: it needs privileges) so that other tenants of
 * the machine delay their timers less; they use little CPU (200 req/s).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { decodeHistogram } from '../../src/measure/histogram/index.js';
import { runClosedLoop, runOpenLoop, type LoadResult } from '../../src/measure/load/index.js';
import { idealFreezeDistribution } from '../unit/measure/load/freeze-server.js';

const shape = { serviceMs: 1, freezeMs: 1000, periodMs: 4001 };
const warmupMs = 2000;
const measuredMs = 5 * shape.periodMs;
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
  raisePriority(child.pid);
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

/** Best effort: a higher CPU priority for a process we started (or this one); ignored without privileges. */
function raisePriority(pid = 0): void {
  try {
    setPriority(pid, -10);
  } catch {
    // Not permitted: the test still runs, with the machine's noise.
  }
}

/** The acceptance tolerances: p95, p99, p99.9, max in [ideal − 3%, ideal + max(10%, 25 ms)]; mean in [ideal, 1.3×]. */
function checkDistribution(result: LoadResult, ideal: ReturnType<typeof idealFreezeDistribution>) {
  const c = result.latencyMs.corrected;
  const tooLow: string[] = [];
  const tooHigh: string[] = [];
  const bounds: [string, number, number, number][] = [
    ['p95', c.p95, ideal.p95 * 0.97, ideal.p95 + Math.max(0.1 * ideal.p95, 25)],
    ['p99', c.p99, ideal.p99 * 0.97, ideal.p99 + Math.max(0.1 * ideal.p99, 25)],
    ['p99.9', c.p99_9, ideal.p99_9 * 0.97, ideal.p99_9 + Math.max(0.1 * ideal.p99_9, 25)],
    ['max', c.max, ideal.max * 0.97, ideal.max + Math.max(0.1 * ideal.max, 25)],
    ['mean', c.mean, ideal.mean, 1.3 * ideal.mean],
  ];
  for (const [name, measured, lo, hi] of bounds) {
    const text = `${name} = ${measured.toFixed(2)} ms, expected in [${lo.toFixed(2)}, ${hi.toFixed(2)}]`;
    if (measured < lo) tooLow.push(text);
    if (measured > hi) tooHigh.push(text);
  }
  return { tooLow, tooHigh };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  'load - open loop reports the analytic distribution of a freezing server; closed loop omits the tail',
  { timeout: 170_000 },
  async () => {
    raisePriority();
    const { url, answered } = await startServer();
    const ideal = idealFreezeDistribution(shape);
    let open: LoadResult | undefined;
    let answeredOpen = 0;
    let failures: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      await sleep(400); // the server reports its count every 200 ms
      const before = answered();
      open = await runOpenLoop({
        url,
        ratePerSec,
        durationMs: warmupMs + measuredMs,
        warmupMs,
        connections: 256,
        lagMaxMs: 100,
      });
      await sleep(400);
      answeredOpen = answered() - before;
      const check = checkDistribution(open, ideal);
      // Too low is the coordinated-omission failure: never retried. Noise from other tenants only adds latency, so
      // a run that is only too high, or that the generator itself declared starved, is re-run.
      assert.deepEqual(check.tooLow, [], check.tooLow.join('; '));
      failures = [...check.tooHigh, ...open.problems.map((p) => p.message)];
      if (failures.length === 0) break;
    }
    assert.ok(open !== undefined);
    assert.deepEqual(failures, [], `after 3 runs: ${failures.join('; ')}`);
    assert.equal(open.valid, true, JSON.stringify(open.problems));
    const c = open.latencyMs.corrected;
    const achieved = open.ratePerSecAchieved;
    assert.ok(Math.abs(achieved - ratePerSec) <= 0.01 * ratePerSec, `achieved ${achieved} req/s`);

    // Exactly one sample per response: the server's answers = the generator's responses = samples + warm-up.
    assert.equal(open.counts.errors, 0);
    assert.equal(open.counts.responses, answeredOpen);
    assert.equal(open.counts.samples + open.counts.warmupExcluded, open.counts.responses);
    assert.equal(decodeHistogram(open.histograms.corrected).totalCount, open.counts.samples);
    assert.equal(decodeHistogram(open.histograms.uncorrected).totalCount, open.counts.samples);
    // Five whole periods measured, every intended send after the warm-up answered once.
    assert.equal(open.counts.samples, (measuredMs * ratePerSec) / 1000);

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
