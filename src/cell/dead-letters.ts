/**
 * The dead-letter desk of a cell: what the operator does with events the handler kept failing on (admin API
 * `GET /admin/dead-letters`, `POST /admin/dead-letters/replay`, and `shock dlq`).
 *
 * - **List** in (partition, offset) order, one partition or all, paged with a cursor (`after=<partition>:<offset>`).
 * - **Replay** once the cause is fixed (a handler deploy, a downstream back up): each chosen dead letter's stored
 *   event is appended to the log again — the same bytes, same event id, same key, so the same partition while the
 *   partition count is unchanged — and its dead-letter row is removed once the append is durable. The consumers then
 *   meet it again after everything already in the log. A replayed event that fails again is dead-lettered again at
 *   its new offset; one that succeeds is stored once (the sink is idempotent by the event's `(tenant, event_id)`,
 *   both carried in the stored event, so another tenant's event with the same id is never taken for it).
 * - A crash between the durable append and the row removal leaves the row: replaying it again appends a second copy,
 *   which the sink absorbs as a duplicate if the first one was handled. Nothing is lost, nothing is stored twice.
 * - A dead letter whose record was not an event (undecodable bytes) cannot be replayed; it is reported as skipped
 *   and stays for inspection.
 */
import { decodeEvent, shockError, type StoredEvent } from '../base/index.js';
import type { DeadLetterKey, DeadLetterStore, Sink, SinkChoice } from '../consume/index.js';
import { openSink } from '../consume/index.js';
import { partitionForKey } from '../ingress/index.js';
import { appendedOffset, type AppendRecord, type Log } from '../log/index.js';

/** One dead letter as the admin API shows it. The event's identity is `(tenant, eventId)`. */
export interface DeadLetterView {
  partition: number;
  offset: number;
  /** Null when the record was not an event. */
  tenant: string | null;
  eventId: string | null;
  error: string;
  attempts: number;
  /** Ingress receive time of the record (ISO 8601). */
  receivedAt: string;
  /** When the consumer gave up (ISO 8601). */
  deadAt: string;
  /** The stored event (parsed), or null when the record was not an event. */
  event: StoredEvent | null;
  /** The raw record value when it was not an event. */
  raw?: string;
}

