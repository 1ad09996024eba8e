/**
 * The consumer of one partition for one group: fetch a batch, run the handler, write results and dead letters to
 * the sink in one fenced transaction, then commit the log offset. Repeat.
 *
 * Order and the guarantee: the offset is committed only after the sink transaction is durable. A crash before the
 * sink commit loses nothing (the batch is read again); a crash between the sink commit and the offset commit
 * redelivers the batch, and the sink skips every event id it already holds. At-least-once delivery + an idempotent
 * sink = each event's stored effect happens once.
 *
 * Ownership: `start` claims the partition in the sink (a new epoch). Every write carries the epoch and the sink
 * rejects a stale one (SHOCK_CONSUME_FENCED); a fenced consumer stops without committing. The offset commit needs no
 * fence of its own: it only follows a successful fenced write of the same offsets, and offsets only grow.
 *
 * Batching: up to `consumeBatchRecordsMax` events; when fewer are available the consumer waits up to
 * `consumeBatchWaitMs` for more with `log.waitFor` (never a polling loop). An idle consumer sleeps in `waitFor`.
 */
import { assert, decodeEvent, limits as defaultLimits, type Limits } from '../base/index.js';
import type { Log, LogRecord } from '../log/index.js';
import { runBatch, errorText, BatchAbandoned, type RetryPolicy } from './batch.js';
import type { Handler } from './handler.js';
import type { DeadLetterRow, Sink, SinkBatch, SinkResultRow, SinkWriteResult } from './sink.js';
import type { StoredEvent } from '../base/index.js';

/** Counters of one partition consumer, as reported to the supervisor. All counts since the consumer started. */
export interface PartitionProgress {
  group: string;
  partition: number;
  epoch: number;
  state: ConsumerState;
  /** The next offset the group will process after a restart (durably committed in the log's offset store). */
  offsetCommitted: number;
  /** The next offset this consumer reads: everything below it is in the sink (≥ `offsetCommitted`). */
  offsetProcessed: number;
  /** Batches written and committed. */
  batches: number;
  /** Events read from the log (including redelivered and dead-lettered ones). */
  eventsConsumed: number;
  /** Results the sink stored as new. */
  eventsInserted: number;
  /** Results the sink already held (redelivery, or an event id sent twice). */
  eventsDuplicate: number;
  /** Redelivered events skipped before the handler because the sink already held them. */
  eventsSkipped: number;
  deadLetters: number;
  /** Handler calls after the first of a batch. */
  retries: number;
  /** Sink writes retried after a failure. */
  sinkRetries: number;
  /**
   * Records retention removed from the log before this consumer read them: it jumped from its position to the
   * partition's first remaining offset (`RetentionSkip`). 0 for a group that never committed on the partition.
   */
  removedBeforeConsumed: number;
}

/**
 * A jump over records that retention removed before the group consumed them: `from` was the next offset to read,
 * `to` the partition's first remaining offset; `records = to − from`. Reported once per jump.
 */
export interface RetentionSkip {
  group: string;
  partition: number;
  from: number;
  to: number;
  records: number;
}

export type ConsumerState = 'starting' | 'running' | 'paused' | 'stopping' | 'stopped' | 'fenced' | 'failed';

/** How a consumer ended. */
export type ConsumerExit =
  { reason: 'stopped' } | { reason: 'fenced'; error: unknown } | { reason: 'failed'; error: unknown };

/** Called after the sink transaction of a batch committed and before its offset is committed. */
export type SinkCommittedHook = (info: {
  partition: number;
  offsetNext: number;
  write: SinkWriteResult;
}) => void | Promise<void>;

export interface PartitionConsumerOptions {
  log: Log;
  sink: Sink;
  handler: Handler;
  group: string;
  partition: number;
  limits?: Partial<Limits>;
  /** After every offset commit (and on state changes). */
  onProgress?: (progress: PartitionProgress) => void;
  /** Between the sink commit and the offset commit: tracing, and the crash tests that kill at that point. */
  onSinkCommitted?: SinkCommittedHook;
  /** When the consumer jumps over records retention removed before it read them (at start or while running). */
  onSkip?: (skip: RetentionSkip) => void;
}

/** One partition's consumer. `start()`, then `done` resolves with how it ended. */
export class PartitionConsumer {
  readonly group: string;
  readonly partition: number;
  private readonly limits: Limits;
  private readonly policy: RetryPolicy;
  private readonly stopController = new AbortController();
  private readonly progress: PartitionProgress;
  private highWater = 0;
  private commitTarget = 0;
  private prefetched: { from: number; records: Promise<LogRecord[]> } | undefined;
  private committer: Promise<void> | undefined;
  private commitError: unknown;
  private paused = false;
  private wake: (() => void) | undefined;
  private loop: Promise<ConsumerExit> | undefined;

