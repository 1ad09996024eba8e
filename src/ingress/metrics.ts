/**
 * The gateway's Prometheus metrics, registered on the registry the caller gives (prom-client conventions;
 * CONVENTIONS.md §9 component-style counters). The metrics touched on every request are `CounterVec`/`HistogramVec`
 * (src/base/metric-vec.ts): the hot path adds to a cell it looked up once per label set, and the cells are read
 * only when /metrics is scraped. The rest are ordinary prom-client metrics.
 *
 * | name | type | labels |
 * | --- | --- | --- |
 * | shock_http_requests_total | counter | route, code |
 * | shock_http_request_duration_seconds | histogram | route |
 * | shock_received_events_total | counter | tenant |
 * | shock_accepted_events_total | counter | tenant, partition |
 * | shock_duplicate_events_total | counter | tenant |
 * | shock_discarded_events_total | counter | reason (the error code without `SHOCK_INGRESS_`, lower case) |
 * | shock_errors_total | counter | error_type (the error code) |
 * | shock_rate_limited_events_total | counter | tenant, mode (enforce, shadow) |
 * | shock_shed_decisions_total | counter | decision (shed, delay, shadow), reason, priority |
 * | shock_append_duration_seconds | histogram | — |
 * | shock_append_records | histogram | — (records per append call) |
 * | shock_inflight_events | gauge | — |
 * | shock_event_loop_delay_seconds | gauge | — (mean of the last 1 s window) |
 * | shock_breaker_state | gauge | — (0 closed, 1 half-open, 2 open) |
 * | shock_breaker_transitions_total | counter | to |
 * | shock_batches_prepared_total | counter | thread (worker: a batch worker; gateway: the gateway's own thread) |
 * | shock_ingress_log_full_total | counter | — (events refused with 503 SHOCK_LOG_FULL: the log's unconsumed records at its limit) |
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { CounterVec, HistogramVec, type CounterCell, type ErrorCode, type HistogramCell } from '../base/index.js';
import type { BreakerState } from './breaker.js';

const latencyBuckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Breaker state as a gauge value. */
export const breakerStateValue: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** The metric handles of one gateway. */
export class GatewayMetrics {
  readonly requests: CounterVec;
  readonly requestDuration: HistogramVec;
  readonly received: CounterVec;
  readonly accepted: CounterVec;
  readonly duplicates: Counter<'tenant'>;
  readonly batchesPrepared: Counter<'thread'>;
  readonly discarded: Counter<'reason'>;
  readonly errors: Counter<'error_type'>;
  readonly rateLimited: Counter<'tenant' | 'mode'>;
  readonly shedDecisions: Counter<'decision' | 'reason' | 'priority'>;
  readonly appendDuration: HistogramVec;
  readonly appendRecords: HistogramVec;
  /** The unlabelled cells of the two append histograms. */
  readonly appendDurationCell: HistogramCell;
  readonly appendRecordsCell: HistogramCell;
  readonly inflight: Gauge;
  readonly eventLoopDelay: Gauge;
  readonly breakerState: Gauge;
  readonly breakerTransitions: Counter<'to'>;
  /** Events refused because the log was full (SHOCK_LOG_FULL: its unconsumed records at the limit). */
  readonly logFull: Counter;
  /** Cells by tenant, then partition (accepted) or by tenant (received); by route and status (requests). */
  private readonly acceptedCells = new Map<string, CounterCell[]>();
  private readonly receivedCells = new Map<string, CounterCell>();
  private readonly requestCells = new Map<string, CounterCell[]>();
  private readonly durationCells = new Map<string, HistogramCell>();

