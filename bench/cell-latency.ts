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
 * Also at 50% and 25% of capacity, to show where the latency knee is on the machine at hand.
 *
 * Run: node --import tsx bench/cell-latency.ts [measureSec=10] [outJson=bench/results/cell-latency.json]
 * The seed's target is p99 < 10 ms at 80% load; the project aims for < 5 ms.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { runClosedLoop, runOpenLoop, type LoadResult } from '../src/measure/load/index.js';
import { fetchStats, type AdminSide } from '../test/helpers/cell-serve.js';
import { eventRequest, machineLine, startBenchCell, startNoopServer } from './cell-serve-process.js';

const measureSec = Number(process.argv[2] ?? 10);
const outJson = process.argv[3] ?? 'bench/results/cell-latency.json';
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

async function cellFigures(cell: AdminSide): Promise<CellFigures> {
  const s = (await fetchStats(cell)) as { consumers: CellFigures };
  return { lagEvents: s.consumers.lagEvents, consumedPerSec: s.consumers.consumedPerSec };
}

/** Waits (bounded) until the consumers have caught up, so one phase's backlog does not load the next. */
async function drained(cell: AdminSide): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && (await cellFigures(cell)).lagEvents > 0) {
    await new Promise((r) => setTimeout(r, 500));
  }
}

const fractions = [0.8, 0.5, 0.25];

const cell = await startBenchCell();
const noop = await startNoopServer();
try {
  const cellUrl = `${cell.serve.url}/v1/events`;
  const cellCapacity = await capacity(cellUrl);
  const afterCapacity = await cellFigures(cell.serve);
  const noopCapacity = await capacity(noop.url);
  const points = [];
  for (const fraction of fractions) {
    const ratePerSec = Math.floor(cellCapacity.responsesPerSec * fraction);
    await drained(cell.serve);
    const onCell = await atRate(cellUrl, ratePerSec);
    const lagAfter = await cellFigures(cell.serve);
    const onNoop = await atRate(noop.url, ratePerSec);
    points.push({ fraction, ratePerSec, onCell, onNoop, lagAfter });
  }

  const results = {
    date: new Date().toISOString(),
    machine: machineLine(),
    measureSec,
    cellCapacityPerSec: cellCapacity.responsesPerSec,
    noopCapacityPerSec: noopCapacity.responsesPerSec,
    capacityRatioCellToNoop: cellCapacity.responsesPerSec / noopCapacity.responsesPerSec,
    lagAfterCapacity: afterCapacity,
    points: points.map((p) => ({
      fraction: p.fraction,
      ratePerSec: p.ratePerSec,
      cell: {
        achievedPerSec: p.onCell.responsesPerSec,
        valid: p.onCell.valid,
        latencyMs: p.onCell.latencyMs.corrected,
      },
      noop: {
        achievedPerSec: p.onNoop.responsesPerSec,
        valid: p.onNoop.valid,
        latencyMs: p.onNoop.latencyMs.corrected,
      },
      p99RatioCellToNoop: p.onCell.latencyMs.corrected.p99 / p.onNoop.latencyMs.corrected.p99,
      statusCounts: p.onCell.statusCounts,
      lagAfter: p.lagAfter,
    })),
  };
  mkdirSync(dirname(outJson), { recursive: true });
  writeFileSync(outJson, JSON.stringify(results, null, 2));
  console.log(`cell open-loop latency against a no-op anchor — ${machineLine()}`);
  console.log(line('cell capacity (closed, 64 conns)', cellCapacity));
  console.log(line('no-op capacity (closed, 64 conns)', noopCapacity));
  console.log(`capacity ratio cell / no-op: ${results.capacityRatioCellToNoop.toFixed(2)}`);
  for (const p of points) {
    const pct = `${Math.round(p.fraction * 100)}%`;
    console.log(line(`cell  open loop @ ${p.ratePerSec}/s (${pct})`, p.onCell));
    console.log(line(`no-op open loop @ ${p.ratePerSec}/s`, p.onNoop));
    const ratio = p.onCell.latencyMs.corrected.p99 / p.onNoop.latencyMs.corrected.p99;
    console.log(`  p99 ratio cell / no-op ${ratio.toFixed(2)}×; consumer lag after: ${p.lagAfter.lagEvents} events`);
  }
  console.log(`target: p99 < 10 ms at 80% (seed), aim < 5 ms. JSON: ${outJson}`);
} finally {
  await noop.stop();
  await cell.cleanup();
}
