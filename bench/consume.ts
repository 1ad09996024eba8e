/**
 * Consumer throughput into the SQLite sink, in events/s per consumer, anchored in the same run against the raw
 * SQLite insert rate of the same rows.
 *
 * What runs (each on a fresh temporary directory, sink in WAL with synchronous=FULL):
 * 1. anchor — the raw rate: the same result rows inserted with one prepared single-row INSERT … ON CONFLICT DO
 *    NOTHING, 1,000 rows per transaction, no log, no handler, no fencing.
 * 2. in-process — one `PartitionConsumer` on the main thread: read from the file log, decode the JSON envelope, run
 *    the built-in example handler, fenced sink write, offset commit (fsync), batch after batch; then the same with
 *    the sink at synchronous=NORMAL, to show what the per-batch WAL fsync of FULL costs, and with batches of
 *    5,000 (a limits override), which spreads that fsync over more events.
 * 3. thread / process — the supervisor with one worker (a worker thread, then a child process) on one partition,
 *    timed from its first committed batch to its last, so worker start-up is not counted.
 * 4. thread ×2 / process ×2 — two partitions on two workers (this machine has 2 cores): aggregate rate.
 * The seed's figure is 200,000 events/s per consumer (§3.4).
 *
 * Run: node --import tsx bench/consume.ts [EVENTS_PER_PARTITION]   (default 200000; takes about a minute)
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { encodeEvent, type StoredEvent } from '../src/base/index.js';
import { openFileLog, type FileLog } from '../src/log/index.js';
import {
  PartitionConsumer,
  defaultHandlerPath,
  loadHandler,
  openSqliteSink,
  startConsumers,
  type Handler,
} from '../src/consume/index.js';

const eventsPerPartition = Number(process.argv[2] ?? 200_000);

function benchEvent(partition: number, i: number): StoredEvent {
  return {
    event_id: `01J${partition}${String(i).padStart(12, '0')}`,
    tenant: 'acme',
    type: ['click', 'view', 'purchase'][i % 3],
    ts: 1_700_000_000_000 + i,
    priority: 'normal',
    key: `user-${i % 1000}`,
    payload: { page: '/products/42', amount: i % 100, session: 'a1b2c3d4e5f6' },
  };
}

function scratch(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'shock-bench-consume-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

async function filledLog(dir: string, partitions: number): Promise<FileLog> {
  const log = await openFileLog({ dir: join(dir, 'log'), partitions, logger: () => undefined });
  for (let p = 0; p < partitions; p++) {
    for (let i = 0; i < eventsPerPartition; i += 1000) {
      const chunk = [];
      for (let k = i; k < Math.min(i + 1000, eventsPerPartition); k++) {
        const e = benchEvent(p, k);
        chunk.push({ key: Buffer.from(e.key), value: encodeEvent(e) });
      }
      await log.append(p, chunk);
    }
  }
  return log;
}

/** 1. The raw SQLite rate of the same rows the consumer stores. */
async function anchor(handler: Handler): Promise<Run> {
  const s = scratch();
  try {
    const db = new Database(join(s.dir, 'raw.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE results (consumer_group TEXT NOT NULL, event_id TEXT NOT NULL, log_partition INTEGER NOT NULL,
      log_offset INTEGER NOT NULL, result_json TEXT NOT NULL, processed_at_ms INTEGER NOT NULL,
      PRIMARY KEY (consumer_group, event_id)) WITHOUT ROWID`);
    const insert = db.prepare('INSERT INTO results VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
    // The rows are prepared before the clock starts: the anchor is SQLite alone.
    const events = Array.from({ length: eventsPerPartition }, (_, i) => benchEvent(0, i));
    const results = await handler(events, {
      group: 'g',
      partition: 0,
      epoch: 0,
      offsets: [],
      attempt: 0,
      redelivered: false,
      signal: new AbortController().signal,
    });
    const rows = events.map((e, i) => [e.event_id, i, JSON.stringify(results[i])] as const);
    const tx = db.transaction((from: number, to: number, now: number) => {
      for (let i = from; i < to; i++) insert.run('g', rows[i][0], 0, rows[i][1], rows[i][2], now);
    });
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < rows.length; i += 1000) tx(i, Math.min(i + 1000, rows.length), Date.now());
    const run = runOf(rows.length, t0, cpu0);
    db.close();
    return run;
  } finally {
    s.done();
  }
}

/** 2. One partition consumer on this thread. */
async function inProcess(handler: Handler, durability: 'full' | 'normal' = 'full', batchMax = 1000): Promise<Run> {
  const s = scratch();
  const log = await filledLog(s.dir, 1);
  const sink = openSqliteSink({ path: join(s.dir, 'sink.db'), durability });
  try {
    const limits = { consumeBatchRecordsMax: batchMax, fetchRecordsMax: batchMax };
    const c = new PartitionConsumer({ log, sink, handler, group: 'g', partition: 0, limits });
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await c.start();
    while (c.snapshot().offsetCommitted < eventsPerPartition) await new Promise((r) => setTimeout(r, 5));
    const run = runOf(eventsPerPartition, t0, cpu0);
    await c.stop();
    return run;
  } finally {
    await sink.close();
    await log.close();
    s.done();
  }
}

/** 3/4. The supervisor: rate from the first committed batch to the last, summed over partitions. */
async function supervised(mode: 'thread' | 'process', partitions: number): Promise<Run> {
  const s = scratch();
  const log = await filledLog(s.dir, partitions);
  try {
    const sup = await startConsumers({ log, group: 'g', workers: partitions, mode, sinkPath: join(s.dir, 'sink.db') });
    const total = eventsPerPartition * partitions;
    let firstMs: number | undefined;
    let firstCount = 0;
    let cpu0 = process.cpuUsage();
    for (;;) {
      const st = sup.snapshot();
      const committed = st.partitions.reduce((a, p) => a + p.offsetCommitted, 0);
      if (firstMs === undefined && committed > 0) {
        firstMs = performance.now();
        firstCount = committed;
        cpu0 = process.cpuUsage();
      }
      if (committed >= total) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // Thread mode: the CPU of every thread of this process; process mode: the children's CPU is not visible here.
    const run = runOf(total - firstCount, firstMs!, cpu0);
    await sup.stop();
    return mode === 'thread' ? run : { ...run, cpuUsPerEvent: undefined };
  } finally {
    await log.close();
    s.done();
  }
}

/** A timed run: events/s, and CPU µs per event (user + system, every thread of this process). */
interface Run {
  ratePerSec: number;
  cpuUsPerEvent: number | undefined;
}

function runOf(count: number, t0Ms: number, cpu0: NodeJS.CpuUsage): Run {
  const cpu = process.cpuUsage(cpu0);
  return { ratePerSec: (count * 1000) / (performance.now() - t0Ms), cpuUsPerEvent: (cpu.user + cpu.system) / count };
}

const handler = await loadHandler(defaultHandlerPath);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(9);
console.log(`consumer → SQLite sink, ${eventsPerPartition.toLocaleString('en-US')} events per partition`);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${loadavg()[0].toFixed(1)}\n`,
);
const raw = await anchor(handler);
const cpuText = (r: Run) =>
  r.cpuUsPerEvent === undefined ? '      n/a' : `${r.cpuUsPerEvent.toFixed(1).padStart(6)} µs`;
console.log(`anchor: raw SQLite insert, same rows        ${fmt(raw.ratePerSec)} rows/s    CPU ${cpuText(raw)}/row`);
const line = (name: string, run: Run, consumers: number) => {
  const perConsumer = run.ratePerSec / consumers;
  console.log(
    `${name.padEnd(42)} ${fmt(run.ratePerSec)} events/s  CPU ${cpuText(run)}/event  ` +
      `(${fmt(perConsumer)} per consumer, ${(perConsumer / raw.ratePerSec).toFixed(2)} of raw, ` +
      `${(perConsumer / 200_000).toFixed(2)} of 200k)`,
  );
};
line('in-process consumer (main thread)', await inProcess(handler), 1);
line('in-process, sink synchronous=NORMAL', await inProcess(handler, 'normal'), 1);
line('in-process, batches of 5,000 (FULL)', await inProcess(handler, 'full', 5000), 1);
line('supervisor, 1 worker thread', await supervised('thread', 1), 1);
line('supervisor, 1 child process', await supervised('process', 1), 1);
line('supervisor, 2 partitions on 2 threads', await supervised('thread', 2), 2);
line('supervisor, 2 partitions on 2 processes', await supervised('process', 2), 2);
