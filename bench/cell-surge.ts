/**
 * The shock absorber, measured: a real `shock serve` whose consumers are made slow on purpose (a handler delay per
 * batch and small batches, so consumer capacity C is low), driven open-loop by `shock load` through three stages:
 *
 *   steady  S events/s for `steadySec`  (S < C: lag stays near 0)
 *   surge   10·S events/s for `surgeSec` (10·S > C: the log absorbs the excess, lag grows at ≈ 10·S − C)
 *   after   S events/s until the lag has drained at ≈ C − S (bounded by `drainSecMax`)
 *
 * Checked: ingress p99 during the surge stays within ~2× its steady value (the gateway only appends; it never
 * waits for consumers), no 5xx, lag grows during the surge and then drains at the consumers' rate. The per-second
 * series (accepted/s, consumed/s, lag, ingress p99) go to JSON and to an SVG plot made with the project's generic
 * plot module (`src/measure/report/svg.ts`).
 *
 * Anchor in the same run: the consumer capacity C is measured from the drain (consumed/s while lag > 0), and the
 * ingress p99 at the steady rate (before the surge and after it, same arrival rate, same machine) is the reference
 * the surge p99 is divided by; the p99 of the pre-surge stage alone is printed too.
 *
 * Run: node --import tsx bench/cell-surge.ts [steadyPerSec=50] [surgeSec=30] [out=bench/results/cell-surge]
 * (writes out.json and out.svg). Consumers: 2 partitions × batches of 35 events × 200 ms per batch ≈ 350 events/s (less the sink writes).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeHistogram, mergeHistograms, summarizeMs } from '../src/measure/histogram/index.js';
import { runOpenLoop, type LoadResult } from '../src/measure/load/index.js';
import { renderChart } from '../src/measure/report/svg.js';
import { fetchStats } from '../test/helpers/cell-serve.js';
import { eventRequest, machineLine, startBenchCell } from './cell-serve-process.js';

const steadyPerSec = Number(process.argv[2] ?? 50);
const surgeSec = Number(process.argv[3] ?? 30);
const out = process.argv[4] ?? 'bench/results/cell-surge';
const steadySec = 10;
const drainSecMax = 50;
const surgePerSec = steadyPerSec * 10;

interface Sample {
  t: number;
  acceptedPerSec: number;
  consumedPerSec: number;
  lagEvents: number;
  rejectedPerSec: number;
}

const cell = await startBenchCell({
  log: { partitions: 2 },
  consumers: { workers: 1, handlerDelayMs: 200 },
  limits: { consumeBatchRecordsMax: 35 },
});
const samples: Sample[] = [];
const startedMs = Date.now();
let polling = true;
const poller = (async () => {
  while (polling) {
    const s = (await fetchStats(cell.serve)) as {
      ingress: { acceptedPerSec: number; rejectedPerSec: number };
      consumers: { consumedPerSec: number; lagEvents: number };
    };
    samples.push({
      t: (Date.now() - startedMs) / 1000,
      acceptedPerSec: s.ingress.acceptedPerSec,
      rejectedPerSec: s.ingress.rejectedPerSec,
      consumedPerSec: s.consumers.consumedPerSec,
      lagEvents: s.consumers.lagEvents,
    });
    await new Promise((r) => setTimeout(r, 1000));
  }
})();

let load: LoadResult;
try {
  const stages = [
    { durationMs: steadySec * 1000, ratePerSecTarget: steadyPerSec },
    { durationMs: 1, ratePerSecTarget: surgePerSec },
    { durationMs: surgeSec * 1000, ratePerSecTarget: surgePerSec },
    { durationMs: 1, ratePerSecTarget: steadyPerSec },
    { durationMs: drainSecMax * 1000, ratePerSecTarget: steadyPerSec },
  ];
  load = await runOpenLoop({
    url: `${cell.serve.url}/v1/events`,
    request: eventRequest,
    ratePerSec: steadyPerSec,
    stages,
    intervalMs: 1000,
    connections: 64,
  });
  polling = false;
  await poller;
} finally {
  polling = false;
  await cell.cleanup();
}

// Phases by the load's own clock (windows start at ms after the run start).
const loadOffsetSec = (load.meta.startTimeMs - startedMs) / 1000;
const phase = (...ranges: [number, number][]) => {
  const inRange = (sec: number) => ranges.some(([from, to]) => sec >= from && sec < to);
  const windows = load.windows.filter((w) => inRange(w.startMs / 1000));
  return summarizeMs(mergeHistograms(windows.map((w) => decodeHistogram(w.histograms.corrected))));
};
const surgeEndSec = steadySec + surgeSec;
const runEndSec = surgeEndSec + drainSecMax;
// The steady rate before the surge (2 s warm-up skipped) and after it (the same arrival rate, 2 s after the step
// down): both see the same machine, so the surge is compared with everything else at the steady rate.
const steadyBefore = phase([2, steadySec]);
const steady = phase([2, steadySec], [surgeEndSec + 2, runEndSec]);
const surge = phase([steadySec, surgeEndSec]);
const ratio = surge.p99 / steady.p99;
const fiveXX = Object.entries(load.statusCounts)
  .filter(([code]) => code.startsWith('5'))
  .reduce((sum, [, n]) => sum + n, 0);
const lagPeak = Math.max(...samples.map((s) => s.lagEvents));
const peakAt = samples.find((s) => s.lagEvents === lagPeak)!.t;
// "Caught up" while events keep arriving: no more than one second of the steady rate waits in the log.
const caughtUpLag = steadyPerSec;
const drainedAt = samples.find((s) => s.t > peakAt && s.lagEvents <= caughtUpLag)?.t ?? null;
const drainEnd = drainedAt ?? samples[samples.length - 1].t;
const drainEndLag = samples.find((s) => s.t === drainEnd)!.lagEvents;
const drainRatePerSec = drainEnd > peakAt ? (lagPeak - drainEndLag) / (drainEnd - peakAt) : 0;
const behind = samples.filter((s) => s.t > peakAt && s.t <= drainEnd);
const consumerCapacityPerSec = mean(behind.map((s) => s.consumedPerSec));
const series = {
  date: new Date().toISOString(),
  machine: machineLine(),
  steadyPerSec,
  surgePerSec,
  surgeSec,
  loadStartSec: loadOffsetSec,
  samples,
  p99PerSecondMs: load.windows.map((w) => ({ t: loadOffsetSec + w.startMs / 1000, p99: w.latencyMs.p99 })),
  steadyBeforeLatencyMs: steadyBefore,
  steadyLatencyMs: steady,
  surgeLatencyMs: surge,
  p99RatioSurgeToSteady: ratio,
  statusCounts: load.statusCounts,
  fiveXX,
  lagPeak,
  drainRatePerSec,
  consumerCapacityPerSec,
  drainedAtSec: drainedAt,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.json`, JSON.stringify(series, null, 2));
writeFileSync(`${out}.svg`, plot(series));

console.log(`cell surge — ${machineLine()}`);
console.log(`steady ${steadyPerSec}/s → surge ${surgePerSec}/s for ${surgeSec} s → ${steadyPerSec}/s`);
console.log(
  `ingress p99 at the steady rate ${steady.p99.toFixed(2)} ms (before the surge alone ${steadyBefore.p99.toFixed(2)} ms), ` +
    `surge ${surge.p99.toFixed(2)} ms: ratio ${ratio.toFixed(2)}× (goal ≤ 2×); p50 steady ${steady.p50.toFixed(2)} ms, ` +
    `surge ${surge.p50.toFixed(2)} ms`,
);
console.log(`statuses ${JSON.stringify(load.statusCounts)}; 5xx ${fiveXX} (goal 0)`);
console.log(
  `lag peak ${lagPeak} events at t=${peakAt.toFixed(0)} s; drained at ${drainRatePerSec.toFixed(0)} events/s ` +
    `(consumers ran at ${consumerCapacityPerSec.toFixed(0)}/s while behind, minus ${steadyPerSec}/s arriving); ` +
    `lag back to 0 at ${drainedAt === null ? 'not within the run' : drainedAt.toFixed(0) + ' s'}`,
);
console.log(`series: ${out}.json, plot: ${out}.svg`);

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function plot(s: typeof series): string {
  const rates = renderChart({
    id: 'surge-rates',
    title: `Surge ${s.surgePerSec}/s for ${s.surgeSec} s over slow consumers: the log absorbs it`,
    width: 900,
    height: 360,
    x: { label: 'time (s)' },
    y: { label: 'events/s', includeZero: true },
    series: [
      { kind: 'line', name: 'accepted/s (ingress)', points: s.samples.map((p) => ({ x: p.t, y: p.acceptedPerSec })) },
      { kind: 'line', name: 'consumed/s', points: s.samples.map((p) => ({ x: p.t, y: p.consumedPerSec })) },
    ],
  });
  const lag = renderChart({
    id: 'surge-lag',
    title: 'Consumer lag (events): grows during the surge, drains at the consumers\u2019 rate',
    width: 900,
    height: 300,
    x: { label: 'time (s)' },
    y: { label: 'lag (events)', includeZero: true },
    series: [{ kind: 'line', name: 'lag', points: s.samples.map((p) => ({ x: p.t, y: p.lagEvents })) }],
  });
  const p99 = renderChart({
    id: 'surge-p99',
    title: 'Ingress p99 per second (ms, open loop, from the intended send time)',
    width: 900,
    height: 300,
    x: { label: 'time (s)' },
    y: { label: 'p99 (ms)', includeZero: true },
    series: [{ kind: 'line', name: 'p99', points: s.p99PerSecondMs.map((p) => ({ x: p.t, y: p.p99 })) }],
  });
  // Three charts stacked in one SVG document.
  const strip = (svg: string) => svg.replace(/^<svg[^>]*>/, '').replace(/<\/svg>\s*$/, '');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="960" viewBox="0 0 900 960" font-family="sans-serif">` +
    `<rect width="900" height="960" fill="white"/>` +
    `<g>${strip(rates)}</g><g transform="translate(0,360)">${strip(lag)}</g>` +
    `<g transform="translate(0,660)">${strip(p99)}</g></svg>\n`
  );
}
