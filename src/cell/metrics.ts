/**
 * The cell's Prometheus registry: Node's default process metrics, the gateway's own metrics (registered by the
 * gateway on this registry), and the log and consumer figures read on each scrape (never on the hot path).
 *
 * | name | type | labels |
 * | --- | --- | --- |
 * | shock_consumer_lag | gauge | group, partition [, generation] — events between the log end and the committed offset |
 * | shock_consumer_lag_seconds | gauge | group, partition [, generation] — age of the oldest unconsumed event (0 when none) |
 * | shock_consumer_offset_committed | gauge | group, partition [, generation] |
 * | shock_consumer_events_total | counter | group — events the consumers committed |
 * | shock_consumer_dlq_writes_total | counter | group — events dead-lettered |
 * | shock_consumer_paused | gauge | group — 1 while paused through the admin API |
 * | shock_consumer_restarts_total | counter | group, reason — consumer workers that ended on an error and were restarted; reason: the error's SHOCK_* code, or crash |
 * | shock_consumer_removed_before_consumed_total | counter | group, partition — records retention removed before the group consumed them (the consumer jumped to the first remaining offset) |
 * | shock_consumer_partitions_owned | gauge | group, member — partitions this process holds the lease of (group shared by leases) |
 * | shock_consumer_group_members | gauge | group — live members of the group this process sees |
 * | shock_consumer_lease_age_seconds | gauge | group, partition — since the lease's owner last renewed it |
 * | shock_consumer_rebalances_total | counter | group — times this process's owned partitions changed (acquired or given up) |
 * | shock_consumer_leases_lost_total | counter | group — leases this process lost without giving them up (expired, stalled, fenced) |
 * | shock_log_offset_end | gauge | partition |
 * | shock_log_bytes / shock_log_segments | gauge | partition |
 * | shock_log_group_commits_total | counter | partition — write + fdatasync rounds |
 * | shock_log_records_total | counter | partition — records made durable |
 * | shock_log_fsync_seconds | summary (sum, count) | partition |
 * | shock_log_fsync_seconds_max | gauge | partition — slowest fdatasync since start |
 * | shock_log_append_seconds | summary (sum, count) | partition — append call to durable answer |
 * | shock_log_group_commit_records_max | gauge | partition — records in the largest group commit |
 * | shock_log_partition_failed | gauge | partition — 1 once a write or fsync failed |
 * | shock_log_unconsumed_bytes | gauge | partition — bytes not yet consumed by every known group (retention) |
 * | shock_log_full | gauge | partition — 1 while appends are refused with SHOCK_LOG_FULL |
 * | shock_log_retention_checks_total | counter | partition — retention checks run (at open, rolls, periodically) |
 * | shock_log_journal_syncs_total | counter | — fdatasync rounds of the shared journal (file log with `log.journal`) |
 * | shock_log_journal_sync_seconds | summary (sum, count) | — their duration |
 * | shock_log_journal_entries_total | counter | — partition rounds made durable through the journal |
 * | shock_log_journal_bytes_total | counter | — bytes written to the journal |
 * | shock_log_journal_checkpoints_total | counter | — journal files retired (segments fdatasynced, file removed) |
 * | shock_log_journal_failed | gauge | — 1 once a journal write, fdatasync or checkpoint failed |
 * | shock_cell_ready | gauge | — 1 when /readyz answers 200 |
 * | shock_log_generation | gauge | — the active log generation (0 until the first reshard) |
 * | shock_log_generation_partitions | gauge | generation, state — partitions of each generation not retired |
 * | shock_log_generation_lag | gauge | group, generation — events not yet committed in that generation |
 *
 * Lag during a reshard: the three per-partition consumer series cover every generation still consumed. The active
 * generation's series keep the label set `{group, partition}` they always had; the partitions of a sealed generation
 * that still drains are reported as well, with one more label, `generation="<g>"` (their end is the sealed end), and
 * vanish once it retired. So `sum by (group) (shock_consumer_lag)` — the scaling signal — counts the old
 * generation's backlog as well as the new generation's waiting events, `max by (group) (shock_consumer_lag_seconds)`
 * is the age of the oldest event not consumed in any generation, and `shock_consumer_lag{generation=""}` (PromQL:
 * a missing label matches "") is the active generation alone. `shock_log_generation_lag{group,generation}` is the
 * same backlog summed per generation.
 *
 * The log reports sums and counts rather than buckets, so its latencies are exposed as summaries without
 * quantiles (rate(sum)/rate(count) gives the mean over any interval); the gateway's
 * `shock_append_duration_seconds` histogram gives the append latency distribution.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { JournalStats, PartitionStats } from '../log/index.js';
import type { ConsumerHealth } from './consumers.js';
import type { PartitionLag } from './stats.js';

/** One partition's log counters, as the file log reports them (the subset the metrics read). */
export type LogPartitionFigures = Pick<
  PartitionStats,
  | 'partition'
  | 'offsetEnd'
  | 'segments'
  | 'bytes'
  | 'batches'
  | 'records'
  | 'fsyncs'
  | 'fsyncMsSum'
  | 'fsyncMsMax'
  | 'appends'
  | 'appendMsSum'
  | 'batchRecordsMax'
  | 'failed'
  | 'unconsumedBytes'
  | 'full'
  | 'retentionChecks'
