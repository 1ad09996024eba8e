/**
 * Pieces of the consumer-group tests: `shock serve` processes of one group on one JetStream log (a real
 * nats-server) writing to one PostgreSQL sink, their ownership as `/v1/stats` shows it, the wait for the group to
 * settle, and reading back the log and the sink (each row with the pid and epoch of its writer: group-handler.ts).
 */
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeEvent } from '../../src/base/index.js';
import { openJetStreamLog } from '../../src/log/index.js';
import { fetchStats, startServe, testKeys, waitUntil, writeConfig, type ServeProcess } from './cell-serve.js';
import { identity, type Ack } from './kill-load.js';
import { connectPostgres, postgresSkipReason, startPostgres, type PostgresServer } from './postgres.js';
import { natsSkipReason, startNatsServer, type NatsServer } from './nats.js';
import { skipUnlessAvailable } from './dependency.js';

/**
 * A real nats-server and a private PostgreSQL for one test file: started before its tests, stopped after them.
 * `skip` is the tests' skip option (under CI a missing one fails the run: dependency.ts).
 */
export function sharedEngines(): { skip: string | false; nats: () => NatsServer; postgres: () => PostgresServer } {
  const skip = skipUnlessAvailable(natsSkipReason() || postgresSkipReason() || undefined);
  let nats: NatsServer | undefined;
  let postgres: PostgresServer | undefined;
  before(async () => {
    if (skip) return;
    nats = await startNatsServer();
    postgres = await startPostgres();
  });
  after(async () => {
    await nats?.cleanup();
    await postgres?.stop();
  });
  return { skip, nats: () => nats!, postgres: () => postgres! };
}

export const groupHandlerPath = fileURLToPath(new URL('./group-handler.ts', import.meta.url));

/** One group's setting: the log, the sink schema, the lease time. */
export interface GroupSetup {
  dir: string;
  natsUrl: string;
  postgresUrl: string;
  streamPrefix: string;
  schema: string;
  partitions: number;
  leaseMs: number;
}

/** Writes the configuration every process of the group shares and returns its path. */
export function groupConfig(s: GroupSetup): string {
  return writeConfig(s.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 1_000_000, burst: 1_000_000 }],
    log: {
      partitions: s.partitions,
      engine: 'jetstream',
      jetstream: { servers: [s.natsUrl], streamPrefix: s.streamPrefix },
    },
    consumers: { workers: 2, leaseMs: s.leaseMs, handler: groupHandlerPath },
    sink: { engine: 'postgres', postgres: { url: s.postgresUrl, schema: s.schema } },
  });
}

/** Starts one `shock serve` of the group with its own data directory (`name`). */
export function startMember(s: GroupSetup, config: string, name: string): Promise<ServeProcess> {
  return startServe(`${s.dir}/${name}`, ['--config', config]);
}

/** What `/v1/stats` says of a process's place in the group. */
export interface Membership {
  memberId: string;
  members: string[];
  owned: number[];
  leases: { partition: number; owner: string; ageMs: number }[];
  rebalances: number;
  leasesLost: number;
}

export async function membershipOf(cell: ServeProcess): Promise<Membership> {
  const s = (await fetchStats(cell)) as { consumers: { membership: Membership | null } };
  if (s.consumers.membership === null) throw new Error('the cell reports no membership');
  return s.consumers.membership;
}

/**
 * Waits until exactly `cells` are the group's members, each sees all of them, and their owned partitions are
 * disjoint, cover every partition and are balanced. Returns each one's membership, in the order given.
 */
export async function waitSettled(
  cells: ServeProcess[],
  partitions: number,
  timeoutMs = 60_000,
): Promise<Membership[]> {
  let last: Membership[] = [];
  const settled = waitUntil(
    async () => {
      last = await Promise.all(cells.map(membershipOf));
      const ids = last.map((m) => m.memberId).sort();
      const owned = last.flatMap((m) => m.owned).sort((a, b) => a - b);
      // Settled = the target reached: every member agrees on the members, each partition has one owner, and the
      // shares are balanced (a member that just came back owns nothing until the others release its share).
      const shares = last.map((m) => m.owned.length);
      return (
        last.every((m) => JSON.stringify(m.members) === JSON.stringify(ids)) &&
        owned.length === partitions &&
        owned.every((p, i) => p === i) &&
        shares.every((n) => n >= Math.floor(partitions / cells.length) && n <= Math.ceil(partitions / cells.length))
      );
    },
    timeoutMs,
    200,
  );
  await settled.catch((err: Error) => {
    throw new Error(`the group did not settle: ${err.message}; last seen ${JSON.stringify(last)}`);
  });
  return last;
}

/** Every event in the JetStream log: identity → where it is. */
export async function eventsInJetStream(s: GroupSetup): Promise<Map<string, Ack>> {
  const log = await openJetStreamLog({ servers: s.natsUrl, partitions: s.partitions, streamPrefix: s.streamPrefix });
  const out = new Map<string, Ack>();
  try {
    for (let p = 0; p < s.partitions; p++) {
      const end = log.state(p).offsetEnd;
      for (let offset = log.state(p).offsetStart; offset < end;) {
        const records = await log.read(p, offset, { recordsMax: 1000 });
        if (records.length === 0) break;
        for (const r of records) {
          const e = decodeEvent(r.value);
          out.set(identity(e.tenant, e.event_id), { partition: p, offset: r.offset });
        }
        offset = records[records.length - 1].offset + 1;
      }
    }
  } finally {
    await log.close();
  }
  return out;
}

/** One stored result with its writer (group-handler.ts). */
export interface SinkRow {
  id: string;
  partition: number;
  offset: number;
  pid: number;
  epoch: number;
  atMs: number;
}

/** Every result row of group `sink` in `schema`. */
export async function sinkRows(s: GroupSetup): Promise<SinkRow[]> {
  const db = await connectPostgres(s.postgresUrl);
  try {
    const { rows } = await db.query<{
      tenant: string;
      event_id: string;
      log_partition: number;
      log_offset: string;
      result_json: string;
    }>(
      `SELECT tenant, event_id, log_partition, log_offset, result_json FROM ${s.schema}.results
       WHERE consumer_group = 'sink'`,
    );
    return rows.map((r) => {
      const w = JSON.parse(r.result_json) as { pid: number; epoch: number; atMs: number };
      return {
        id: identity(r.tenant, r.event_id),
        partition: r.log_partition,
        offset: Number(r.log_offset),
        pid: w.pid,
        epoch: w.epoch,
        atMs: w.atMs,
      };
    });
  } finally {
    await db.end();
  }
}

/** The sink's rows counted per identity (the primary key keeps each at most once; this counts what is there). */
export function countsOf(rows: readonly SinkRow[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
  return counts;
}

/**
 * Waits (bounded) until the sink holds a row for every acknowledged identity. A process's `/v1/stats` lag is no
 * proof here: its view of a partition it neither appends to nor consumes can be behind the other processes' appends.
 */
export async function waitSinkHolds(
  s: GroupSetup,
  acked: ReadonlyMap<string, Ack>,
  timeoutMs = 120_000,
): Promise<void> {
  let missing = acked.size;
  await waitUntil(
    async () => {
      const ids = new Set((await sinkRows(s)).map((r) => r.id));
      missing = [...acked.keys()].filter((id) => !ids.has(id)).length;
      return missing === 0;
    },
    timeoutMs,
    500,
  ).catch(() => {
    throw new Error(`the sink still misses ${missing} of ${acked.size} acknowledged events after ${timeoutMs} ms`);
  });
}
