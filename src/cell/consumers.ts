/**
 * The cell's consumers: the consume area's supervisor (one consumer per partition, spread over worker threads,
 * writing to the configured sink, SQLite or PostgreSQL) started from the cell configuration, seen through the few figures the cell needs —
 * committed offsets for lag, totals for metrics, running/paused for readiness and the dashboard.
 *
 * The log engine decides how the partitions are owned: the file log belongs to this one process, whose consumers
 * take every partition; on JetStream any number of processes may consume the same log, so the consumers join the
 * group through leases (docs/consume.md, "A group across processes") and consume only the partitions they hold.
 */
import {
  startConsumers,
  type ConsumerError,
  type ConsumerStats,
  type SinkChoice,
  type SupervisorEvent,
} from '../consume/index.js';
import {
  joinJetStreamGroup,
  type FileLog,
  type JetStreamLog,
  type JetStreamLogOptions,
  type Log,
  type MembershipStats,
} from '../log/index.js';
import { shockError } from '../base/index.js';
import type { CellConfig } from './config.js';
import type { ConsumerFigures } from './sampler.js';

/**
 * Something the cell's consumers report for the operator: a worker that ended on an error and is restarted, a jump
 * over records retention removed, a fenced partition, a generation retired. `shock serve` prints each as one line
 * on stderr (a JSON line with `--json`).
 */
