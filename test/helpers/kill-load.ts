/**
 * The pieces of the "SIGKILL of shock serve under load" tests (file-log and PostgreSQL-sink variants): senders that
 * record every 202 record result, the wait for a restarted cell to drain, reading back where every event is in the
 * file log, and the three exactly-once checks against the sink's per-event counts. Events are counted by their
 * identity `(tenant, event_id)` (`identity`): two tenants may send the same event id.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { decodeEvent } from '../../src/base/index.js';
import { openFileLog } from '../../src/log/index.js';
import { fetchStats, startServe, testKeys, waitUntil, type AdminSide } from './cell-serve.js';

/** A tenant the senders send as. */
export interface SenderTenant {
  id: string;
  key: string;
}

/** Tenant acme of `testKeys` (what the senders send as unless told). */
export const acmeSender: SenderTenant = { id: 'acme', key: testKeys.acme.key };

/** An event's identity as the maps here key it: `tenant/event_id` (a tenant id has no '/'). */
export function identity(tenant: string, eventId: string): string {
  return `${tenant}/${eventId}`;
}

/** Where a 202 said an event was stored. */
export interface Ack {
  partition: number;
  offset: number;
}

/**
 * Sends batches of `batchSize` events with client event ids `<idPrefix>s<id>-r<round>-e<j>` as `tenant` until
 * `stopped()`; records every 202 record result in `acked` by identity. Returns when stopped or when the server is gone.
 */