  constructor(
    readonly registry: Registry,
    sample: { inflight: () => number; eventLoopDelayMs: () => number; breaker: () => BreakerState },
  ) {
    const registers = [registry];
    this.requests = new CounterVec(
      'shock_http_requests_total',
      'HTTP requests answered by the ingress gateway, by route and status code',
      ['route', 'code'],
    );
    this.requestDuration = new HistogramVec(
      'shock_http_request_duration_seconds',
      'Ingress request duration from the first byte handled to the response, by route',
      ['route'],
      latencyBuckets,
    );
    this.received = new CounterVec(
      'shock_received_events_total',
      'Events received by the ingress (parsed records, valid or not), by tenant',
      ['tenant'],
    );
    this.accepted = new CounterVec(
      'shock_accepted_events_total',
      'Events durably appended to the log (answered 202), by tenant and partition',
      ['tenant', 'partition'],
    );
    this.duplicates = new Counter({
      name: 'shock_duplicate_events_total',
      help: 'Events answered duplicate:true from the dedupe window (not appended again), by tenant',
      labelNames: ['tenant'],
      registers,
    });
    this.batchesPrepared = new Counter({
      name: 'shock_batches_prepared_total',
      help: 'Batch bodies split, parsed, validated and encoded, by thread (worker: a batch worker; gateway: inline)',
      labelNames: ['thread'],
      registers,
    });
    this.discarded = new Counter({
      name: 'shock_discarded_events_total',
      help: 'Events not appended, by reason (rate_limited, shed, storage_unavailable, invalid_event, ...)',
      labelNames: ['reason'],
      registers,
    });
    this.errors = new Counter({
      name: 'shock_errors_total',
      help: 'Error answers (whole requests and batch records) by error code',
      labelNames: ['error_type'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'shock_rate_limited_events_total',
      help: 'Events over their tenant rate (mode=enforce: answered 429; mode=shadow: only counted)',
      labelNames: ['tenant', 'mode'],
      registers,
    });
    this.shedDecisions = new Counter({
      name: 'shock_shed_decisions_total',
      help: 'Overload decisions: decision=shed (503), delay (graduated delay), shadow (observe only); by reason',
      labelNames: ['decision', 'reason', 'priority'],
      registers,
    });
    this.appendDuration = new HistogramVec(
      'shock_append_duration_seconds',
      'Log append latency as the gateway sees it (until durable)',
      [],
      latencyBuckets,
    );
    this.appendRecords = new HistogramVec(
      'shock_append_records',
      'Records per append call',
      [],
      [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    );
    this.appendDurationCell = this.appendDuration.cell();
    this.appendRecordsCell = this.appendRecords.cell();
    for (const vec of [this.requests, this.requestDuration, this.received, this.accepted]) {
      registry.registerMetric(vec as never);
    }
    registry.registerMetric(this.appendDuration as never);
    registry.registerMetric(this.appendRecords as never);
    this.inflight = new Gauge({
      name: 'shock_inflight_events',
      help: 'Events awaiting their durable append',
      registers,
      collect() {
        this.set(sample.inflight());
      },
    });
    this.eventLoopDelay = new Gauge({
      name: 'shock_event_loop_delay_seconds',
      help: 'Event-loop delay, mean of the last 1 s window',
      registers,
      collect() {
        this.set(sample.eventLoopDelayMs() / 1000);
      },
    });
    this.breakerState = new Gauge({
      name: 'shock_breaker_state',
      help: 'Circuit breaker around the log append: 0 closed, 1 half-open, 2 open',
      registers,
      collect() {
        this.set(breakerStateValue[sample.breaker()]);
      },
    });
    this.breakerTransitions = new Counter({
      name: 'shock_breaker_transitions_total',
      help: 'Circuit breaker state changes, by the state entered',
      labelNames: ['to'],
      registers,
    });
    this.logFull = new Counter({
      name: 'shock_ingress_log_full_total',
      help: 'Events refused with 503 SHOCK_LOG_FULL: the log held as many unconsumed records as its retention allows',
      registers,
    });
  }

  /** Counts events accepted for a tenant on a partition. */
  countAccepted(tenant: string, partition: number, count: number): void {
    let cells = this.acceptedCells.get(tenant);
    if (cells === undefined) {
      cells = [];
      this.acceptedCells.set(tenant, cells);
    }
    const cell = cells[partition] ?? (cells[partition] = this.accepted.cell(tenant, String(partition)));
    cell.value += count;
  }

  /** Records one append call: its duration until durable and its record count. */
  observeAppend(seconds: number, records: number): void {
    this.appendDuration.observe(this.appendDurationCell, seconds);
    this.appendRecords.observe(this.appendRecordsCell, records);
  }

  /** Counts one answered request and its duration. */
  countRequest(route: string, status: number, seconds: number): void {
    let byStatus = this.requestCells.get(route);
    if (byStatus === undefined) {
      byStatus = [];
      this.requestCells.set(route, byStatus);
    }
    const cell = byStatus[status] ?? (byStatus[status] = this.requests.cell(route, String(status)));
    cell.value += 1;
    let duration = this.durationCells.get(route);
    if (duration === undefined) {
      duration = this.requestDuration.cell(route);
      this.durationCells.set(route, duration);
    }
    this.requestDuration.observe(duration, seconds);
  }

  /** Counts events received for a tenant. */
  countReceived(tenant: string, count: number): void {
    let cell = this.receivedCells.get(tenant);
    if (cell === undefined) {
      cell = this.received.cell(tenant);
      this.receivedCells.set(tenant, cell);
    }
    cell.value += count;
  }

  /** Counts events discarded with an error code. */
  countDiscarded(code: ErrorCode, count: number): void {
    this.discarded.labels(discardReason(code)).inc(count);
  }
}

/** `SHOCK_INGRESS_RATE_LIMITED` → `rate_limited`; other areas keep their full code in lower case. */
export function discardReason(code: ErrorCode): string {
  return code.startsWith('SHOCK_INGRESS_') ? code.slice(14).toLowerCase() : code.toLowerCase();
}
