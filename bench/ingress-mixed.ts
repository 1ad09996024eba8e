/**
 * Mixed traffic: single-event latency while large batches stream in, with and without batch workers.
 *
 * A gateway over an 8-partition file log (202 after fdatasync) takes, at the same time,
 *   - large batches as fast as 4 wrk connections send them (500 × 200-byte events, ~100 KB per body), and
 *   - single events from `shock load`'s open-loop generator at a fixed rate (latency from the intended send time).
 * Preparing a 100 KB batch inline holds the event loop for milliseconds, and every single event behind it waits;
 * on a batch worker the event loop only appends and answers. The anchor in the same run is the same single-event
 * load with no batch traffic: the ratio is the single-event p99 under batch load over the p99 without it.
 *
 * Run: node --import tsx bench/ingress-mixed.ts [durationSec=15] [singleRatePerSec=500]
 * Needs `wrk` on PATH (Debian: apt-get install wrk).
 */
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createGateway } from '../src/ingress/index.js';
import { openFileLog } from '../src/log/index.js';
import { runOpenLoop, type LoadResult } from '../src/measure/load/index.js';
import { tempDir } from '../test/helpers/cli.js';
import { benchEvent, benchGatewayConfig, benchKey, postScript, runWrk, type WrkResult } from './ingress-wrk.js';

const durationSec = Number(process.argv[2] ?? 15);
const singleRate = Number(process.argv[3] ?? 500);
const key = benchKey;
const batchRecords = 500; // the default batchRecordsMax

const bodies = Array.from(
  { length: 4 },
  (_, b) => '[' + Array.from({ length: batchRecords }, (_, i) => benchEvent(i, b)).join(',') + ']',
);

const single = {
  method: 'POST',
  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  template: '{"type":"page.view","key":"single-{{key}}","payload":{"url":"https://example.com/s/{{seq}}"}}',
  keys: 100,
};

interface Case {
  workers: number;
  batchLoad: boolean;
  single: LoadResult;
  batch: WrkResult | null;
  batchEventsPerSec: number;
}

async function runCase(dir: string, workers: number, batchLoad: boolean): Promise<Case> {
  mkdirSync(dir, { recursive: true });
  const log = await openFileLog({ dir: dir + '/log', partitions: 8 });
  const gateway = createGateway({
    log,
    config: benchGatewayConfig({ batchWorkers: { workers, bytesMin: 16 * 1024 } }),
  });
  const { url } = await gateway.listen({ port: 0 });
  try {
    const script = postScript(dir, bodies, { 'content-type': 'application/json', authorization: `Bearer ${key}` });
    // Warm-up (and start the batch worker) before measuring.
    await runWrk(url + '/v1/events/batch', script, { durationSec: 2, connections: 4 });
    const before = gateway.stats().acceptedEventsTotal;
    const t0 = performance.now();
    const batchRun = batchLoad
      ? runWrk(url + '/v1/events/batch', script, { durationSec: durationSec + 3, connections: 4 })
      : Promise.resolve(null);
    const singleRun = runOpenLoop({
      url: url + '/v1/events',
      request: single,
      ratePerSec: singleRate,
      durationMs: durationSec * 1000,
      warmupMs: 2000,
      connections: 32,
    });
    const [batch, singleResult] = await Promise.all([batchRun, singleRun]);
    const elapsed = (performance.now() - t0) / 1000;
    const accepted = gateway.stats().acceptedEventsTotal - before;
    const singles = singleResult.counts.responses;
    return {
      workers,
      batchLoad,
      single: singleResult,
      batch,
      batchEventsPerSec: Math.round((accepted - singles) / elapsed),
    };
  } finally {
    await gateway.close({ drainMs: 5000 });
    await log.close();
  }
}

function line(c: Case): string {
  const l = c.single.latencyMs.corrected;
  const what = c.batchLoad ? `batches streaming, ${c.workers} batch worker(s)` : 'no batch traffic (anchor)';
  return (
    `${what.padEnd(40)} single p50 ${l.p50.toFixed(2).padStart(7)} ms  p99 ${l.p99.toFixed(2).padStart(7)} ms  ` +
    `p99.9 ${l.p99_9.toFixed(2).padStart(7)} ms  errors ${c.single.counts.errors}` +
    (c.batchLoad ? `  batch events/s ${c.batchEventsPerSec} (non-2xx ${c.batch?.non2xx ?? 0})` : '')
  );
}

const tmp = tempDir('shock-bench-mixed-');
try {
  const anchor = await runCase(tmp.dir + '/anchor', 0, false);
  const inline = await runCase(tmp.dir + '/inline', 0, true);
  const workers = await runCase(tmp.dir + '/workers', 1, true);
  const p99 = (c: Case) => c.single.latencyMs.corrected.p99;
  console.log(
    JSON.stringify(
      {
        benchmark: 'ingress-mixed',
        date: new Date().toISOString(),
        machine: `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}, Node ${process.version}`,
        loadAverage1m: loadavg()[0],
        durationSec,
        singleRatePerSec: singleRate,
        batchRecords,
        cases: [anchor, inline, workers].map((c) => ({
          workers: c.workers,
          batchLoad: c.batchLoad,
          singleLatencyMs: c.single.latencyMs.corrected,
          singleErrors: c.single.counts.errors,
          singleValid: c.single.valid,
          batchEventsPerSec: c.batchEventsPerSec,
          batchNon2xx: c.batch?.non2xx ?? 0,
        })),
        p99RatioInline: p99(inline) / p99(anchor),
        p99RatioWorkers: p99(workers) / p99(anchor),
      },
      null,
      2,
    ),
  );
  for (const c of [anchor, inline, workers]) console.log(line(c));
  console.log(
    `single-event p99 under batch load ÷ without: inline ${(p99(inline) / p99(anchor)).toFixed(2)}×, ` +
      `with a batch worker ${(p99(workers) / p99(anchor)).toFixed(2)}×`,
  );
} finally {
  tmp.cleanup();
}
