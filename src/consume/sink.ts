/**
 * The `Sink` interface: where consumers put the effect of each event, idempotently, together with the fencing that
 * keeps a stale consumer out. The embedded implementation is SQLite (`sqlite/`); PostgreSQL fits behind the same
 * interface (a later issue).
 *
 * Guarantees every implementation keeps:
 * - **One transaction per batch.** `write` stores every result, every dead letter and the partition's high-water
 *   mark in one transaction: after a crash either all of a batch is there or none of it.
 * - **Idempotent by event id.** A result whose `(group, eventId)` is already stored is skipped and counted as a
 *   duplicate (SQLite `INSERT … ON CONFLICT DO NOTHING`; PostgreSQL the same statement on a unique key). Dead
 *   letters are keyed by `(group, partition, offset)` the same way. Redelivering a batch therefore changes nothing.
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

/** One event's result, ready to store. */
export interface SinkResultRow {
  /** The idempotency key. */
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

export interface Sink {
  /** Takes ownership of a partition for a group: a new epoch, larger than every earlier one. */
  claim(group: string, partition: number): Promise<PartitionClaim>;

  /** Stores one batch in one transaction, fenced by the batch's epoch (see the guarantees above). */
  write(batch: SinkBatch): Promise<SinkWriteResult>;

  /** Which of these event ids already have a result for the group. */
  processed(group: string, eventIds: readonly string[]): Promise<Set<string>>;

  /** Releases the connection. Idempotent. */
  close(): Promise<void>;
}
