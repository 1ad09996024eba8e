/**
 * The `Log` interface: a durable, partitioned, append-only log. The embedded file log (`file/`) implements it;
 * a distributed engine (NATS JetStream) must fit behind the same interface.
 *
 * Guarantees every implementation keeps:
 * - **Durable before acknowledged.** `append` resolves only after the records are durable (for the file log: the
 *   fdatasync that covers them has returned). A rejected promise means none of that call's records may be relied
 *   on; they may or may not be readable after a crash, and are never half-written (each record has a CRC).
 * - **Dense, ordered offsets per partition.** Offsets start at 0 (or at the retention start) and grow by one per
 *   record, in the order the log stored them within that partition. `append` returns the offsets assigned: one
 *   contiguous run for an engine with one writer per partition (the file log); increasing but possibly interleaved
 *   with other writers' records for an engine that many processes append to at once (JetStream) — read them with
 *   `appendedOffset`. Records of one call are stored in call order; appends of one caller that each wait for the
 *   previous one's result are stored in that order; concurrent appends have no order between them.
 * - **Idempotent with an id.** A record with an `id` that the engine has already stored within its duplicate window
 *   is not stored again: the append answers the stored record's offset (JetStream; the file log has a single writer
 *   whose gateway deduplicates before appending, and ignores ids).
 * - **Reads see only durable records.** `read` never returns a record that a crash could take back.
 * - **No polling loops.** `waitFor` resolves when the partition's end offset passes a given offset, or on timeout.
 */

/** One record as the caller appends it. */
export interface AppendRecord {
  /** Partition key bytes (may be empty). */
  key: Buffer;
  /** The record body. */
  value: Buffer;
  /** Producer timestamp, ms since the epoch; defaults to the time of the append. */
  timestampMs?: number;
  /**
   * Idempotency id, e.g. the event's `(tenant, event_id)`: an engine that deduplicates (JetStream) stores a record
   * whose id it already stored within its duplicate window only once, and answers the first one's offset.
   */
  id?: string;
}

/** One record as read back. */
export interface LogRecord {
  offset: number;
  timestampMs: number;
  key: Buffer;
  value: Buffer;
}

export interface AppendResult {
  /** Offset of the first record of this call; without `offsets`, the i-th record got `baseOffset + i`. */
  baseOffset: number;
  count: number;
  /**
   * Present when the call's records are not one contiguous run (other writers' records between them, or a record
   * deduplicated to an earlier offset): the i-th record's offset. Read offsets with `appendedOffset`.
   */
  offsets?: readonly number[];
}

/** The offset the i-th record of an append call got. */
export function appendedOffset(result: AppendResult, i: number): number {
  return result.offsets === undefined ? result.baseOffset + i : result.offsets[i];
}

export interface ReadOptions {
  /** Most records to return (default `limits.fetchRecordsMax`). */
  recordsMax?: number;
  /** Most bytes of record bodies to return; one record is always returned if any is available. */
  bytesMax?: number;
}

export interface PartitionState {
  partition: number;
  /** First offset still retained. */
  offsetStart: number;
  /** One past the last durable record (the next offset a new durable record will get). */
  offsetEnd: number;
}

/** Whether a log can serve appends and reads now (`Log.health`); a cell's /readyz lists the problems. */
export interface LogHealth {
  ok: boolean;
  /** Short, human-readable reasons, e.g. "NATS unreachable since …"; empty when `ok`. */
  problems: string[];
}

export interface Log {
  /**
   * Number of partitions. Fixed for the life of a file or JetStream log; a cell's generation log (resharding, see
   * docs/adr/003-resharding.md) changes it at a switch, so a caller computes a partition from it in the same
   * synchronous stretch as the `append` that uses it.
   */
  readonly partitions: number;

  /**
   * Appends records to one partition; resolves once they are durable. Rejects with SHOCK_LOG_IO when the storage
   * fails (after which the file log's partition refuses appends until reopened), SHOCK_LOG_RECORD_TOO_LARGE,
   * SHOCK_LOG_BAD_PARTITION, SHOCK_LOG_CLOSED.
   */
  append(partition: number, records: AppendRecord[]): Promise<AppendResult>;

  /**
   * Reads up to `recordsMax` records starting at `offset`, in offset order, each CRC-checked. Empty when
   * `offset == offsetEnd`. Throws SHOCK_LOG_OFFSET_OUT_OF_RANGE when `offset` is outside `[offsetStart, offsetEnd]`
   * (below `offsetStart`: retention removed it — resume from `state().offsetStart`), SHOCK_LOG_CORRUPT_RECORD
   * (naming file and byte) when a durable record fails its checks.
   */
  read(partition: number, offset: number, options?: ReadOptions): Promise<LogRecord[]>;

  /** Start and end offsets of a partition. */
  state(partition: number): PartitionState;

  /**
   * Resolves with the partition's end offset once it is greater than `offset`, or after `timeoutMs` with the
   * end offset then (which may still equal `offset`). Also resolves (never rejects) when the log closes.
   */
  waitFor(partition: number, offset: number, timeoutMs: number): Promise<number>;

  /** Durable consumer offsets (the next offset the group will read) per group and partition. */
  offsets: OffsetStore;

  /**
   * Engines whose storage can become unreachable without failing for good (JetStream: a lost connection, a stream
   * without a leader) report it here; the file log reports a failed partition in its `stats()` instead.
   */
  health?(): LogHealth;

  /** Flushes anything pending, answers every waiting caller, releases files. Idempotent. */
  close(): Promise<void>;
}

export interface OffsetStore {
  /** The committed offset, or 0 when the group never committed (start of retention is applied by the reader). */
  get(group: string, partition: number): number;
  /**
   * Commits durably (atomic replace + fsync). Offsets only move forward unless `force` is set (a reset); an offset
   * past the partition's end, or backwards without `force`, is SHOCK_LOG_OFFSET_OUT_OF_RANGE.
   */
  commit(group: string, partition: number, offset: number, opts?: { force?: boolean }): Promise<void>;
  /** All groups and their offsets. */
  list(): Record<string, Record<number, number>>;
}