  constructor(private readonly options: PartitionConsumerOptions) {
    this.group = options.group;
    this.partition = options.partition;
    this.limits = { ...defaultLimits, ...options.limits };
    this.policy = {
      retriesMax: this.limits.consumeRetriesMax,
      backoffBaseMs: this.limits.consumeBackoffBaseMs,
      backoffMaxMs: this.limits.consumeBackoffMaxMs,
      handlerTimeoutMs: this.limits.consumeHandlerTimeoutMs,
    };
    this.progress = {
      group: this.group,
      partition: this.partition,
      epoch: 0,
      state: 'starting',
      offsetCommitted: 0,
      offsetProcessed: 0,
      batches: 0,
      eventsConsumed: 0,
      eventsInserted: 0,
      eventsDuplicate: 0,
      eventsSkipped: 0,
      deadLetters: 0,
      retries: 0,
      sinkRetries: 0,
      removedBeforeConsumed: 0,
    };
  }

  /** Claims the partition (a new epoch) and starts the loop. Resolves once claimed. */
  async start(): Promise<void> {
    assert(this.loop === undefined, 'a partition consumer starts once', { partition: this.partition });
    if (this.stopping) {
      this.setState('stopped');
      this.loop = Promise.resolve({ reason: 'stopped' });
      return;
    }
    const claim = await this.options.sink.claim(this.group, this.partition);
    this.progress.epoch = claim.epoch;
    this.highWater = claim.offsetNext;
    const { log } = this.options;
    const committed = log.offsets.get(this.group, this.partition);
    const offsetStart = log.state(this.partition).offsetStart;
    if (committed < offsetStart && this.committedBefore(committed)) {
      // Retention removed records the group had not consumed: resume at the first one left, and say so.
      this.progress.offsetCommitted = committed;
      this.progress.offsetProcessed = committed;
      this.setState(this.paused ? 'paused' : 'running');
      this.skipTo(offsetStart);
    } else {
      // A group's first start on a partition begins at its first remaining offset: nothing was skipped.
      this.progress.offsetCommitted = Math.max(committed, offsetStart);
      this.progress.offsetProcessed = this.progress.offsetCommitted;
      this.setState(this.paused ? 'paused' : 'running');
    }
    this.loop = this.run();
  }

  /** True when the group has a committed offset for this partition (a 0 from `get` can mean "never committed"). */
  private committedBefore(committed: number): boolean {
    if (committed > 0) return true;
    return this.options.log.offsets.list()[this.group]?.[this.partition] !== undefined;
  }

  /**
   * Jumps from `offsetProcessed` to `to`, the partition's first remaining offset, over records retention removed:
   * counts them, reports the jump once, and commits `to` (so a restart does not count the same records again; on
   * JetStream the offsets store adds them to its own `removedBeforeConsumed`). Nothing is written to the sink.
   */
  private skipTo(to: number): void {
    const from = this.progress.offsetProcessed;
    if (to <= from) return;
    const records = to - from;
    this.progress.removedBeforeConsumed += records;
    this.progress.offsetProcessed = to;
    this.prefetched = undefined;
    this.options.onSkip?.({ group: this.group, partition: this.partition, from, to, records });
    this.requestCommit(to);
    this.options.onProgress?.(this.snapshot());
  }

  /** Resolves when the consumer ended: stopped, fenced by a newer owner, or failed (the supervisor restarts it). */
  get done(): Promise<ConsumerExit> {
    assert(this.loop !== undefined, 'done is read after start', { partition: this.partition });
    return this.loop;
  }

  /** A snapshot of the counters. */
  snapshot(): PartitionProgress {
    return { ...this.progress };
  }

  /** Finishes the batch in flight (a handler call runs to its end; a backoff wait is cut short), then stops. */
  async stop(): Promise<ConsumerExit> {
    this.stopController.abort();
    this.wake?.();
    if (this.loop === undefined) return { reason: 'stopped' };
    return this.loop;
  }

  /** Stops fetching after the batch in flight; the partition stays owned. */
  pause(): void {
    this.paused = true;
    if (this.progress.state === 'running') this.setState('paused');
    this.wake?.();
  }

  resume(): void {
    this.paused = false;
    if (this.progress.state === 'paused') this.setState('running');
    this.wake?.();
  }

  private get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(): Promise<ConsumerExit> {
    try {
      while (!this.stopping) {
        if (this.paused) {
          await this.sleep(this.limits.consumeIdleWaitMs);
          continue;
        }
        this.throwCommitError();
        const records = await this.fetch();
        if (records.length === 0 || this.stopping) continue;
        await this.processBatch(records);
      }
      await this.drainCommits();
      this.setState('stopped');
      return { reason: 'stopped' };
    } catch (err) {
      if (err instanceof BatchAbandoned) {
        await this.drainCommits().catch(() => undefined);
        this.setState('stopped');
        return { reason: 'stopped' };
      }
      const fenced = (err as { code?: unknown }).code === 'SHOCK_CONSUME_FENCED';
      this.setState(fenced ? 'fenced' : 'failed');
      return fenced ? { reason: 'fenced', error: err } : { reason: 'failed', error: err };
    }
  }