>;

/** What the registry reads on each scrape. */
export interface CellMetricSources {
  group: string;
  logPartitions(): LogPartitionFigures[];
  /** The file log's shared journal (null or absent: no journal — `log.journal: false`, or another engine). */
  logJournal?(): JournalStats | null;
  lag(): PartitionLag[];
  consumerTotals(): { consumed: number; dlqWrites: number; paused: boolean };
  /** Restarts by reason and retention skips per partition since start (absent: none reported). */
  consumerHealth?(): ConsumerHealth;
  ready(): boolean;
  /** The log generations not retired (file log), or undefined (no generations: one log for life). */
  generations?(): GenerationFigures | undefined;
}

/** The log generations a cell reports (see src/cell/generation-consumers.ts). */
export interface GenerationFigures {
  generation: number;
  generations: { gen: number; partitions: number; state: string; lagEvents: number }[];
}

type Labels = Record<string, string | number>;
interface Sample {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** A metric whose values are computed at scrape time (prom-client's `registerMetric` accepts any `get()`). */
function scrapeMetric(
  registry: Registry,
  name: string,
  help: string,
  type: 'gauge' | 'counter' | 'summary',
  values: () => Sample[],
): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: () => ({ name, help, type, values: values(), aggregator: 'sum' }),
    reset: () => undefined,
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}

/** Creates the registry with default process metrics and the cell's scrape-time metrics. */
export function createCellRegistry(sources: CellMetricSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const group = sources.group;
  const perLag = (pick: (p: PartitionLag) => number) => () => {
    const active = sources.generations?.()?.generation;
    return sources.lag().map((p) => ({ labels: lagLabels(group, p, active), value: pick(p) }));
  };
  scrapeMetric(
    registry,
    'shock_consumer_lag',
    'Consumer lag in events: log end offset minus committed offset (a draining log generation: label generation)',
    'gauge',
    perLag((p) => p.lagEvents),
  );
  scrapeMetric(
    registry,
    'shock_consumer_lag_seconds',
    'Consumer lag in seconds: age of the oldest event not yet committed, 0 when caught up (a draining log generation: label generation)',
    'gauge',
    perLag((p) => p.lagSeconds),
  );
  scrapeMetric(
    registry,
    'shock_consumer_offset_committed',
    'Next offset the consumer group will read',
    'gauge',
    perLag((p) => p.offsetCommitted),
  );
  const totals = (pick: (t: ReturnType<CellMetricSources['consumerTotals']>) => number) => () => [
    { labels: { group }, value: pick(sources.consumerTotals()) },
  ];
  scrapeMetric(
    registry,
    'shock_consumer_events_total',
    'Events committed by the consumers since start',
    'counter',
    totals((t) => t.consumed),
  );
  scrapeMetric(
    registry,
    'shock_consumer_dlq_writes_total',
    'Events written to the dead-letter table since start',
    'counter',
    totals((t) => t.dlqWrites),
  );
  scrapeMetric(
    registry,
    'shock_consumer_paused',
    '1 while consumers are paused through the admin API',
    'gauge',
    totals((t) => (t.paused ? 1 : 0)),
  );
  registerConsumerHealthMetrics(registry, sources);
  registerMembershipMetrics(registry, sources);
  registerLogMetrics(registry, sources);
  registerJournalMetrics(registry, sources);
  registerGenerationMetrics(registry, sources);
  scrapeMetric(registry, 'shock_cell_ready', '1 when the cell is ready (/readyz answers 200)', 'gauge', () => [
    { labels: {}, value: sources.ready() ? 1 : 0 },
  ]);
  return registry;
}

/**
 * `{group, partition}` for the active generation (and for engines without generations), plus `generation` for a
 * partition of an older generation still draining: two generations' partition 3 are two series.
 */
function lagLabels(group: string, p: PartitionLag, active: number | undefined): Labels {
  if (p.generation === undefined || active === undefined || p.generation === active) {
    return { group, partition: p.partition };
  }
  return { group, partition: p.partition, generation: p.generation };
}

/**
 * Worker restarts and retention skips. `reason` is a `SHOCK_*` error code (a fixed set) or `crash`, and `partition`
 * a partition number (summed over log generations), so both label sets stay bounded. A reason's series appears with
 * its first count, but `shock_consumer_restarts_total{reason="crash"}` is always there (0 until a crash) and so is
 * every partition's skip series (0 until a skip), so `increase(…[5m]) > 0` alerts work from the start.
 */
function registerConsumerHealthMetrics(registry: Registry, sources: CellMetricSources): void {
  const group = sources.group;
  scrapeMetric(
    registry,
    'shock_consumer_restarts_total',
    'Consumer workers that ended on an error and were restarted, by reason (the error code, or crash)',
    'counter',
    () => {
      const byReason = { crash: 0, ...sources.consumerHealth?.().restartsByReason };
      return Object.entries(byReason)
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([reason, value]) => ({ labels: { group, reason }, value }));
    },
  );
  scrapeMetric(
    registry,
    'shock_consumer_removed_before_consumed_total',
    'Records retention removed before the consumer group read them (the consumer resumed at the first remaining offset)',
    'counter',
    () => {
      // Every partition of the log from the start (0 until a skip), plus any other partition number that skipped.
      const counts = new Map<number, number>(sources.logPartitions().map((p) => [p.partition, 0]));
      for (const [p, n] of Object.entries(sources.consumerHealth?.().removedBeforeConsumed ?? {})) {
        counts.set(Number(p), n);
      }
      return [...counts.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([partition, value]) => ({ labels: { group, partition }, value }));
    },
  );
}

