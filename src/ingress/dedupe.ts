/**
 * Idempotency window per tenant (NATS JetStream `Nats-Msg-Id` / PubAck `duplicate`): the gateway remembers the
 * event ids it accepted, per tenant, in a bounded LRU. An event whose id is in the window is not appended again; it
 * is answered 202 with the original partition and offset and `duplicate: true`.
 *
 * The window is the lesser of `dedupeWindowMs` and the last `dedupeIdsPerTenantMax` ids of the tenant, and it is
 * per gateway process and in memory: ids are forgotten on restart and another process does not see them. The
 * consumers' idempotent sink is the end-to-end guarantee; this window only saves the log from obvious retries.
 *
 * An id is entered when its append starts (`pending`), so a retry racing the original waits for its outcome.
 * A failed append removes its ids again, so the client's retry is appended.
 */
import type { AppendResult } from '../log/index.js';

/** What the window knows of an accepted (or being-accepted) event. */
export interface DedupeEntry {
  partition: number;
  /** The append that stores the event, while it is in flight; null once settled. */
  pending: Promise<AppendResult> | null;
  /** Index of the event within its append call (its offset is `baseOffset + index`). */
  index: number;
  /** Offset once known; -1 while pending. */
  offset: number;
  acceptedAtMs: number;
}

/** Per-tenant LRU of event ids, bounded in count and age. */
export class DedupeWindow {
  private readonly tenants = new Map<string, Map<string, DedupeEntry>>();

  constructor(
    readonly idsPerTenantMax: number,
    readonly windowMs: number,
  ) {}

  /** The entry of `eventId` if it is inside the window (refreshing nothing: the window counts from acceptance). */
  get(tenant: string, eventId: string, nowMs: number): DedupeEntry | undefined {
    const ids = this.tenants.get(tenant);
    if (ids === undefined) return undefined;
    const entry = ids.get(eventId);
    if (entry === undefined) return undefined;
    if (nowMs - entry.acceptedAtMs > this.windowMs) {
      ids.delete(eventId);
      return undefined;
    }
    return entry;
  }

  /** Enters an id whose append is starting. Evicts the oldest ids beyond the count bound. */
  add(tenant: string, eventId: string, entry: DedupeEntry): void {
    let ids = this.tenants.get(tenant);
    if (ids === undefined) {
      ids = new Map();
      this.tenants.set(tenant, ids);
    }
    ids.set(eventId, entry);
    // Map iteration order is insertion order: the first key is the oldest.
    while (ids.size > this.idsPerTenantMax) {
      const oldest = ids.keys().next().value as string;
      ids.delete(oldest);
    }
  }

  /** Forgets an id (its append failed). */
  remove(tenant: string, eventId: string, entry: DedupeEntry): void {
    const ids = this.tenants.get(tenant);
    if (ids !== undefined && ids.get(eventId) === entry) ids.delete(eventId);
  }

  /** Ids remembered for a tenant (tests, stats). */
  size(tenant: string): number {
    return this.tenants.get(tenant)?.size ?? 0;
  }
}
