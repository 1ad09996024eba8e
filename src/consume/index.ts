/**
 * The consumers' public face: partition-affine, idempotent consumers that move events from the log into a sink.
 *
 * - `startConsumers` — the supervisor: one consumer per partition spread over worker threads (or child
 *   processes), restarts, fencing, pause/resume, graceful stop, and `stats()` with lag per partition.
 * - `PartitionConsumer` — one partition's loop, for running in-process.
 * - `Sink`, `openSqliteSink` and `openPostgresSink` (or `openSink` from a `SinkChoice`) — the idempotent, fenced
 *   sink; `loadHandler` and the `Handler` signature.
 */
export * from './sink.js';
export * from './handler.js';
export { openSqliteSink, SqliteSink, type SqliteSinkOptions, type StoredDeadLetter } from './sqlite/sqlite-sink.js';
export {
  openPostgresSink,
  PostgresSink,
  postgresSinkSchemaDefault,
  postgresSinkPoolMaxDefault,
  type PostgresSinkOptions,
  type PostgresStoredDeadLetter,
} from './postgres/postgres-sink.js';
export { openSink, describeSink, type SinkChoice } from './sink-choice.js';
export { adoptTenants, type TenantAdoptionResult } from './adopt-tenants.js';
export { runBatch, backoffMs, type RetryPolicy, type BatchOutcome, type EventOutcome } from './batch.js';
export {
  PartitionConsumer,
  type PartitionConsumerOptions,
  type PartitionProgress,
  type ConsumerState,
  type ConsumerExit,
  type SinkCommittedHook,
  type RetentionSkip,
} from './consumer.js';
export {
  startConsumers,
  defaultHandlerPath,
  type StartConsumersOptions,
  type ConsumerSupervisor,
  type SupervisorEvent,
  type SupervisorEventKind,
  restartReason,
} from './supervisor.js';
export type { ConsumerStats, ConsumerError, PartitionConsumerStats, WorkerStats } from './stats.js';
export type { LogSource } from './protocol.js';