/**
 * Ownership in a group shared across processes by leases (JetStream). No series at all without leases (the file
 * log: this process owns every partition). `sum by (group) (shock_consumer_partitions_owned)` over the group's
 * processes is the partition count once the group has settled.
 */
function registerMembershipMetrics(registry: Registry, sources: CellMetricSources): void {
  const group = sources.group;
  const membership = () => sources.consumerHealth?.().membership ?? null;
  const one =
    (pick: (m: NonNullable<ReturnType<typeof membership>>) => number, labels: () => Labels = () => ({})) =>
    () => {
      const m = membership();
      return m ? [{ labels: { group, ...labels() }, value: pick(m) }] : [];
    };
  scrapeMetric(
    registry,
    'shock_consumer_partitions_owned',
    'Partitions whose lease this process holds (a consumer group shared across processes)',
    'gauge',
    () => {
      const m = membership();
      return m ? [{ labels: { group, member: m.memberId }, value: m.owned.length }] : [];
    },
  );
  scrapeMetric(
    registry,
    'shock_consumer_group_members',
    'Live members of the consumer group',
    'gauge',
    one((m) => m.members.length),
  );
  scrapeMetric(
    registry,
    'shock_consumer_lease_age_seconds',
    "Seconds since the partition's lease was last renewed by its owner",
    'gauge',
    () =>
      (membership()?.leases ?? []).map((l) => ({ labels: { group, partition: l.partition }, value: l.ageMs / 1000 })),
  );
  scrapeMetric(
    registry,
    'shock_consumer_rebalances_total',
    "Times this process's owned partitions changed (a lease acquired or given up)",
    'counter',
    one((m) => m.rebalances),
  );
  scrapeMetric(
    registry,
    'shock_consumer_leases_lost_total',
    'Leases this process lost without giving them up (expired, stalled, fenced)',
    'counter',
    one((m) => m.leasesLost),
  );
}

