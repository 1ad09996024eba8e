/**
 * Finishing a sink's migration from schema version 1, which stored results without their tenant: each such row
 * (`tenantUnknown`) names the record it came from — `(log_partition, log_offset)` — and that record, the event as
 * the ingress stored it, holds the tenant. `adoptTenants` reads those records back from the log the consumers are
 * about to consume and gives the rows their tenant, before any consumer starts.
 *
 * - A row is adopted only when the record at its position decodes as an event with the row's `event_id` (offsets
 *   never repeat within a partition — a log generation starts its offsets above the last one's — so that record is
 *   the one the row was stored from).
 * - Rows whose record is gone (retention removed it, or it lies in another log generation) keep `tenantUnknown`.
 *   They can never be redelivered from this log; `processed` still matches such a row to its own record by
 *   position, so exactly-once holds for them too. docs/consume.md says how to query them.
 * - Reads are sequential per partition (pages of rows in offset order, one log read per run of nearby offsets), so
 *   a sink of many migrated rows costs one pass over the retained log at most, once.
 */
import { decodeEvent, isShockError } from '../base/index.js';
import type { Log, LogRecord } from '../log/index.js';
import type { TenantAdoption } from './sink.js';

/** Rows looked at per page. */
const pageRows = 1000;

/** What `adoptTenants` did. */
export interface TenantAdoptionResult {
  /** Rows that got their tenant. */
  adopted: number;
  /** Rows left with `tenantUnknown` whose record is in this log's range but is not their event. */
  unmatched: number;
}

/** Gives the group's rows migrated without a tenant their tenant from `log` (see the file comment). */
export async function adoptTenants(
  sink: TenantAdoption,
  group: string,
  log: Pick<Log, 'read' | 'state'>,
  partitions: readonly number[],
): Promise<TenantAdoptionResult> {
  const result: TenantAdoptionResult = { adopted: 0, unmatched: 0 };
  for (const p of partitions) {
    const { offsetStart, offsetEnd } = log.state(p);
    let from = offsetStart;
    for (;;) {
      const rows = (await sink.unknownTenantRows(group, p, from, pageRows)).filter((r) => r.offset < offsetEnd);
      if (rows.length === 0) break;
      const records = await recordsAt(
        log,
        p,
        rows.map((r) => r.offset),
      );
      const adopt: { eventId: string; tenant: string }[] = [];
      for (const row of rows) {
        const tenant = tenantOf(records.get(row.offset), row.eventId);
        if (tenant === undefined) result.unmatched++;
        else adopt.push({ eventId: row.eventId, tenant });
      }
      result.adopted += await sink.adoptTenants(group, adopt);
      from = rows[rows.length - 1].offset + 1;
    }
  }
  return result;
}

/** The records at these offsets (ascending), read in runs; offsets retention removed meanwhile are left out. */
async function recordsAt(
  log: Pick<Log, 'read'>,
  partition: number,
  offsets: readonly number[],
): Promise<Map<number, LogRecord>> {
  const found = new Map<number, LogRecord>();
  let i = 0;
  while (i < offsets.length) {
    const at = offsets[i];
    let records: LogRecord[];
    try {
      const span = offsets[offsets.length - 1] - at + 1;
      records = await log.read(partition, at, { recordsMax: Math.min(pageRows, span) });
    } catch (err) {
      if (isShockError(err) && err.code === 'SHOCK_LOG_OFFSET_OUT_OF_RANGE') {
        i++;
        continue;
      }
      throw err;
    }
    if (records.length === 0) break;
    for (const r of records) found.set(r.offset, r);
    const last = records[records.length - 1].offset;
    while (i < offsets.length && offsets[i] <= last) i++;
  }
  return found;
}

/** The tenant of the event in `record` when it is the event `eventId`. */
function tenantOf(record: LogRecord | undefined, eventId: string): string | undefined {
  if (record === undefined) return undefined;
  try {
    const event = decodeEvent(record.value);
    return event.event_id === eventId && typeof event.tenant === 'string' && event.tenant !== ''
      ? event.tenant
      : undefined;
  } catch {
    return undefined;
  }
}
