/**
 * The consumers' figures as a plain snapshot: per partition the end offset, the committed offset, lag in events
 * (`offsetEnd − offsetCommitted`), lag in seconds (now − ingress time of the oldest unconsumed record, 0 when
 * caught up), the consume rate, and counters (stored, duplicates, dead letters, retries). The cell exports them as
 * `shock_consumer_lag{group,partition}` and `shock_consumer_lag_seconds{group,partition}` (kafka-lag-exporter's pair).
 * In a group shared across processes, `partitions` lists only the partitions this process owns now.
 */
import type { MembershipStats } from '../log/index.js';
import type { ConsumerState } from './consumer.js';

/** One partition's figures. Counters are totals since the supervisor started (they survive worker restarts). */
export interface PartitionConsumerStats {
  partition: number;
  /** Index of the worker that owns the partition. */
  worker: number;
  /** The owner's fencing epoch (0 before the first claim). */
  epoch: number;
  state: ConsumerState | 'restarting';
  /** One past the last durable record. */
  offsetEnd: number;
  /** The next offset the group will process (durably committed). */
  offsetCommitted: number;
  /** `offsetEnd − offsetCommitted`. */
  lagEvents: number;
  /** Now − ingress time of the record at `offsetCommitted`, in seconds; 0 when caught up. */
  lagSeconds: number;
  /** Events consumed per second over the last `limits.consumeRateWindowMs`. */
  ratePerSec: number;
  eventsConsumed: number;
  eventsInserted: number;
  eventsDuplicate: number;
  eventsSkipped: number;
  deadLetters: number;
  retries: number;
  sinkRetries: number;
  /** Records retention removed before the group consumed them (the consumer jumped to the first remaining offset). */
  removedBeforeConsumed: number;
}

/** One worker's figures. */
export interface WorkerStats {
  index: number;
  /** `thread` ids are thread ids; `process` ids are pids. Undefined while restarting. */
  id: number | undefined;
  state: 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';
  partitions: number[];
  restarts: number;
  /** The last error that ended this worker, if any. */
  lastError: string | undefined;
}

/** The error that last ended a consumer worker (which the supervisor then restarted). */
export interface ConsumerError {
  /** The error's code (`SHOCK_SINK_IO`, `SHOCK_LOG_OFFSET_OUT_OF_RANGE`, …), or null for an uncoded crash. */
  code: string | null;
  /** The restart reason it is counted under: the `SHOCK_*` code, or `crash` (bounded, a metric label). */
  reason: string;
  message: string;
  /** When the worker ended (epoch ms) and the same as ISO 8601. */
  atMs: number;
  at: string;
  worker: number;
  partitions: number[];
}

/** The supervisor's snapshot. */
export interface ConsumerStats {
  group: string;
  mode: 'thread' | 'process';
  state: 'running' | 'stopping' | 'stopped';
  paused: boolean;
  partitions: PartitionConsumerStats[];
  workers: WorkerStats[];
  totals: {
    lagEvents: number;
    /** The largest `lagSeconds` of any partition. */
    lagSecondsMax: number;
    ratePerSec: number;
    eventsConsumed: number;
    eventsInserted: number;
    eventsDuplicate: number;
    deadLetters: number;
    retries: number;
    /** Worker restarts the supervisor launched. */
    restarts: number;
    /**
     * Worker ends the supervisor restarts (or is about to: counted when the restart is scheduled), by reason: the
     * ending error's `SHOCK_*` code, or `crash`.
     */
    restartsByReason: Record<string, number>;
    removedBeforeConsumed: number;
    /** Consumers fenced by a newer owner of their partition (each gave its partition up). */
    fenced: number;
  };
  /** The error that last ended a worker, or null. */
  lastError: ConsumerError | null;
  /**
   * With a membership (a group shared across processes by leases): this member, the live members, the partitions it
   * owns, the leases it sees with their age, rebalances and leases lost. Null: this supervisor consumes every
   * partition it was given.
   */
  membership: MembershipStats | null;
}

/** A rate over a sliding window from (time, running total) samples. */
export class RateWindow {
  private readonly samples: { atMs: number; total: number }[] = [];

  constructor(private readonly windowMs: number) {}

  /** Records the running total at `atMs` (monotonic). */
  add(atMs: number, total: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && atMs - last.atMs < this.windowMs / 20) {
      last.total = total;
      last.atMs = atMs;
    } else this.samples.push({ atMs, total });
    while (this.samples.length > 2 && atMs - this.samples[1].atMs >= this.windowMs) this.samples.shift();
  }

  /** Per second, from the oldest sample in the window to `nowMs`. 0 with fewer than two samples. */
  ratePerSec(nowMs: number): number {
    while (this.samples.length > 2 && nowMs - this.samples[1].atMs >= this.windowMs) this.samples.shift();
    if (this.samples.length === 0) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const spanMs = nowMs - first.atMs;
    if (spanMs <= 0 || last === first) return 0;
    return ((last.total - first.total) * 1000) / spanMs;
  }
}