/** A page of dead letters. */
export interface DeadLetterPage {
  group: string;
  /** Dead letters of the group (of the partition, when one was asked for). */
  total: number;
  deadLetters: DeadLetterView[];
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

/** What to replay: every dead letter (up to `limit`), one partition's, or named ones. */
export interface ReplayRequest {
  all?: boolean;
  partition?: number;
  /** `[{partition, offset}]` of the dead letters to replay. */
  keys?: DeadLetterKey[];
  /** Most dead letters replayed by this call (default 1000; call again for more). */
  limit?: number;
}

/** What a replay did. */
export interface ReplayResult {
  group: string;
  replayed: Array<{ from: DeadLetterKey; tenant: string; eventId: string; partition: number; offset: number }>;
  skipped: Array<{ from: DeadLetterKey; reason: string }>;
  /** Dead letters of the group left after the replay. */
  remaining: number;
}

export interface DeadLetterDeskOptions {
  group: string;
  sink: SinkChoice;
  /** The log new copies are appended to (a function: the cell's current log). */
  log: () => Log;
}

export interface DeadLetterDesk {
  list(query: { partition?: number; after?: string; limit?: number }): Promise<DeadLetterPage>;
  replay(request: ReplayRequest): Promise<ReplayResult>;
}

const pageMax = 1000;

/** Parses `<partition>:<offset>` (a listing cursor). */
export function parseCursor(text: string): DeadLetterKey {
  const m = /^(\d{1,9}):(\d{1,16})$/.exec(text);
  if (m === null || !Number.isSafeInteger(Number(m[2]))) {
    throw shockError('SHOCK_CELL_ADMIN_INVALID', `"after" must be <partition>:<offset>, got "${text}"`, {
      after: text,
    });
  }
  return { partition: Number(m[1]), offset: Number(m[2]) };
}

function checkLimit(limit: number | undefined, what: string): number {
  const n = limit ?? pageMax;
  if (!Number.isSafeInteger(n) || n < 1 || n > pageMax) {
    throw shockError('SHOCK_CELL_ADMIN_INVALID', `${what} must be a whole number from 1 to ${pageMax}`, { limit });
  }
  return n;
}

/** Dead letters may come from an older log generation with more partitions than now: any partition number goes. */
const partitionNumberMax = 65_535;

function checkPartition(partition: number | undefined): void {
  if (partition === undefined) return;
  if (!Number.isSafeInteger(partition) || partition < 0 || partition > partitionNumberMax) {
    throw shockError('SHOCK_CELL_ADMIN_INVALID', `partition must be a whole number from 0 to ${partitionNumberMax}`, {
      partition,
    });
  }
}

function decoded(eventJson: string): StoredEvent | null {
  try {
    return decodeEvent(Buffer.from(eventJson, 'utf8'));
  } catch {
    return null;
  }
}

/** Creates the desk. Each call opens its own sink connection and closes it (operator actions are rare). */
export function createDeadLetterDesk(options: DeadLetterDeskOptions): DeadLetterDesk {
  const { group } = options;

  async function withSink<T>(fn: (sink: Sink & DeadLetterStore) => Promise<T>): Promise<T> {
    const sink = await openSink(options.sink);
    try {
      return await fn(sink);
    } finally {
      await sink.close();
    }
  }

  return {
    list: (query) => {
      const limit = checkLimit(query.limit, 'limit');
      checkPartition(query.partition);
      const after = query.after === undefined ? undefined : parseCursor(query.after);
      return withSink(async (sink) => {
        const rows = await sink.deadLetters(group, limit + 1, { partition: query.partition, after });
        const page = rows.slice(0, limit);
        const last = page[page.length - 1];
        return {
          group,
          total: await sink.countDeadLetters(group, query.partition),
          deadLetters: page.map((d) => {
            const event = decoded(d.eventJson);
            return {
              partition: d.partition,
              offset: d.offset,
              tenant: d.tenant ?? null,
              eventId: d.eventId ?? null,
              error: d.error,
              attempts: d.attempts,
              receivedAt: new Date(d.timestampMs).toISOString(),
              deadAt: new Date(d.deadAtMs).toISOString(),
              event,
              ...(event === null ? { raw: d.eventJson } : {}),
            };
          }),
          next: rows.length > limit ? `${last.partition}:${last.offset}` : null,
        };
      });
    },

    replay: (request) => {
      const log = options.log();
      const limit = checkLimit(request.limit, 'limit');
      const named = request.keys !== undefined;
      if ([request.all === true, request.partition !== undefined, named].filter(Boolean).length !== 1) {
        throw shockError('SHOCK_CELL_ADMIN_INVALID', 'say what to replay: exactly one of all, partition or keys', {});
      }
      checkPartition(request.partition);
      if (named && (!Array.isArray(request.keys) || request.keys.length === 0 || request.keys.length > pageMax)) {
        throw shockError('SHOCK_CELL_ADMIN_INVALID', `keys must list 1 to ${pageMax} {partition, offset}`, {});
      }
      return withSink(async (sink) => {
        const rows = named
          ? await lookup(sink, group, request.keys!)
          : await sink.deadLetters(group, limit, { partition: request.partition });
        const skipped: ReplayResult['skipped'] = [];
        const byPartition = new Map<number, Array<{ from: DeadLetterKey; event: StoredEvent; record: AppendRecord }>>();
        const partitionsAt = log.partitions;
        for (const d of rows) {
          const from = { partition: d.partition, offset: d.offset };
          const event = decoded(d.eventJson);
          if (event === null) {
            skipped.push({ from, reason: 'the record is not an event (undecodable bytes); kept for inspection' });
            continue;
          }
          const key = Buffer.from(event.key, 'utf8');
          const partition = partitionForKey(key, partitionsAt);
          const list = byPartition.get(partition) ?? [];
          list.push({
            from,
            event,
            record: { key, value: Buffer.from(d.eventJson, 'utf8'), timestampMs: d.timestampMs },
          });
          byPartition.set(partition, list);
        }
        if (named) {
          const found = new Set(rows.map((d) => `${d.partition}:${d.offset}`));
          for (const k of request.keys!) {
            if (!found.has(`${k.partition}:${k.offset}`)) skipped.push({ from: k, reason: 'no such dead letter' });
          }
        }
        const replayed: ReplayResult['replayed'] = [];
        for (const [partition, items] of byPartition) {
          if (log.partitions !== partitionsAt) {
            // A reshard switched generations between two appends: the partitions computed above are stale.
            throw shockError(
              'SHOCK_CELL_RESHARD_BUSY',
              'the log was resharded during the replay; the dead letters not yet replayed are still listed (shock dlq list)',
              { replayed: replayed.length, hint: 'run the replay again: the remaining dead letters are still there' },
            );
          }
          // Durable first; only then is the dead-letter row let go.
          const appended = await log.append(
            partition,
            items.map((i) => i.record),
          );
          items.forEach((item, i) =>
            replayed.push({
              from: item.from,
              tenant: item.event.tenant,
              eventId: item.event.event_id,
              partition,
              offset: appendedOffset(appended, i),
            }),
          );
          await sink.removeDeadLetters(
            group,
            items.map((i) => i.from),
          );
        }
        return { group, replayed, skipped, remaining: await sink.countDeadLetters(group) };
      });
    },
  };
}

/** The named dead letters that exist (one listing per partition named). */
async function lookup(sink: DeadLetterStore, group: string, keys: readonly DeadLetterKey[]) {
  const wanted = new Set(keys.map((k) => `${k.partition}:${k.offset}`));
  const partitions = [...new Set(keys.map((k) => k.partition))];
  const rows = [];
  for (const p of partitions) {
    if (!Number.isSafeInteger(p) || p < 0) continue;
    let after: DeadLetterKey | undefined;
    for (;;) {
      const page = await sink.deadLetters(group, pageMax, { partition: p, after });
      rows.push(...page.filter((d) => wanted.has(`${d.partition}:${d.offset}`)));
      if (page.length < pageMax) break;
      after = { partition: p, offset: page[page.length - 1].offset };
    }
  }
  return rows;
}
