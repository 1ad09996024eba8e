/**
 * Test helpers for resharding a real `shock serve`: a handler module that records the order in which events reach
 * the handler (one line per event, appended to a file shared by every worker thread — O_APPEND keeps each short
 * line whole and in call order), keyed senders that number each key's events in the order they were accepted,
 * and the checks: every 202 in the sink exactly once, and per key the handler saw them in order. The sink is the
 * cell's SQLite file (a data directory) or rows read from PostgreSQL (`readPostgresSink`).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fetchStats, testKeys, waitUntil, type AdminSide } from './cell-serve.js';
import { connectPostgres } from './postgres.js';

/** Writes the recording handler into `dir`; returns its path and the file it appends to. */
export function writeRecordingHandler(dir: string): { handler: string; arrivals: string } {
  const handler = join(dir, 'record-order.mjs');
  const arrivals = join(dir, 'arrivals.txt');
  writeFileSync(
    handler,
    `import { appendFileSync } from 'node:fs';
export default async (events) => {
  appendFileSync(${JSON.stringify(arrivals)}, events.map((e) => e.key + ' ' + e.payload.n + '\\n').join(''));
  return events.map((e) => ({ key: e.key, n: e.payload.n }));
};
`,
  );
  return { handler, arrivals };
}

/** The cell the keyed senders talk to; `url` changes when the test restarts it, `down` while it is gone. */
export interface Target {
  url: string;
  down: boolean;
  /** Set when the test ends (passed or failed): every sender returns, so a failed test cannot hang on them. */
  ended?: boolean;
}

/** What the senders saw. */
export interface LoadRecord {
  /** Event ids answered 202 (not duplicates). */
  acked: Set<string>;
  /** Answers ≥ 500 from a running cell (must stay 0 across a reshard). */
  serverErrors: { status: number; body: string }[];
  /** Per key, how many events were accepted (its events are n = 0 .. count − 1). */
  perKey: Map<string, number>;
  /** Where each 202 (not a duplicate) said the event went: partition and offset in the log. */
  placed: Map<string, { partition: number; offset: number }>;
}

export function newLoadRecord(): LoadRecord {
  return { acked: new Set(), serverErrors: [], perKey: new Map(), placed: new Map() };
}

/**
 * One sender per key: events `n = 0 .. perKey − 1`, each sent only after the previous one was accepted, so that a
 * key's numbers are its acceptance order. A failed connection (the cell was killed) retries the same event (same
 * id) once the target is up again; nothing else is retried.
 */
