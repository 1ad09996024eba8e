/**
 * Open-loop latency of a whole cell at 80% of its measured capacity: a real `shock serve` (gateway + file log with
 * fdatasync before every 202 + consumers + SQLite sink, all running) driven by `shock load`'s programmatic API.
 *
 *   1. capacity: closed loop, 64 connections, single-event POST /v1/events → 202 responses per second;
 *   2. latency: open loop (constant arrivals, latency from the intended send time — no coordinated omission) at
 *      0.8 × capacity → corrected p50/p99/p99.9;
 *   3. anchor in the same run: a no-op node:http server answering 202 after reading the body, same two steps, and
 *      also at the cell's own 80% rate, so the ratio compares like with like.
 *
 * Run: node --import tsx bench/cell-latency.ts [measureSec=15] [outJson=/tmp/shock-cell-latency.json]
 * The seed's target is p99 < 10 ms at 80% load; the project aims for < 5 ms.
 */
import { writeFileSync } from 'node:fs';
import { runClosedLoop, runOpenLoop, type LoadResult } from '../src/measure/load/index.js';
import { eventRequest, machineLine, startBenchCell, startNoopServer } from './cell-serve-process.js';

const measureSec = Number(process.argv[2] ?? 15);
const outJson = process.argv[3] ?? '/tmp/shock-cell-latency.json';
const capacitySec = 8;

async function capacity(url: string): Promise<LoadResult> {
  return runClosedLoop({ url, request: eventRequest, concurrency: 64, durationMs: capacitySec * 1000, warmupMs: 1000 });
}

async function atRate(url: string, ratePerSec: number): Promise<LoadResult> {
  return runOpenLoop({
    url,
    request: eventRequest,
    ratePerSec,
    durationMs: measureSec * 1000,
    warmupMs: 2000,
    connections: 64,
  });
}

function line(name: string, r: LoadResult): string {
  const c = r.latencyMs.corrected;
  return (
    `${name.padEnd(34)} ${r.responsesPerSec.toFixed(0).padStart(7)}/s  p50 ${c.p50.toFixed(2).padStart(7)} ms  ` +
    `p99 ${c.p99.toFixed(2).padStart(7)} ms  p99.9 ${c.p99_9.toFixed(2).padStart(7)} ms  ` +
    `errors ${r.counts.errors}  valid ${r.valid}${r.valid ? '' : ' (' + r.problems.map((p) => p.code).join(',') + ')'}`
  );
}

interface CellFigures {
  lagEvents: number;
  consumedPerSec: number;
}

async function cellFigures(baseUrl: string): Promise<CellFigures> {
  const s = (await (await fetch(`${baseUrl}/v1/stats`)).json()) as { consumers: CellFigures };
  return { lagEvents: s.consumers.lagEvents, consumedPerSec: s.consumers.consumedPerSec };
}

/** Waits (bounded) until the consumers have caught up, so one phase's backlog does not load the next. */
async function drained(baseUrl: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && (await cellFigures(baseUrl)).lagEvents > 0) {
    await new Promise((r) => setTimeout(r, 500));
  }
}

const cell = await startBenchCell();
const noop = await startNoopServer();
try {
  const cellUrl = `${cell.serve.url}/v1/events`;
  const cellCapacity = await capacity(cellUrl);
  const afterCapacity = await cellFigures(cell.serve.url);
  await drained(cell.serve.url);
  const cellRate = Math.floor(cellCapacity.responsesPerSec * 0.8);
  const cellAt80 = await atRate(cellUrl, cellRate);
  const afterAt80 = await cellFigures(cell.serve.url);
  const noopCapacity = await capacity(noop.url);
  const noopAtCellRate = await atRate(noop.url, cellRate);
  const noopAt80 = await atRate(noop.url, Math.floor(noopCapacity.responsesPerSec * 0.8));

  const ratio = cellAt80.latencyMs.corrected.p99 / noopAtCellRate.latencyMs.corrected.p99;
  const results = {
    date: new Date().toISOString(),
    machine: machineLine(),
    measureSec,
    cell: {
      capacityPerSec: cellCapacity.responsesPerSec,
      rateAt80PerSec: cellRate,
      at80: cellAt80.latencyMs.corrected,
    },
    noop: {
      capacityPerSec: noopCapacity.responsesPerSec,
      atCellRate: noopAtCellRate.latencyMs.corrected,
      at80: noopAt80.latencyMs.corrected,
    },
    p99RatioCellToNoopAtSameRate: ratio,
    statusCounts: cellAt80.statusCounts,
  };
  writeFileSync(outJson, JSON.stringify(results, null, 2));
  console.log(`cell latency at 80% of capacity — ${machineLine()}`);
  console.log(line('cell capacity (closed, 64 conns)', cellCapacity));
  console.log(
    `  consumer lag after the capacity run: ${afterCapacity.lagEvents} events (drained before the next phase)`,
  );
  console.log(line(`cell open loop @ ${cellRate}/s (80%)`, cellAt80));
  console.log(
    `  consumer lag after the 80% run: ${afterAt80.lagEvents} events, consuming ${afterAt80.consumedPerSec}/s`,
  );
  console.log(line('no-op capacity (closed, 64 conns)', noopCapacity));
  console.log(line(`no-op open loop @ ${cellRate}/s`, noopAtCellRate));
  console.log(line(`no-op open loop @ 80% of its own`, noopAt80));
  console.log(`p99 ratio cell / no-op at the same rate: ${ratio.toFixed(2)}×  (target p99 < 10 ms, aim < 5 ms)`);
  console.log(`cell statuses at 80%: ${JSON.stringify(cellAt80.statusCounts)}; JSON: ${outJson}`);
} finally {
  await noop.stop();
  await cell.cleanup();
}