  /** Waits for data without polling; returns up to a batch, or nothing when woken by stop/pause/idle timeout. */
  private async fetch(): Promise<LogRecord[]> {
    const { log } = this.options;
    const offsetStart = log.state(this.partition).offsetStart;
    if (this.progress.offsetProcessed < offsetStart) {
      // Retention removed records while this consumer was behind (paused, or slower than retention).
      this.skipTo(offsetStart);
      return [];
    }
    const from = this.progress.offsetProcessed;
    const batchMax = this.limits.consumeBatchRecordsMax;
    const ahead = this.prefetched;
    this.prefetched = undefined;
    if (ahead?.from === from) {
      const records = await ahead.records;
      if (records.length > 0) return this.prefetchAfter(records);
    }
    let end = log.state(this.partition).offsetEnd;
    if (end <= from) {
      end = await this.wait(from, this.limits.consumeIdleWaitMs);
      if (end <= from || this.paused) return [];
    }
    if (end - from < batchMax) await this.wait(from + batchMax - 1, this.limits.consumeBatchWaitMs);
    if (this.stopping || this.paused) return [];
    let records: LogRecord[];
    try {
      records = await log.read(this.partition, from, { recordsMax: batchMax });
    } catch (err) {
      // Retention removed `from` between the check above and the read: the next fetch jumps (and reports it).
      if (
        (err as { code?: unknown }).code === 'SHOCK_LOG_OFFSET_OUT_OF_RANGE' &&
        from < log.state(this.partition).offsetStart
      ) {
        return [];
      }
      throw err;
    }
    return this.prefetchAfter(records);
  }

  /**
   * When a full batch already waits behind `records`, starts reading it now, so the file reads overlap the handler
   * and the sink write of this batch. One read in flight at most; a failed read-ahead is simply read again.
   */
  private prefetchAfter(records: LogRecord[]): LogRecord[] {
    if (records.length === 0) return records;
    const { log } = this.options;
    const next = records[records.length - 1].offset + 1;
    const batchMax = this.limits.consumeBatchRecordsMax;
    if (log.state(this.partition).offsetEnd - next >= batchMax && !this.stopping && !this.paused) {
      const read = log.read(this.partition, next, { recordsMax: batchMax });
      this.prefetched = { from: next, records: read.catch((): LogRecord[] => []) };
    }
    return records;
  }

  private async processBatch(records: LogRecord[]): Promise<void> {
    const first = records[0].offset;
    assert(first === this.progress.offsetProcessed, 'a batch starts where the previous one ended', {
      first,
      processed: this.progress.offsetProcessed,
    });
    const offsetNext = records[records.length - 1].offset + 1;
    const batch = await this.buildBatch(records, offsetNext);
    const write = await this.writeSink(batch);
    this.progress.eventsInserted += write.inserted;
    this.progress.eventsDuplicate += write.duplicates;
    this.progress.deadLetters += write.deadLettered;
    this.highWater = Math.max(this.highWater, offsetNext);
    this.progress.offsetProcessed = offsetNext;
    this.progress.batches++;
    this.progress.eventsConsumed += records.length;
    await this.options.onSinkCommitted?.({ partition: this.partition, offsetNext, write });
    this.requestCommit(offsetNext);
    this.options.onProgress?.(this.snapshot());
  }

  /**
   * Commits offsets behind the sink, off the batch path: one commit in flight, always of the newest sink-written
   * offset, so the next batch is read and handled while the offset file is fsynced. Only the order matters for
   * safety — every offset committed is already in the sink — and a crash redelivers what was not yet committed.
   */
  private requestCommit(offsetNext: number): void {
    this.commitTarget = Math.max(this.commitTarget, offsetNext);
    if (this.committer) return;
    this.committer = (async () => {
      try {
        while (this.progress.offsetCommitted < this.commitTarget) {
          await this.commit(this.commitTarget);
          this.options.onProgress?.(this.snapshot());
        }
      } catch (err) {
        this.commitError ??= err;
        this.wake?.();
      } finally {
        this.committer = undefined;
      }
    })();
  }

  /** Waits for the commits in flight; throws the commit error if one failed. */
  private async drainCommits(): Promise<void> {
    while (this.committer) await this.committer;
    this.throwCommitError();
  }

  private throwCommitError(): void {
    if (this.commitError !== undefined) throw this.commitError;
  }

