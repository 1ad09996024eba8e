/**
 * Options of the NATS JetStream log, their defaults and their validation (every problem reported at once).
 */
import { limits, shockError } from '../../base/index.js';
import { RETENTION_POLICY_DEFAULT, retentionPolicyProblems, type RetentionPolicy } from '../retention-policy.js';

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
  /**
   * How long the streams remember a record's id (the event's `(tenant, event_id)`), so that an append retried
   * within it — by the same gateway or another — is stored once (default 2 minutes, as NATS; at most `maxAge`
   * under `limits`). Past it, a retry is stored again and the sink's `(tenant, event_id)` key absorbs it.
   */
  duplicateWindowMs?: number;
  /**
   * Retention: the stream limits of NATS (`max_age`, `max_bytes`, `max_msgs`, `max_msgs_per_subject`), applied to
   * every partition's stream (each limit holds per partition) and set again at every open. Unset: unlimited.
   * `maxAge` is a duration with a unit as the `nats` CLI writes it (`90s`, `30m`, `24h`, `7d`, `1w`, `1y`; `0` =
   * unlimited); the others are whole numbers, -1 = unlimited. The oldest messages go first (discard old).
   */
  maxAge?: string;
  maxBytes?: number;
  maxMsgs?: number;
  maxMsgsPerSubject?: number;
  /**
   * `interest` (default): `maxAge`/`maxBytes` bound the records every known group has consumed — the log purges
   * them itself, the streams carry no age or size limit — and unconsumed records at `maxBytes` refuse appends with
   * SHOCK_LOG_FULL. `limits`: the four options are the streams' own limits (the server discards the oldest).
   * `maxMsgs`/`maxMsgsPerSubject` need `limits`. docs/log.md, "Retention (JetStream)".
   */
  retentionPolicy?: RetentionPolicy;
  /** Groups interest retention waits for besides every group with a committed offset in the bucket. */
  retentionGroups?: readonly string[];
  /**
   * Open without creating or changing anything (tools: `shock log inspect/read`): the streams and the offsets bucket
   * must exist, the partition count is read from the bucket, limits are left as they are, `append` is refused.
   */
  readOnly?: boolean;
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
  readonly duplicateWindowMs: number;
  /** `maxAge` in milliseconds; 0 = unlimited. */
  readonly maxAgeMs: number;
  /** -1 = unlimited, as NATS writes it. */
  readonly maxBytes: number;
  readonly maxMsgs: number;
  readonly maxMsgsPerSubject: number;
  readonly readOnly: boolean;
  readonly retentionPolicy: RetentionPolicy;
  readonly retentionGroups: readonly string[];
}

export const jetStreamLogDefaults = {
  streamPrefix: 'shock',
  replicas: 1,
  requestTimeoutMs: 5000,
  connectTimeoutMs: 5000,
  connectionName: 'shockabsorber-log',
  duplicateWindowMs: 120_000,
  maxBytes: -1,
  maxMsgs: -1,
  maxMsgsPerSubject: -1,
  readOnly: false,
} as const;

/** The shortest `maxAge` (the duplicate window shrinks to it; nats-server refuses a longer window than max age). */
export const MAX_AGE_MIN_MS = 1000;

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/** `"24h"` → 86,400,000; `"0"` → 0; undefined when it is not a duration (a number with one of ms s m h d w y). */
export function parseDurationMs(text: unknown): number | undefined {
  if (text === 0 || text === '0') return 0;
  if (typeof text !== 'string') return undefined;
  const m = /^(\d+)(ms|s|m|h|d|w|y)$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * DURATION_UNITS_MS[m[2]];
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** The retention options' problems (empty when valid), each naming its option; shared with the cell's config. */
export function retentionProblems(o: {
  maxAge?: unknown;
  maxBytes?: unknown;
  maxMsgs?: unknown;
  maxMsgsPerSubject?: unknown;
}): { option: string; problem: string }[] {
  const problems: { option: string; problem: string }[] = [];
  if (o.maxAge !== undefined) {
    const ms = parseDurationMs(o.maxAge);
    if (ms === undefined) {
      problems.push({
        option: 'maxAge',
        problem: `must be a duration such as "90s", "30m", "24h", "7d", "1w", "1y" (or "0": unlimited), got ${JSON.stringify(o.maxAge)}`,
      });
    } else if (ms !== 0 && ms < MAX_AGE_MIN_MS) {
      problems.push({
        option: 'maxAge',
        problem: `must be at least 1s (or "0": unlimited), got ${JSON.stringify(o.maxAge)}`,
      });
    }
  }
  for (const name of ['maxBytes', 'maxMsgs', 'maxMsgsPerSubject'] as const) {
    const v = o[name];
    if (v === undefined) continue;
    if (!(typeof v === 'number' && Number.isSafeInteger(v) && (v === -1 || v >= 1))) {
      problems.push({
        option: name,
        problem: `must be a whole number >= 1, or -1 for unlimited, got ${JSON.stringify(v)}`,
      });
    }
  }
  return problems;
}

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
  for (const name of ['requestTimeoutMs', 'connectTimeoutMs', 'recordBytesMax', 'duplicateWindowMs'] as const) {
    const v = o[name];
    if (!Number.isSafeInteger(v) || v < 1) problems.push(`${name} must be a whole number >= 1, got ${v}`);
  }
  for (const r of retentionProblems(o)) problems.push(`${r.option} ${r.problem}`);
  const policy = (options.retentionPolicy ?? RETENTION_POLICY_DEFAULT) as RetentionPolicy;
  for (const r of retentionPolicyProblems(policy)) problems.push(`retentionPolicy ${r.problem}`);
  if (policy === 'interest') {
    for (const name of ['maxMsgs', 'maxMsgsPerSubject'] as const) {
      if (o[name] !== -1) problems.push(`${name} removes records whoever is behind: it needs retentionPolicy limits`);
    }
  }
  if (problems.length > 0) {
    throw shockError('SHOCK_CONFIG_INVALID', `invalid JetStream log options: ${problems.join('; ')}`, { problems });
  }
  const { maxAge, ...rest } = o as typeof o & { maxAge?: string };
  return Object.freeze({
    ...rest,
    servers: [...servers],
    maxAgeMs: maxAge === undefined ? 0 : (parseDurationMs(maxAge) ?? 0),
    readOnly: o.readOnly === true,
    retentionPolicy: policy,
    retentionGroups: Object.freeze([...(options.retentionGroups ?? [])]),
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