export interface CellEvent {
  level: 'info' | 'warn' | 'error';
  /** What happened (`worker_restart`, `retention_skip`, `fenced`, `generation_retired`, …; see SupervisorEvent). */
  kind: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Receives the cell's events (the serve command prints them). */
export type CellEventSink = (event: CellEvent) => void;

/**
 * Failures and skips of the consumers since the cell started (summed over log generations): for `/v1/stats`, the
 * dashboard and `/metrics`.
 */
export interface ConsumerHealth {
  /** Worker ends the supervisor restarted, by reason: the ending error's `SHOCK_*` code, or `crash`. */
  restartsByReason: Record<string, number>;
  /** The error that last ended a worker, or null. */
  lastError: ConsumerError | null;
  /** Records retention removed before the group consumed them, per partition number (only partitions with any). */
  removedBeforeConsumed: Record<number, number>;
  /** Who owns what in a group shared across processes (JetStream), or null (this process owns every partition). */
  membership: MembershipStats | null;
}

/** The consumers of a running cell. */
export interface CellConsumers {
  figures(): ConsumerFigures;
  health(): ConsumerHealth;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Finishes the batches in flight, commits their offsets, stops the workers. */
  stop(): Promise<void>;
}

/**
 * The consumers of a process of role `gateway`: none run here (other processes of the cell run them). The figures
 * read the group's committed offsets from the shared log, so /v1/stats and /metrics still show the cell's lag.
 */
export function gatewayOnlyConsumers(log: Log, group: string): CellConsumers {
  const none = () =>
    Promise.reject(
      shockError('SHOCK_CELL_ADMIN_INVALID', 'this process runs role gateway: its cell runs the consumers elsewhere'),
    );
  return {
    figures: () => ({
      running: true,
      paused: false,
      offsetCommitted: Array.from({ length: log.partitions }, (_, p) => log.offsets.get(group, p)),
      consumed: 0,
      dlqWrites: 0,
    }),
    health: () => ({ restartsByReason: {}, lastError: null, removedBeforeConsumed: {}, membership: null }),
    pause: none,
    resume: none,
    stop: () => Promise.resolve(),
  };
}

/** The sink the cell's consumers write to, from `sink.engine` (SQLite: `consumers.sinkPath`). */
export function cellSinkChoice(config: CellConfig): SinkChoice {
  const { engine, postgres } = config.sink;
  if (engine === 'postgres') {
    return { engine: 'postgres', url: postgres.url, schema: postgres.schema, poolMax: postgres.poolMax };
  }
  return { engine: 'sqlite', path: config.consumers.sinkPath };
}

/** Starts the consumers of `config` on `log` (with the JetStream engine, each worker connects on its own). */
export async function startCellConsumers(
  log: FileLog | JetStreamLog,
  config: CellConfig,
  onEvent: CellEventSink = () => undefined,
): Promise<CellConsumers> {
  const c = config.consumers;
  const { engine, jetstream } = config.log;
  const logOptions: JetStreamLogOptions = {
    ...jetstream,
    servers: [...jetstream.servers],
    partitions: config.log.partitions,
    // The same retention as the gateway's log (a worker's open sets the stream limits too).
    retentionPolicy: config.log.retention.policy,
    retentionGroups: [c.group],
  };
  const supervisor = await startConsumers({
    log,
    source: engine === 'jetstream' ? { engine, options: logOptions } : undefined,
    // JetStream: one group across every process consuming this log, by leases. The file log: this process alone.
    membership:
      engine === 'jetstream'
        ? {
            join: (callbacks) =>
              joinJetStreamGroup(
                logOptions,
                {
                  group: c.group,
                  memberId: c.memberId === '' ? undefined : c.memberId,
                  leaseMs: c.leaseMs,
                  soleMemberReason:
                    config.sink.engine === 'sqlite'
                      ? `another process consumes group "${c.group}" of this log: an SQLite sink belongs to one ` +
                        'process, so the results would be split across machines — set sink.engine: postgres for a ' +
                        'group of several processes, or stop the other process'
                      : undefined,
                },
                callbacks,
              ),
          }
        : undefined,
    group: c.group,
    partitions: config.log.partitions,
    workers: c.workers,
    // No handler configured: the consume area's built-in example handler.
    handlerPath: c.handler === '' ? undefined : c.handler,
    sink: cellSinkChoice(config),
    handlerDelayMs: c.handlerDelayMs,
    niceness: c.niceness,
    // The consume limits (batch size, retries, backoff) come from the same `limits` section as the gateway's.
    limits: config.limits,
    onEvent: (e: SupervisorEvent) => onEvent(e),
  });
  return {
    figures(): ConsumerFigures {
      const s = supervisor.snapshot();
      // The group's committed offsets of every partition, also those other processes of the group consume.
      const offsetCommitted: number[] = [];
      for (let p = 0; p < log.partitions; p++) {
        offsetCommitted[p] = Math.min(log.offsets.get(c.group, p), log.state(p).offsetEnd);
      }
      return {
        running: s.state === 'running',
        paused: s.paused,
        offsetCommitted,
        consumed: s.totals.eventsConsumed,
        dlqWrites: s.totals.deadLetters,
      };
    },
    health: () => healthOf(supervisor.snapshot()),
    async pause() {
      supervisor.pause();
    },
    async resume() {
      supervisor.resume();
    },
    stop: () => supervisor.stop(),
  };
}

/** The health figures of one supervisor's snapshot. */
export function healthOf(s: ConsumerStats): ConsumerHealth {
  const removedBeforeConsumed: Record<number, number> = {};
  for (const p of s.partitions) {
    if (p.removedBeforeConsumed > 0) removedBeforeConsumed[p.partition] = p.removedBeforeConsumed;
  }
  return {
    restartsByReason: { ...s.totals.restartsByReason },
    lastError: s.lastError,
    removedBeforeConsumed,
    membership: s.membership,
  };
}

/** `a` plus `b`, for health carried over from a generation's supervisor that has stopped. */
export function addHealth(a: ConsumerHealth, b: ConsumerHealth): ConsumerHealth {
  const restartsByReason = { ...a.restartsByReason };
  for (const [k, n] of Object.entries(b.restartsByReason)) restartsByReason[k] = (restartsByReason[k] ?? 0) + n;
  const removedBeforeConsumed = { ...a.removedBeforeConsumed };
  for (const [p, n] of Object.entries(b.removedBeforeConsumed)) {
    removedBeforeConsumed[Number(p)] = (removedBeforeConsumed[Number(p)] ?? 0) + n;
  }
  const lastError =
    a.lastError === null
      ? b.lastError
      : b.lastError === null || a.lastError.atMs >= b.lastError.atMs
        ? a.lastError
        : b.lastError;
  return { restartsByReason, lastError, removedBeforeConsumed, membership: a.membership ?? b.membership };
}

/** No restarts, no skips. */
export function emptyHealth(): ConsumerHealth {
  return { restartsByReason: {}, lastError: null, removedBeforeConsumed: {}, membership: null };
}
