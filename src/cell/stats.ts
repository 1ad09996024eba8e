/**
 * The JSON of `GET /v1/stats` (and `GET /admin/stats`): what the dashboard draws and what benchmarks sample once a
 * second. Rates are per second over the last sampled second; latency quantiles are the gateway's, over its most
 * recent 202 answers of the last 10 s (from the request reaching the gateway to the durable answer). Lag in events
 * is read at the request (durable end − committed, sampler.ts); lag in seconds comes from the last sample.
 */
import type { MembershipStats, PartitionStats, RetentionPolicy } from '../log/index.js';
import type { ReshardStatus } from './generation-consumers.js';

/**
 * Lag of one partition for the consumer group (seed §7.2: lag = end − committed, and the same as time). During a
 * reshard the partitions of the sealed generation still draining are listed too (after the active generation's),
 * their end being the sealed end: the lag a user reads counts every event not yet consumed, in whichever
 * generation it waits (docs/metrics.md, "Lag during a reshard").
 */
export interface PartitionLag {
  partition: number;
  /** The log generation of the partition (file log; absent on engines without generations). */
  generation?: number;
  offsetEnd: number;
  offsetCommitted: number;
  lagEvents: number;
  lagSeconds: number;
}

export interface CellStats {
  cell: {
    version: string;
    uptimeSec: number;
    partitions: number;
    ready: boolean;
    /** Why not ready (empty when ready). */
    notReady: string[];
    /** Set once a graceful shutdown has begun. */
    draining: boolean;
  };
  ingress: {
    acceptedPerSec: number;
    rejectedPerSec: number;
    acceptedTotal: number;
    rejectedTotal: number;
    /** Rejected events by error code (SHOCK_INGRESS_RATE_LIMITED, SHOCK_INGRESS_SHED, ...). */
    rejectedByCode: Record<string, number>;
    /** Records answered 202 `duplicate: true` (already in the log; not appended again). */
    duplicateTotal: number;
    latencyMsP50: number | null;
    latencyMsP99: number | null;
    inflightRequests: number;
    inflightEvents: number;
  };
  shedding: {
    mode: string;
    shadow: boolean;
    /** True when the gateway shed or delayed anything during the last second (or the load is above capacity). */
    active: boolean;
    /** Load ratio ρ of the dominant overload signal (1 = at capacity). */
    loadRatio: number;
    reason: string;
    shedTotal: number;
    delayedTotal: number;
    eventLoopDelayMs: number;
  };
  rateLimit: { mode: string; limitedTotal: number };
  breaker: { state: 'closed' | 'open' | 'half-open'; failures: number };
  consumers: {
    group: string;
    running: boolean;
    paused: boolean;
    /** Every generation still consumed: the active one's lag plus a draining one's backlog. */
    lagEvents: number;
    /** The largest `lagSeconds` of any partition of any generation still consumed. */
    lagSecondsMax: number;
    consumedPerSec: number;
    consumedTotal: number;
    dlqWrites: number;
    /** The active generation's partitions (index = partition), then those of a generation still draining. */
    partitions: PartitionLag[];
    /**
     * Consumer workers that ended on an error and were restarted since the cell started (`restartsByReason` sums to
     * it): `shock_consumer_restarts_total{group,reason}`.
     */
    restarts: number;
    /** By reason: the ending error's `SHOCK_*` code, or `crash`. */
    restartsByReason: Record<string, number>;
    /** The error that last ended a worker, or null: its code (null when uncoded), message and time. */
    lastError: {
      code: string | null;
      reason: string;
      message: string;
      at: string;
      atMs: number;
      worker: number;
      partitions: number[];
    } | null;
    /**
     * Records retention removed before the group consumed them (the consumers jumped to the first remaining offset),
     * since the cell started, in all and per partition (only partitions with any):
     * `shock_consumer_removed_before_consumed_total{group,partition}`.
     */
    removedBeforeConsumed: number;
    removedBeforeConsumedByPartition: Record<string, number>;
    /**
     * Who owns what when the group is shared across processes by leases (`log.engine: jetstream`): this process's
     * `memberId`, the live `members`, the partitions it `owned`, every lease it sees (`partition`, `owner`, `ageMs`
     * since the owner last renewed it), `rebalances` (times its owned set changed) and `leasesLost` (leases it lost
     * without giving them up: expired, stalled, fenced). Null with the file log: this process owns every partition.
     * `partitions` above is the group's lag on every partition, whoever consumes it.
     */
    membership: MembershipStats | null;
  };
  /** Retention of the log (the active generation): what the consumers have not consumed yet, and whether it is full. */
  log: LogRetentionStats;
  /** The log generations and the drain of a sealed one (file log; absent on engines that cannot reshard). */
  reshard?: ReshardStatus;
  /** Per-second series over the last minute, oldest first (the dashboard's chart). */
  series: { acceptedPerSec: number[]; rejectedPerSec: number[]; consumedPerSec: number[]; lagEvents: number[] };
}

/**
 * The log's retention state in `/v1/stats` (docs/log.md, "Retention"): under the interest policy unconsumed records
 * are kept, and a partition whose unconsumed bytes reach `maxBytes` (or whose disk is below its floor) is full — the
 * ingress answers 503 SHOCK_LOG_FULL for it until the consumers catch up.
 */
export interface LogRetentionStats {
  policy: RetentionPolicy;
  /** True while any partition is full. */
  full: boolean;
  unconsumedBytes: number;
  partitions: { partition: number; unconsumedBytes: number; full: boolean }[];
}

/** `LogRetentionStats` from the log's partition counters. */
export function logRetentionStats(
  policy: RetentionPolicy,
  partitions: readonly Pick<PartitionStats, 'partition' | 'unconsumedBytes' | 'full'>[],
): LogRetentionStats {
  const rows = partitions.map((p) => ({ partition: p.partition, unconsumedBytes: p.unconsumedBytes, full: p.full }));
  return {
    policy,
    full: rows.some((p) => p.full),
    unconsumedBytes: rows.reduce((sum, p) => sum + p.unconsumedBytes, 0),
    partitions: rows,
  };
}

/** The consumers' health fields of `/v1/stats` (restarts, last error, retention skips), added by the cell. */
export type ConsumerHealthStatsKeys =
  | 'restarts'
  | 'restartsByReason'
  | 'lastError'
  | 'removedBeforeConsumed'
  | 'removedBeforeConsumedByPartition'
  | 'membership';

/** `/v1/stats` as the sampler builds it, before the cell adds the consumers' health fields and the log's retention. */
export type SampledCellStats = Omit<CellStats, 'consumers' | 'log'> & {
  consumers: Omit<CellStats['consumers'], ConsumerHealthStatsKeys>;
};
