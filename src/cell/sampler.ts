/**
 * Once a second, off the hot path, the sampler reads the cell's counters — the gateway's stats, the log's end
 * offsets, the consumers' committed offsets — and keeps the per-second series that `/v1/stats` and the dashboard
 * show. Lag in seconds is the age of the oldest uncommitted record (one read of one record per lagging partition
 * per sample), so it means "how far behind" in the seed's §7.2 sense. During a reshard the lag covers every
 * generation still consumed: the active one's partitions, then the draining one's (up to its sealed end), so the
 * scaling signal does not under-read while the old generation's backlog drains.
 *
 * Lag in events is not sampled: `stats()` and `lag()` compute it at each call from the log's durable end offsets and
 * the group's committed offsets (both read synchronously, no record is read), so `lagEvents: 0` means every event
 * the log holds is committed now, not a second ago. Lag in seconds needs a record read and stays the sample's,
 * aged by the time since the sample while the same record is still the oldest, and 0 as soon as a partition has no
 * lag in events. Rates and the one-minute series are the sampler's.
 */
import type { GatewayStats } from '../ingress/index.js';
import type { Log } from '../log/index.js';
import { RateSeries } from './rate-series.js';
import type { CellStats, PartitionLag, SampledCellStats } from './stats.js';

/** What the sampler needs to know of the consumers (adapted from the supervisor's stats). */
export interface ConsumerFigures {
  running: boolean;
  paused: boolean;
  /** Next offset to read per partition (committed), index = partition (the active generation's). */
  offsetCommitted: number[];
  /** Events committed since start. */
  consumed: number;
  dlqWrites: number;
  /**
   * File log: every generation still consumed, the active one first, then a sealed one still draining (a reshard):
   * the lag covers all of them (`offsetCommitted` above is then the active generation's, for compatibility).
   */
  generations?: ConsumedGeneration[];
}

/** One log generation whose events the consumers have not all committed yet. */
export interface ConsumedGeneration {
  generation: number;
  partitions: number;
  /** That generation's own log (not the cell's face, which follows the active generation). */
  log: Pick<Log, 'read' | 'state'>;
  /** Next offset to read per partition (committed), index = partition. */
  offsetCommitted: number[];
  /** A sealed generation's end per partition (the log end while it is not recorded yet); null: the live end. */
  offsetEnd: number[] | null;
}

export interface CellSamplerOptions {
  log: Log;
  group: string;
  gateway: () => GatewayStats;
  consumers: () => ConsumerFigures;
  /** Sampling period (default 1000 ms). */
  periodMs?: number;
}

/** Samples the cell's counters once a second. */
export class CellSampler {
  private readonly series = new RateSeries(61);
  private readonly lagSeries: number[] = [];
  /** The last sample's lag per partition (its seconds are what `lag()` and `stats()` report, aged). */
  private partitionLag: PartitionLag[] = [];
  /** When the last sample read the lag (Date.now()). */
  private partitionLagAtMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;
  private consumerLatest: ConsumerFigures = {
    running: false,
    paused: false,
    offsetCommitted: [],
    consumed: 0,
    dlqWrites: 0,
  };

  constructor(private readonly o: CellSamplerOptions) {}