function registerLogMetrics(registry: Registry, sources: CellMetricSources): void {
  const per = (pick: (p: LogPartitionFigures) => number) => () =>
    sources.logPartitions().map((p) => ({ labels: { partition: p.partition }, value: pick(p) }));
  scrapeMetric(
    registry,
    'shock_log_offset_end',
    'One past the last durable record',
    'gauge',
    per((p) => p.offsetEnd),
  );
  scrapeMetric(
    registry,
    'shock_log_bytes',
    'Bytes in the partition segments',
    'gauge',
    per((p) => p.bytes),
  );
  scrapeMetric(
    registry,
    'shock_log_segments',
    'Segment files of the partition',
    'gauge',
    per((p) => p.segments),
  );
  scrapeMetric(
    registry,
    'shock_log_group_commits_total',
    'Group commits (write + fdatasync rounds)',
    'counter',
    per((p) => p.batches),
  );
  scrapeMetric(
    registry,
    'shock_log_records_total',
    'Records made durable',
    'counter',
    per((p) => p.records),
  );
  scrapeMetric(registry, 'shock_log_fsync_seconds', 'fdatasync duration (sum and count)', 'summary', () =>
    summary(sources.logPartitions(), 'shock_log_fsync_seconds', (p) => [p.fsyncMsSum / 1000, p.fsyncs]),
  );
  scrapeMetric(
    registry,
    'shock_log_fsync_seconds_max',
    'Slowest fdatasync since start',
    'gauge',
    per((p) => p.fsyncMsMax / 1000),
  );
  scrapeMetric(registry, 'shock_log_append_seconds', 'Append call to durable answer (sum and count)', 'summary', () =>
    summary(sources.logPartitions(), 'shock_log_append_seconds', (p) => [p.appendMsSum / 1000, p.appends]),
  );
  scrapeMetric(
    registry,
    'shock_log_group_commit_records_max',
    'Records in the largest group commit',
    'gauge',
    per((p) => p.batchRecordsMax),
  );
  scrapeMetric(
    registry,
    'shock_log_partition_failed',
    '1 once a write or fsync of the partition failed',
    'gauge',
    per((p) => (p.failed ? 1 : 0)),
  );
  scrapeMetric(
    registry,
    'shock_log_unconsumed_bytes',
    'Bytes of records not yet consumed by every known consumer group (interest retention keeps them all)',
    'gauge',
    per((p) => p.unconsumedBytes),
  );
  scrapeMetric(
    registry,
    'shock_log_full',
    '1 while the partition refuses appends with SHOCK_LOG_FULL (unconsumed records at maxBytes, or the disk floor)',
    'gauge',
    per((p) => (p.full ? 1 : 0)),
  );
  scrapeMetric(
    registry,
    'shock_log_retention_checks_total',
    'Retention checks run on the partition (at open, at each roll, periodically)',
    'counter',
    per((p) => p.retentionChecks),
  );
}

/** The shared journal's counters (docs/adr/004-shared-journal.md); no samples when the log has none. */
function registerJournalMetrics(registry: Registry, sources: CellMetricSources): void {
  const one = (pick: (j: JournalStats) => number) => (): Sample[] => {
    const j = sources.logJournal?.();
    return j ? [{ labels: {}, value: pick(j) }] : [];
  };
  scrapeMetric(
    registry,
    'shock_log_journal_syncs_total',
    'fdatasync rounds of the shared journal',
    'counter',
    one((j) => j.syncs),
  );
  scrapeMetric(
    registry,
    'shock_log_journal_sync_seconds',
    'Journal fdatasync duration (sum and count)',
    'summary',
    () => {
      const j = sources.logJournal?.();
      if (!j) return [];
      return [
        { metricName: 'shock_log_journal_sync_seconds_sum', labels: {}, value: j.syncMsSum / 1000 },
        { metricName: 'shock_log_journal_sync_seconds_count', labels: {}, value: j.syncs },
      ];
    },
  );
  scrapeMetric(
    registry,
    'shock_log_journal_entries_total',
    'Partition rounds made durable through the journal',
    'counter',
    one((j) => j.entries),
  );
  scrapeMetric(
    registry,
    'shock_log_journal_bytes_total',
    'Bytes written to the journal',
    'counter',
    one((j) => j.bytes),
  );
  scrapeMetric(
    registry,
    'shock_log_journal_checkpoints_total',
    'Journal files retired (segments fdatasynced, file removed)',
    'counter',
    one((j) => j.checkpoints),
  );
  scrapeMetric(
    registry,
    'shock_log_journal_failed',
    '1 once a journal write, fdatasync or checkpoint failed (until the log is reopened)',
    'gauge',
    one((j) => (j.failed ? 1 : 0)),
  );
}

function registerGenerationMetrics(registry: Registry, sources: CellMetricSources): void {
  const figures = () => sources.generations?.();
  scrapeMetric(
    registry,
    'shock_log_generation',
    'The active log generation (0 until the first reshard)',
    'gauge',
    () => [{ labels: {}, value: figures()?.generation ?? 0 }],
  );
  scrapeMetric(
    registry,
    'shock_log_generation_partitions',
    'Partitions of each log generation that is not retired',
    'gauge',
    () =>
      (figures()?.generations ?? []).map((g) => ({
        labels: { generation: g.gen, state: g.state },
        value: g.partitions,
      })),
  );
  scrapeMetric(
    registry,
    'shock_log_generation_lag',
    'Events of a log generation not yet committed by the group (a sealed one drains to 0, then retires)',
    'gauge',
    () =>
      (figures()?.generations ?? []).map((g) => ({
        labels: { group: sources.group, generation: g.gen },
        value: g.lagEvents,
      })),
  );
}

function summary(
  parts: LogPartitionFigures[],
  name: string,
  pick: (p: LogPartitionFigures) => [number, number],
): Sample[] {
  const out: Sample[] = [];
  for (const p of parts) {
    const [sum, count] = pick(p);
    out.push({ metricName: `${name}_sum`, labels: { partition: p.partition }, value: sum });
    out.push({ metricName: `${name}_count`, labels: { partition: p.partition }, value: count });
  }
  return out;
}
