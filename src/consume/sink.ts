/**
 * The `Sink` interface: where consumers put the effect of each event, idempotently, together with the fencing that
 * keeps a stale consumer out. The embedded implementation is SQLite (`sqlite/`); PostgreSQL fits behind the same
 * interface (`postgres/`).
 *
 * Guarantees every implementation keeps:
 * - **One transaction per batch.** `write` stores every result, every dead letter and the partition's high-water
 *   mark in one transaction: after a crash either all of a batch is there or none of it.
 * - **Idempotent by event identity.** An event is identified by `(tenant, eventId)`: two tenants may use the same
 *   event id for two different events, and both are stored. A result whose `(group, tenant, eventId)` is already
 *   stored is skipped and counted as a duplicate (SQLite `INSERT … ON CONFLICT DO NOTHING`; PostgreSQL the same
 *   statement on the primary key). Dead letters are keyed by the record's position `(group, partition, offset)`
 *   (one position holds one record, so one tenant) the same way. Redelivering a batch therefore changes nothing.
 * - **Fenced by epoch.** `claim` makes the caller the owner of a partition with a new, larger epoch. `write` checks
 *   the epoch inside its own transaction (`UPDATE owners … WHERE epoch = ?`, zero rows → SHOCK_CONSUME_FENCED and a
 *   rollback), so a consumer that lost its partition — a zombie — cannot write even one row.
 * - **Durable when `write` resolves**, so the caller may then commit the log offset: the offset is committed only
 *   after the sink commit, and a crash between the two redelivers the batch, which the sink absorbs.
 *
 * For PostgreSQL: `claim` is `INSERT … ON CONFLICT (group, partition) DO UPDATE SET epoch = owners.epoch + 1
 * RETURNING epoch`; `write` is one transaction with the fencing `UPDATE` first (it also row-locks the owner, so a
 * concurrent claim waits for the batch), then `INSERT … ON CONFLICT DO NOTHING` for results and dead letters.
 */

/**
 * The tenant of result rows that a sink migrated from schema version 1 (which had no tenant column) when the
 * tenant could not be read back from the log: the empty string, which no tenant id can be. See docs/consume.md.
 */
export const tenantUnknown = '';

/** One event's result, ready to store. */
export interface SinkResultRow {
  /** With `eventId`, the event's identity: the idempotency key is `(tenant, eventId)`. */
  tenant: string;
  eventId: string;
  partition: number;
  offset: number;
  /** The handler's result as JSON text (`null` when the handler returned nothing). */
  resultJson: string;
}

/** One event the handler kept failing on (or a record that is not an event). */
export interface DeadLetterRow {
  partition: number;
  offset: number;
  /** Undefined when the record could not be decoded as an event (or the event names no tenant). */
  tenant: string | undefined;
  /** Undefined when the record could not be decoded as an event. */
  eventId: string | undefined;
  /** What went wrong, last attempt (message, with the error's code or name when it has one). */
  error: string;
  /** The record value as text (the event envelope as the ingress stored it). */
  eventJson: string;
  /** Handler calls that included this event. 0 for a record that could not be decoded. */
  attempts: number;
  /** Ingress receive time of the record. */
  timestampMs: number;
}

/** Everything one batch of one partition leaves in the sink. */
export interface SinkBatch {
  group: string;
  partition: number;
  /** The writer's epoch from `claim`; a stale epoch is rejected with SHOCK_CONSUME_FENCED. */
  epoch: number;
  results: SinkResultRow[];
  deadLetters: DeadLetterRow[];
  /** One past the last offset this batch covers; the sink keeps the largest as the partition's high-water mark. */
  offsetNext: number;
}

/** What `write` did. `inserted + duplicates === results.length`. */
export interface SinkWriteResult {
  inserted: number;
  duplicates: number;
  /** New dead letters (a redelivered dead letter is not counted twice). */
  deadLettered: number;
}

/** The ownership a `claim` granted. */
export interface PartitionClaim {
  epoch: number;
  /**
   * The partition's high-water mark in the sink: every offset below it has been written by some owner. Events
   * below it that the log redelivers may be skipped when `processed` says they are there.
   */
  offsetNext: number;
}

/** A dead letter as stored (what `DeadLetterStore.deadLetters` lists). */
export interface StoredDeadLetterRow extends DeadLetterRow {
  group: string;
  /** When the consumer gave up on it. */
  deadAtMs: number;
}

/** Which dead letters to list: one partition, and/or those after a cursor (partition, offset) in listing order. */
export interface DeadLetterQuery {
  partition?: number;
  after?: DeadLetterKey;
}

/** A dead letter's identity within its group. */
export interface DeadLetterKey {
  partition: number;
  offset: number;
}

/**
 * The dead-letter table of a sink, for operators (`shock dlq`, the admin API): list in (partition, offset) order
 * with a cursor, count, and remove the rows of events that were replayed. Both sinks implement it.
 */
export interface DeadLetterStore {
  deadLetters(
    group: string,
    limit?: number,
    query?: DeadLetterQuery,
  ): StoredDeadLetterRow[] | Promise<StoredDeadLetterRow[]>;
  countDeadLetters(group: string, partition?: number): number | Promise<number>;
  /** Removes these rows in one transaction; returns how many existed. */
  removeDeadLetters(group: string, keys: readonly DeadLetterKey[]): number | Promise<number>;
}

/** One redelivered event to look up: its identity, and the record it was read from. */
export interface ProcessedQuery {
  tenant: string;
  eventId: string;
  /** Where the record is in the log: matches a row migrated without its tenant (see `tenantUnknown`). */
  partition: number;
  offset: number;
}

/** A result row migrated from schema version 1 whose tenant is not known yet (`tenantUnknown`). */
export interface UnknownTenantRow {
  eventId: string;
  offset: number;
}

/**
 * Finishing the migration from schema version 1 (`adoptTenants`): its result rows were stored without a tenant,
 * which only the log record at their position still holds. Both sinks implement it.
 */
export interface TenantAdoption {
  /** Rows of `group` with `tenantUnknown` in `partition`, at offsets ≥ `offsetFrom`, in offset order, at most `limit`. */
  unknownTenantRows(
    group: string,
    partition: number,
    offsetFrom: number,
    limit: number,
  ): UnknownTenantRow[] | Promise<UnknownTenantRow[]>;
  /**
   * Gives rows with `tenantUnknown` their tenant, in one transaction; returns how many changed. A row whose
   * `(tenant, eventId)` is already stored again (the same event, after the upgrade) keeps `tenantUnknown`.
   */
  adoptTenants(group: string, rows: readonly { eventId: string; tenant: string }[]): number | Promise<number>;
}

export interface Sink {
  /** Takes ownership of a partition for a group: a new epoch, larger than every earlier one. */
  claim(group: string, partition: number): Promise<PartitionClaim>;

  /** Stores one batch in one transaction, fenced by the batch's epoch (see the guarantees above). */
  write(batch: SinkBatch): Promise<SinkWriteResult>;

  /**
   * Which of these events already have a result for the group: `answer[i]` for `events[i]`. A stored row matches
   * when its `(tenant, eventId)` is the event's, or when it was migrated with `tenantUnknown` and stored from the
   * very same record (same event id, partition and offset: offsets never repeat within a partition).
   */
  processed(group: string, events: readonly ProcessedQuery[]): Promise<boolean[]>;

  /** Releases the connection. Idempotent. */
  close(): Promise<void>;
}