  /** Takes a first sample now, then one per period. */
  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.o.periodMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One sample; skipped while the previous one runs (a slow disk must not stack samples). */
  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      this.consumerLatest = this.o.consumers();
      const g = this.o.gateway();
      const lagAtMs = Date.now();
      this.partitionLag = await this.readLag(lagAtMs);
      this.partitionLagAtMs = lagAtMs;
      const lagTotal = this.partitionLag.reduce((sum, p) => sum + p.lagEvents, 0);
      this.lagSeries.push(lagTotal);
      if (this.lagSeries.length > 60) this.lagSeries.shift();
      this.series.sample(performance.now(), {
        accepted: g.acceptedEventsTotal,
        rejected: g.rejectedEventsTotal,
        consumed: this.consumerLatest.consumed,
      });
    } finally {
      this.sampling = false;
    }
  }

  /** The lag now (events: end − committed at this call; seconds: the last sample's, see the header). */
  lag(): PartitionLag[] {
    return this.lagNow(this.o.consumers());
  }

  consumerTotals(): { consumed: number; dlqWrites: number; paused: boolean } {
    const c = this.consumerLatest;
    return { consumed: c.consumed, dlqWrites: c.dlqWrites, paused: c.paused };
  }

  /** The `/v1/stats` document. */
  stats(cell: CellStats['cell']): SampledCellStats {
    const g = this.o.gateway();
    const c = this.o.consumers();
    const partitions = this.lagNow(c);
    const lagEvents = partitions.reduce((sum, p) => sum + p.lagEvents, 0);
    const lagSecondsMax = partitions.reduce((m, p) => (p.lagSeconds > m ? p.lagSeconds : m), 0);
    return {
      cell,
      ingress: {
        acceptedPerSec: round1(this.series.ratePerSec('accepted')),
        rejectedPerSec: round1(this.series.ratePerSec('rejected')),
        acceptedTotal: g.acceptedEventsTotal,
        rejectedTotal: g.rejectedEventsTotal,
        rejectedByCode: g.rejectedByCode,
        duplicateTotal: g.duplicateEventsTotal,
        latencyMsP50: round3(g.latencyMsP50),
        latencyMsP99: round3(g.latencyMsP99),
        inflightRequests: g.inflightRequests,
        inflightEvents: g.inflightEvents,
      },
      shedding: {
        mode: g.shedding.mode,
        shadow: g.shedding.shadow,
        active: g.shedding.active,
        loadRatio: round3(g.shedding.loadRatio) ?? 0,
        reason: g.shedding.reason,
        shedTotal: g.shedding.shedEventsTotal,
        delayedTotal: g.shedding.delayedRequestsTotal,
        eventLoopDelayMs: round3(g.shedding.eventLoopDelayMs) ?? 0,
      },
      rateLimit: { mode: g.rateLimit.mode, limitedTotal: g.rateLimit.limitedEventsTotal },
      breaker: { state: g.breaker.state, failures: g.breaker.failures },
      consumers: {
        group: this.o.group,
        running: c.running,
        paused: c.paused,
        lagEvents,
        lagSecondsMax: round3(lagSecondsMax) ?? 0,
        consumedPerSec: round1(this.series.ratePerSec('consumed')),
        consumedTotal: c.consumed,
        dlqWrites: c.dlqWrites,
        partitions,
      },
      series: {
        acceptedPerSec: this.series.seriesPerSec('accepted').map(round1),
        rejectedPerSec: this.series.seriesPerSec('rejected').map(round1),
        consumedPerSec: this.series.seriesPerSec('consumed').map(round1),
        lagEvents: [...this.lagSeries],
      },
    };
  }

  /**
   * Every partition of every generation in `c`, with end − committed read now, and the last sample's lag in
   * seconds: aged by the time since the sample while the same record is the oldest uncommitted one, 0 when the
   * partition has no lag. Synchronous (no record is read), so a request sees the offsets of its own moment.
   */
  private lagNow(c: ConsumerFigures): PartitionLag[] {
    const nowMs = Date.now();
    const sampled = new Map(this.partitionLag.map((p) => [lagKey(p.generation, p.partition), p]));
    const out: PartitionLag[] = [];
    for (const at of this.partitionsOf(c)) {
      const lag = lagEventsOf(at);
      let lagSeconds = 0;
      const before = sampled.get(lagKey(at.generation, at.partition));
      if (lag.lagEvents > 0 && before !== undefined && before.lagEvents > 0) {
        const sameOldest = before.offsetCommitted === lag.offsetCommitted && before.lagSeconds > 0;
        lagSeconds = before.lagSeconds + (sameOldest ? Math.max(0, nowMs - this.partitionLagAtMs) / 1000 : 0);
      }
      out.push(partitionLag(at.partition, at.generation, { ...lag, lagSeconds: round3(lagSeconds) ?? 0 }));
    }
    return out;
  }

  /** One sample's lag: end − committed, and the age of the record at the committed offset. */
  private async readLag(nowMs: number): Promise<PartitionLag[]> {
    const out: PartitionLag[] = [];
    // Each generation's own log: a reshard during this sample (it awaits reads) cannot mix two generations up.
    for (const at of this.partitionsOf(this.consumerLatest)) {
      const lag = lagEventsOf(at);
      let lagSeconds = 0;
      if (lag.lagEvents > 0) {
        try {
          const [oldest] = await at.log.read(at.partition, lag.offsetCommitted, { recordsMax: 1 });
          if (oldest) lagSeconds = Math.max(0, (nowMs - oldest.timestampMs) / 1000);
        } catch {
          // The log may be closing (a generation retiring), or the record just left retention: this sample keeps 0 s.
        }
      }
      out.push(partitionLag(at.partition, at.generation, { ...lag, lagSeconds: round3(lagSeconds) ?? 0 }));
    }
    return out;
  }

  /** The partitions whose lag counts: every generation still consumed (file log), or the log's partitions. */
  private partitionsOf(c: ConsumerFigures): PartitionAt[] {
    const generations: ConsumedGeneration[] = c.generations ?? [
      {
        generation: -1,
        partitions: this.o.log.partitions,
        log: this.o.log,
        offsetCommitted: c.offsetCommitted,
        offsetEnd: null,
      },
    ];
    const out: PartitionAt[] = [];
    for (const g of generations) {
      const generation = c.generations === undefined ? undefined : g.generation;
      for (let p = 0; p < g.partitions; p++) {
        let state: { offsetStart: number; offsetEnd: number };
        try {
          state = g.log.state(p);
        } catch {
          continue; // a generation retired (its log closed) since the figures were read: nothing left in it
        }
        out.push({
          generation,
          log: g.log,
          partition: p,
          offsetStart: state.offsetStart,
          offsetEnd: g.offsetEnd?.[p] ?? state.offsetEnd,
          reported: g.offsetCommitted[p] ?? 0,
        });
      }
    }
    return out;
  }
}

/** One partition of a generation whose lag counts, with its offsets as read. */
interface PartitionAt {
  generation: number | undefined;
  log: Pick<Log, 'read'>;
  partition: number;
  offsetStart: number;
  /** The live end, or a sealed generation's end. */
  offsetEnd: number;
  /** The group's committed offset as reported. */
  reported: number;
}

/** end − committed, the committed offset taken within the partition's retained range. */
function lagEventsOf(at: { offsetStart: number; offsetEnd: number; reported: number }): {
  offsetEnd: number;
  offsetCommitted: number;
  lagEvents: number;
} {
  const committed = Math.max(at.offsetStart, Math.min(at.reported, at.offsetEnd));
  return { offsetEnd: at.offsetEnd, offsetCommitted: committed, lagEvents: Math.max(0, at.offsetEnd - committed) };
}

function partitionLag(
  partition: number,
  generation: number | undefined,
  figures: { offsetEnd: number; offsetCommitted: number; lagEvents: number; lagSeconds: number },
): PartitionLag {
  return generation === undefined ? { partition, ...figures } : { partition, generation, ...figures };
}

function lagKey(generation: number | undefined, partition: number): string {
  return `${generation ?? ''}:${partition}`;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function round3(x: number | null): number | null {
  return x === null ? null : Math.round(x * 1000) / 1000;
}
