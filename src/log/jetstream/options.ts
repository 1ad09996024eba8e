/**
 * Options of the NATS JetStream log, their defaults and their validation (every problem reported at once).
 */
import { limits, shockError } from '../../base/index.js';

export interface JetStreamLogOptions {
  /** NATS server URLs, e.g. `nats://127.0.0.1:4222` (several: any of one cluster). */
  servers: string | string[];
  /** Number of partitions, fixed for the life of the log (stored in the offsets bucket and checked on open). */
  partitions: number;
  /** Streams are `<streamPrefix>_<p>` with subject `<streamPrefix>.<p>`; offsets live in `<streamPrefix>_offsets`. */
  streamPrefix?: string;
  /** Replicas of each stream and of the offsets bucket (1, 3 or 5 in a cluster). */
  replicas?: number;
  /** Longest wait for a PubAck or any JetStream API answer; past it the call rejects with SHOCK_LOG_IO. */
  requestTimeoutMs?: number;
  /** Longest wait for the first connection at open. */
  connectTimeoutMs?: number;
  /** Largest record (key + value + framing, as the file log counts it); the server's max_payload also applies. */
  recordBytesMax?: number;
  /** Connection name shown by the server's monitoring. */
  connectionName?: string;
}

export interface JetStreamLogConfig {
  readonly servers: string[];
  readonly partitions: number;
  readonly streamPrefix: string;
  readonly replicas: number;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly recordBytesMax: number;
  readonly connectionName: string;
}

export const jetStreamLogDefaults = {
  streamPrefix: 'shock',
  replicas: 1,
  requestTimeoutMs: 5000,
  connectTimeoutMs: 5000,
  connectionName: 'shockabsorber-log',
} as const;

/** Stream names may not hold `.`, `*`, `>`, spaces or path separators; subject tokens may not hold the first four. */
const PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Partitions above this make the per-partition streams a poor fit (one stream each); use fewer, bigger ones. */
const PARTITIONS_MAX = 1024;

/** Validates `options` and fills the defaults; SHOCK_CONFIG_INVALID lists every problem. */
export function resolveJetStreamOptions(options: JetStreamLogOptions): JetStreamLogConfig {
  const o = {
    ...jetStreamLogDefaults,
    recordBytesMax: limits.recordBytesMax,
    ...stripUndefined(options),
    partitions: options.partitions,
  };
  const servers = typeof o.servers === 'string' ? [o.servers] : Array.isArray(o.servers) ? o.servers : [];
  const problems: string[] = [];
  if (servers.length === 0 || servers.some((s) => typeof s !== 'string' || s.length === 0)) {
    problems.push('servers must be one or more NATS URLs, e.g. "nats://127.0.0.1:4222"');
  }
  if (!Number.isInteger(o.partitions) || o.partitions < 1 || o.partitions > PARTITIONS_MAX) {
    problems.push(`partitions must be a whole number in [1, ${PARTITIONS_MAX}], got ${o.partitions}`);
  }
  if (typeof o.streamPrefix !== 'string' || !PREFIX_PATTERN.test(o.streamPrefix)) {
    problems.push(`streamPrefix must be 1 to 64 of [A-Za-z0-9_-], got ${JSON.stringify(o.streamPrefix)}`);
  }
  if (![1, 2, 3, 4, 5].includes(o.replicas)) problems.push(`replicas must be 1 to 5, got ${o.replicas}`);
  for (const name of ['requestTimeoutMs', 'connectTimeoutMs', 'recordBytesMax'] as const) {
    const v = o[name];
    if (!Number.isSafeInteger(v) || v < 1) problems.push(`${name} must be a whole number >= 1, got ${v}`);
  }
  if (problems.length > 0) {
    throw shockError('SHOCK_CONFIG_INVALID', `invalid JetStream log options: ${problems.join('; ')}`, { problems });
  }
  return Object.freeze({ ...o, servers: [...servers] });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
