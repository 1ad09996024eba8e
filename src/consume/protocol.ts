/**
 * Messages between the supervisor and a consumer worker (a worker thread or a child process; the same messages
 * travel over `postMessage` or the IPC channel). Plain objects only: errors cross as `{code, message, details}`.
 */
import type { Limits } from '../base/index.js';
import type { JetStreamLogOptions } from '../log/index.js';
import type { ConsumerExit, PartitionProgress, RetentionSkip } from './consumer.js';
import type { SinkChoice } from './sink-choice.js';

/** A log the workers open themselves (their own connection) instead of reading the writer's file log. */
export type LogSource = { engine: 'jetstream'; options: JetStreamLogOptions };

/** What a worker is started with. */
export interface WorkerInit {
  /** The log directory and partition count (the worker opens a read-only reader). */
  dir: string;
  partitions: number;
  /** Thread mode: the writer's shared durable offsets. Process mode: absent (ends arrive as messages). */
  shared?: SharedArrayBuffer;
  /** Process mode: the [offsetStart, offsetEnd] of every partition at start. */
  ranges?: [number, number][];
  /** When set, the worker opens this log instead (`dir`, `shared` and `ranges` are then unused). */
  source?: LogSource;
  group: string;
  /** The partitions this worker consumes at start (more come and go with `add` and `remove`). */
  assigned: number[];
  /** Of those, the ones to start paused. */
  paused: number[];
  handlerPath: string;
  handlerDelayMs: number;
  /** Nice value of the worker's thread (0: unchanged). */
  niceness: number;
  /** The sink each worker opens its own connection to. */
  sink: SinkChoice;
  durability: 'full' | 'normal';
  limits: Partial<Limits>;
}

/** An error as it crosses a thread or process boundary. */
export interface WireError {
  code?: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Process mode: the environment variable that carries the `WorkerInit` as JSON. */
export const INIT_ENV = 'SHOCK_CONSUMER_INIT';

export type ToWorker =
  /** Start consuming `partition`: claim a new epoch in the sink, resume at the committed offset. Answer: `added`. */
  | { t: 'add'; partition: number; paused: boolean }
  /** Finish the partition's batch in flight, write and commit it, stop. Answer: `removed`. */
  | { t: 'remove'; partition: number }
  | { t: 'pause'; partitions: number[] }
  | { t: 'resume'; partitions: number[] }
  | { t: 'range'; partition: number; offsetStart: number; offsetEnd: number }
  | { t: 'stop' };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'progress'; progress: PartitionProgress }
  | { t: 'skip'; skip: RetentionSkip }
  | { t: 'exit'; partition: number; reason: ConsumerExit['reason']; error?: WireError }
  /** The answer to `add`: claimed and consuming, or the claim failed (`error`). */
  | { t: 'added'; partition: number; error?: WireError }
  /** The answer to `remove`: the partition's consumer has stopped (its last batch written and committed). */
  | { t: 'removed'; partition: number }
  | { t: 'fatal'; error: WireError }
  | { t: 'stopped' };

/** An error as a plain object for `postMessage`. */
export function toWire(err: unknown): WireError {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; details?: unknown };
    return {
      code: typeof e.code === 'string' ? e.code : undefined,
      message: e.message,
      details: typeof e.details === 'object' && e.details !== null ? (e.details as Record<string, unknown>) : undefined,
    };
  }
  return { message: String(err) };
}