  /** Decodes, skips what the sink already holds (below the high-water mark), runs the handler with retries. */
  private async buildBatch(records: LogRecord[], offsetNext: number): Promise<SinkBatch> {
    const deadLetters: DeadLetterRow[] = [];
    let decoded: { record: LogRecord; event: StoredEvent }[] = [];
    for (const record of records) {
      try {
        const event = decodeEvent(record.value);
        // An event is (tenant, event_id): a record without a tenant has no identity the sink could key it by.
        if (typeof event.tenant !== 'string' || event.tenant === '') {
          throw new SyntaxError('record value is not an encoded event (no tenant)');
        }
        decoded.push({ record, event });
      } catch (err) {
        deadLetters.push(deadLetter(this.partition, record, undefined, `not an event: ${errorText(err)}`, 0));
      }
    }
    const redelivered = records[0].offset < this.highWater;
    if (redelivered && decoded.length > 0) {
      const held = await this.options.sink.processed(
        this.group,
        decoded.map((d) => ({
          tenant: d.event.tenant,
          eventId: d.event.event_id,
          partition: this.partition,
          offset: d.record.offset,
        })),
      );
      const before = decoded.length;
      decoded = decoded.filter((_, i) => !held[i]);
      this.progress.eventsSkipped += before - decoded.length;
    }
    const results: SinkResultRow[] = [];
    if (decoded.length > 0) {
      const input = {
        group: this.group,
        partition: this.partition,
        epoch: this.progress.epoch,
        events: decoded.map((d) => d.event),
        offsets: decoded.map((d) => d.record.offset),
        redelivered,
      };
      const outcome = await runBatch(this.options.handler, input, this.policy, this.stopController.signal);
      this.progress.retries += outcome.retries;
      outcome.outcomes.forEach((o, i) => {
        const { record, event } = decoded[i];
        if (o.ok)
          results.push({
            tenant: event.tenant,
            eventId: event.event_id,
            partition: this.partition,
            offset: record.offset,
            resultJson: o.resultJson,
          });
        else deadLetters.push(deadLetter(this.partition, record, event, o.error, o.attempts));
      });
    }
    return {
      group: this.group,
      partition: this.partition,
      epoch: this.progress.epoch,
      results,
      deadLetters,
      offsetNext,
    };
  }

  /** The sink write, retried with backoff on a failure of the sink itself (never on fencing). */
  private async writeSink(batch: SinkBatch): Promise<SinkWriteResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.options.sink.write(batch);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === 'SHOCK_CONSUME_FENCED' || attempt >= this.limits.consumeSinkRetriesMax) throw err;
        this.progress.sinkRetries++;
        await this.sleep(Math.min(this.limits.consumeBackoffMaxMs, this.limits.consumeBackoffBaseMs * 2 ** attempt));
      }
    }
  }

  /** Commits `offsetNext`; if another owner already committed further (a zombie's last commit), adopts that. */
  private async commit(offsetNext: number): Promise<void> {
    const { log } = this.options;
    const before = this.progress.offsetCommitted;
    assert(offsetNext > before, 'offsets only grow', { before, offsetNext });
    assert(offsetNext <= log.state(this.partition).offsetEnd, 'committed ≤ end', { offsetNext });
    let committed = log.offsets.get(this.group, this.partition);
    if (committed < offsetNext) {
      try {
        await log.offsets.commit(this.group, this.partition, offsetNext);
        committed = offsetNext;
      } catch (err) {
        committed = log.offsets.get(this.group, this.partition);
        if (committed < offsetNext) throw err;
      }
    }
    this.progress.offsetCommitted = committed;
  }

  /** Waits for the end offset to pass `offset`, or `timeoutMs`, or stop/resume — whichever comes first. */
  private async wait(offset: number, timeoutMs: number): Promise<number> {
    if (this.stopping) return this.options.log.state(this.partition).offsetEnd;
    let woken: () => void = () => undefined;
    const wake = new Promise<number>((resolve) => {
      woken = () => resolve(this.options.log.state(this.partition).offsetEnd);
    });
    this.wake = woken;
    try {
      return await Promise.race([this.options.log.waitFor(this.partition, offset, timeoutMs), wake]);
    } finally {
      this.wake = undefined;
    }
  }

  private async sleep(ms: number): Promise<void> {
    if (this.stopping) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      this.wake = resolve;
    });
    clearTimeout(timer);
    this.wake = undefined;
  }

  private setState(state: ConsumerState): void {
    if (this.progress.state === state) return;
    this.progress.state = state;
    this.options.onProgress?.(this.snapshot());
  }
}

function deadLetter(
  partition: number,
  record: LogRecord,
  event: StoredEvent | undefined,
  error: string,
  attempts: number,
): DeadLetterRow {
  return {
    partition,
    offset: record.offset,
    tenant: event?.tenant,
    eventId: event?.event_id,
    error,
    eventJson: record.value.toString('utf8'),
    attempts,
    timestampMs: record.timestampMs,
  };
}
