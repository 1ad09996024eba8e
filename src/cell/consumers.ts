/**
 * The cell's consumers: the consume area's supervisor (one consumer per partition, spread over worker threads,
 * writing to the configured sink, SQLite or PostgreSQL) started from the cell configuration, seen through the few figures the cell needs —
 * committed offsets for lag, totals for metrics, running/paused for readiness and the dashboard.
 */
import { startConsumers, type SinkChoice } from '../consume/index.js';
import type { FileLog, JetStreamLog } from '../log/index.js';
import type { CellConfig } from './config.js';
import type { ConsumerFigures } from './sampler.js';

/** The consumers of a running cell. */
export interface CellConsumers {
  figures(): ConsumerFigures;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Finishes the batches in flight, commits their offsets, stops the workers. */
  stop(): Promise<void>;
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
export async function startCellConsumers(log: FileLog | JetStreamLog, config: CellConfig): Promise<CellConsumers> {
  const c = config.consumers;
  const { engine, jetstream } = config.log;
  const supervisor = await startConsumers({
    log,
    source:
      engine === 'jetstream'
        ? { engine, options: { ...jetstream, servers: [...jetstream.servers], partitions: config.log.partitions } }
        : undefined,
    group: c.group,
    partitions: config.log.partitions,
    workers: c.workers,
    // No handler configured: the consume area's built-in example handler.
    handlerPath: c.handler === '' ? undefined : c.handler,
    sink: cellSinkChoice(config),
    handlerDelayMs: c.handlerDelayMs,
    // The consume limits (batch size, retries, backoff) come from the same `limits` section as the gateway's.
    limits: config.limits,
  });
  return {
    figures(): ConsumerFigures {
      const s = supervisor.snapshot();
      const offsetCommitted: number[] = [];
      for (const p of s.partitions) offsetCommitted[p.partition] = p.offsetCommitted;
      return {
        running: s.state === 'running',
        paused: s.paused,
        offsetCommitted,
        consumed: s.totals.eventsConsumed,
        dlqWrites: s.totals.deadLetters,
      };
    },
    async pause() {
      supervisor.pause();
    },
    async resume() {
      supervisor.resume();
    },
    stop: () => supervisor.stop(),
  };
}