export async function batchSender(
  url: string,
  id: number,
  acked: Map<string, Ack>,
  stopped: () => boolean,
  batchSize = 10,
  tenant: SenderTenant = acmeSender,
  idPrefix = '',
): Promise<void> {
  for (let round = 0; !stopped(); round++) {
    const events = Array.from({ length: batchSize }, (_, j) => ({
      event_id: `${idPrefix}s${id}-r${round}-e${j}`,
      type: 'page.view',
      payload: { url: `/p/${round}/${j}` },
      key: `user-${(id * 7919 + round * 31 + j) % 97}`,
    }));
    let body: {
      records: ({ event_id: string; partition: number; offset: number; duplicate?: boolean } | { errorCode: string })[];
    };
    try {
      const res = await fetch(`${url}/v1/events/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(events),
      });
      if (res.status !== 202) continue;
      body = (await res.json()) as typeof body;
    } catch {
      return; // the server is gone: answers that never arrived promise nothing
    }
    for (const r of body.records) {
      if ('offset' in r && r.duplicate !== true) {
        acked.set(identity(tenant.id, r.event_id), { partition: r.partition, offset: r.offset });
      }
    }
  }
}

/**
 * Waits until a cell's consumers run and have committed everything the log holds: no lag on any partition
 * `/v1/stats` lists — the active generation's `partitions`, and during a reshard a draining generation's as well
 * (lag is read at the request, so 0 means drained now).
 */
export async function waitDrained(cell: AdminSide, partitions: number, timeoutMs = 60_000): Promise<void> {
  await waitUntil(
    async () => {
      const s = (await fetchStats(cell)) as {
        reshard?: { generation: number };
        consumers: { running: boolean; lagEvents: number; partitions: { generation?: number; lagEvents: number }[] };
      };
      const listed = s.consumers.partitions;
      // The active generation's entries (every entry on an engine without generations).
      const active = listed.filter((p) => p.generation === undefined || p.generation === s.reshard?.generation);
      return (
        s.consumers.running &&
        s.consumers.lagEvents === 0 &&
        listed.every((p) => p.lagEvents === 0) &&
        active.length === partitions
      );
    },
    timeoutMs,
    200,
  );
}

/** Every event of a (closed) file log: identity (`identity`) → where it is. */
export async function eventsInLog(dir: string, partitions: number): Promise<Map<string, Ack>> {
  const log = await openFileLog({ dir, partitions });
  const inLog = new Map<string, Ack>();
  try {
    for (let p = 0; p < partitions; p++) {
      const end = log.state(p).offsetEnd;
      for (let offset = 0; offset < end;) {
        const records = await log.read(p, offset, { recordsMax: 1000 });
        for (const r of records) {
          const e = decodeEvent(r.value);
          inLog.set(identity(e.tenant, e.event_id), { partition: p, offset: r.offset });
        }
        offset = records[records.length - 1].offset + 1;
      }
    }
  } finally {
    await log.close();
  }
  return inLog;
}

/** Every 202 is in the log at the partition and offset its answer named. */
export function assertAckedInLog(acked: ReadonlyMap<string, Ack>, inLog: ReadonlyMap<string, Ack>): void {
  const missing = [...acked].filter(([id, at]) => {
    const found = inLog.get(id);
    return found === undefined || found.partition !== at.partition || found.offset !== at.offset;
  });
  assert.deepEqual(missing, [], 'every 202 is in the log where its answer said');
}

/** From the sink's stored-result count per identity: nothing twice, every 202 once, everything in the log once. */
export function assertExactlyOnce(
  counts: ReadonlyMap<string, number>,
  acked: ReadonlyMap<string, Ack>,
  inLog: ReadonlyMap<string, Ack>,
): void {
  assert.ok(
    [...counts.values()].every((n) => n === 1),
    'no event is stored twice',
  );
  const notInSink = [...acked.keys()].filter((id) => counts.get(id) !== 1);
  assert.deepEqual(notInSink, [], 'every 202 is in the sink exactly once');
  assert.equal(counts.size, inLog.size, 'everything in the log was consumed, once');
}

/** The cell's SQLite sink in `dataDir`: every event of the log in it exactly once, so every 202 too. */
export function assertSqliteSinkExactlyOnce(
  dataDir: string,
  acked: ReadonlyMap<string, Ack>,
  inLog: ReadonlyMap<string, Ack>,
): void {
  const db = new Database(`${dataDir}/sink.sqlite`, { readonly: true });
  try {
    const rows = db
      .prepare(
        "SELECT tenant, event_id, COUNT(*) AS n FROM results WHERE consumer_group = 'sink' GROUP BY tenant, event_id",
      )
      .all() as { tenant: string; event_id: string; n: number }[];
    assertExactlyOnce(new Map(rows.map((r) => [identity(r.tenant, r.event_id), r.n])), acked, inLog);
  } finally {
    db.close();
  }
}

/** How a kill-under-load run goes. */
export interface KillUnderLoad {
  dataDir: string;
  /** The cell's configuration file (its tenants, `partitions` file-log partitions). */
  config: string;
  partitions: number;
  /** Sender loops per tenant. */
  senders: number;
  /** The tenants that send, each with `senders` loops sending the same event ids (default: acme alone). */
  tenants?: SenderTenant[];
  /** Prepended to every event id (runs on one data directory use different ones). */
  idPrefix?: string;
  batchSize: number;
  /** Kill once this many events were answered 202 … */
  ackedTarget: number;
  /** … within this long … */
  loadMsMax: number;
  /** … and this says the moment has come (default: at once). */
  readyToKill?: () => Promise<boolean> | boolean;
  /** Runs between the kill and the restart (e.g. a simulated power loss). */
  afterKill?: () => Promise<void>;
}

/**
 * Starts `shock serve`, sends batches from `senders` loops, SIGKILLs the cell mid-load, restarts it on the same data
 * directory, waits until its consumers have drained, stops it, and checks every 202 is in the log where its answer
 * said. Returns the acknowledged events and everything in the log, for the caller's sink checks.
 */
export async function killUnderLoadAndRecover(
  o: KillUnderLoad,
): Promise<{ acked: Map<string, Ack>; inLog: Map<string, Ack> }> {
  const first = await startServe(o.dataDir, ['--config', o.config]);
  const acked = new Map<string, Ack>();
  let stop = false;
  const loops = (o.tenants ?? [acmeSender]).flatMap((tenant) =>
    Array.from({ length: o.senders }, (_, i) =>
      batchSender(first.url, i, acked, () => stop, o.batchSize, tenant, o.idPrefix),
    ),
  );
  try {
    await waitUntil(
      async () => acked.size >= o.ackedTarget && (o.readyToKill === undefined || (await o.readyToKill())),
      o.loadMsMax,
      20,
    );
  } finally {
    // Kill while the senders are still sending: some requests are in flight, some appends half-way.
    const killed = await first.stop('SIGKILL');
    stop = true;
    await Promise.all(loops);
    assert.equal(killed.signal, 'SIGKILL');
  }
  const ackedNow = new Map(acked);
  assert.ok(ackedNow.size >= o.ackedTarget);
  await o.afterKill?.();

  const second = await startServe(o.dataDir, ['--config', o.config]);
  try {
    await waitDrained(second, o.partitions);
  } finally {
    const stopped = await second.stop('SIGTERM');
    assert.equal(stopped.code, 0, second.output().stderr);
  }
  const inLog = await eventsInLog(`${o.dataDir}/log`, o.partitions);
  assertAckedInLog(ackedNow, inLog);
  return { acked: ackedNow, inLog };
}