export async function sendKeyed(
  target: Target,
  key: string,
  perKey: number,
  record: LoadRecord,
  pauseEveryMs = 0,
): Promise<void> {
  for (let n = 0; n < perKey;) {
    if (target.ended === true) return;
    if (target.down) {
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    const eventId = `${key}-${n}`;
    let status: number;
    let text: string;
    try {
      const res = await fetch(`${target.url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ event_id: eventId, type: 'page.view', key, payload: { url: `/${key}/${n}`, n } }),
      });
      status = res.status;
      text = await res.text();
    } catch {
      // The cell is gone (killed): this event may or may not be in the log; send it again once it is back.
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    if (status === 202) {
      const body = JSON.parse(text) as { duplicate?: boolean; partition: number; offset: number };
      if (body.duplicate !== true) {
        record.acked.add(eventId);
        record.placed.set(eventId, { partition: body.partition, offset: body.offset });
      }
      record.perKey.set(key, n + 1);
      n++;
      if (pauseEveryMs > 0) await new Promise((r) => setTimeout(r, pauseEveryMs));
    } else if (status >= 500) {
      record.serverErrors.push({ status, body: text });
      // A 5xx is a failure of the test's claim; stop this key so the test fails promptly and readably.
      return;
    } else {
      throw new Error(`unexpected ${status} for ${eventId}: ${text}`);
    }
  }
}

/** One stored result: the recording handler's {key, n} and the log position it was consumed from. */
export interface SinkRow {
  key: string;
  n: number;
  partition: number;
  offset: number;
}

/** Result rows of the sink, by event id (no event id twice: the primary key, asserted). */
export type SinkRows = Map<string, SinkRow>;

function toSinkRows(rows: { event_id: string; result_json: string; log_partition: number; log_offset: unknown }[]) {
  const out: SinkRows = new Map();
  for (const r of rows) {
    assert.ok(!out.has(r.event_id), `event ${r.event_id} stored twice`);
    const result = JSON.parse(r.result_json) as { key: string; n: number };
    out.set(r.event_id, { ...result, partition: r.log_partition, offset: Number(r.log_offset) });
  }
  return out;
}

/** Reads the cell's SQLite sink in `dataDir`. */
export function readSink(dataDir: string): SinkRows {
  const db = new Database(join(dataDir, 'sink.sqlite'), { readonly: true });
  try {
    const rows = db.prepare('SELECT event_id, result_json, log_partition, log_offset FROM results').all() as {
      event_id: string;
      result_json: string;
      log_partition: number;
      log_offset: number;
    }[];
    return toSinkRows(rows);
  } finally {
    db.close();
  }
}

/** Reads the results of group `sink` from a PostgreSQL sink (`schema` of the server at `url`). */
export async function readPostgresSink(url: string, schema: string): Promise<SinkRows> {
  const db = await connectPostgres(url);
  try {
    const res = await db.query<{ event_id: string; result_json: string; log_partition: number; log_offset: string }>(
      `SELECT event_id, result_json, log_partition, log_offset FROM "${schema}".results WHERE consumer_group = 'sink'`,
    );
    return toSinkRows(res.rows);
  } finally {
    await db.end();
  }
}

/** Where a test's sink is: the data directory of a cell with the SQLite sink, or a reader of another sink. */
export type SinkSource = string | (() => Promise<SinkRows>);

async function rowsOf(sink: SinkSource): Promise<SinkRows> {
  return typeof sink === 'string' ? readSink(sink) : sink();
}

/**
 * Asserts every acknowledged event is in the sink exactly once, and that per key the handler first saw the events
 * in their accepted order (a redelivery after a crash may show an event again later; its first sight counts).
 * Returns how many handler calls saw an event (≥ the events).
 */
export async function checkExactlyOnceInOrder(
  sinkSource: SinkSource,
  arrivalsFile: string,
  record: LoadRecord,
): Promise<number> {
  const sink = await rowsOf(sinkSource);
  const missing = [...record.acked].filter((id) => !sink.has(id));
  assert.deepEqual(missing, [], 'every 202 reaches the sink');
  assert.ok(existsSync(arrivalsFile));
  const lines = readFileSync(arrivalsFile, 'utf8').split('\n').filter(Boolean);
  const firstSeen = new Map<string, Set<number>>();
  const next = new Map<string, number>();
  for (const line of lines) {
    const [key, nText] = line.split(' ');
    const n = Number(nText);
    const seen = firstSeen.get(key) ?? new Set<number>();
    firstSeen.set(key, seen);
    if (seen.has(n)) continue;
    seen.add(n);
    const expected = next.get(key) ?? 0;
    assert.equal(n, expected, `key ${key}: the handler saw event ${n} first where ${expected} was due`);
    next.set(key, expected + 1);
  }
  for (const [key, count] of record.perKey) {
    assert.ok((next.get(key) ?? 0) >= count, `key ${key}: the handler saw ${next.get(key) ?? 0} of ${count} events`);
  }
  return lines.length;
}

/**
 * Waits for the senders, checks no running cell answered 5xx, then waits until the cell is idle (no generation
 * draining), has no lag and the sink holds `total` events.
 */
export async function settle(
  cell: AdminSide,
  sinkSource: SinkSource,
  senders: Promise<void>[],
  record: LoadRecord,
  total: number,
  timeoutMs: number,
): Promise<void> {
  await Promise.all(senders);
  assert.deepEqual(record.serverErrors, [], 'no 5xx from a running cell');
  await waitUntil(
    async () => {
      const s = await fetchStats(cell);
      return s.reshard.state === 'idle' && s.consumers.lagEvents === 0 && (await rowsOf(sinkSource)).size >= total;
    },
    timeoutMs,
    200,
  );
}
