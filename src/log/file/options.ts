/**
 * Options of the file log: defaults from `limits`, validated once (every problem reported at once), then frozen.
 */
import { limits, shockError } from '../../base/index.js';
import { MAX_AGE_MIN_MS, parseDurationMs } from '../jetstream/options.js';
import { JOURNAL_PAYLOAD_MAX } from './journal.js';
import { RETENTION_POLICY_DEFAULT, retentionPolicyProblems, type RetentionPolicy } from '../retention-policy.js';

/** One event the log reports (a torn tail truncated, a partition failed, segments removed by retention). */
export interface LogEvent {
  level: 'info' | 'warn' | 'error';
  message: string;
  details?: object;
}

/** Options of `openFileLog`. Sizes in bytes, durations in milliseconds. */
export interface FileLogOptions {
  /** The log directory (created when absent). */
  dir: string;
  /** Number of partitions; must match the directory's when it already holds a log. */
  partitions: number;
  /**
   * The first offset of every partition this open creates (default 0). A partition that already exists keeps its
   * own offsets. A reshard's new generation starts above every offset of the older ones, so a partition number's
   * offsets never repeat across generations (sink high-water marks and dead-letter keys stay unique).
   */
  offsetBase?: number;
  /** A segment rolls once it holds this many bytes (default `limits.segmentBytesMax`). */
  segmentBytesMax?: number;
  /**
   * Group commit: how long a record may wait for company before its write starts when no write is in flight.
   * Default 0: the write starts at the next turn of the event loop, and whatever arrives during a write + fdatasync
   * goes out together in the next one. Measured (BENCHMARKS.md): a 1 ms window added ~3 ms to a lone append
   * (timers are coarse under load) and no throughput under load, where batches form during the fdatasync anyway.
   */
  groupCommitWindowMs?: number;
  /** Group commit: start the write at once when this many bytes are pending (default `limits.groupCommitBytesMax`). */
  groupCommitBytesMax?: number;
  /** Group commit: start the write at once when this many records are pending (default `limits.groupCommitRecordsMax`). */
  groupCommitRecordsMax?: number;
  /**
   * What retention may remove (docs/log.md, "Retention"). `interest` (default): only records every known group has
   * consumed, and `retentionBytesMax` of unconsumed records makes the partition full (appends get SHOCK_LOG_FULL).
   * `limits`: the oldest segments past the limits, whoever is behind.
   */
  retentionPolicy?: RetentionPolicy;
  /**
   * The consumer groups retention waits for under `interest`, besides every group with committed offsets in the
   * directory (`offsets/<group>/`). A cell names its configured group here, so that nothing is consumed before its
   * consumers' first commit. With no group known at all, no record counts as consumed.
   */
  retentionGroups?: readonly string[];
  /** Retention: remove the oldest segments while a partition holds more bytes than this (default: keep all). */
  retentionBytesMax?: number;
  /** Retention: remove segments whose newest record is older than this (default: keep all). */
  retentionMs?: number;
  /**
   * The disk's free-space floor (default 0: none): while the file system holding the log has fewer free bytes,
   * appends get SHOCK_LOG_FULL and, under `interest`, consumed segments are removed whatever the limits say.
   * Checked every second (`statfs`).
   */
  diskFreeBytesMin?: number;
  /**
   * Open with retention held: nothing is removed (neither at open, nor on a roll, nor by the periodic check) until
   * the log is reopened without it. A sealed log generation being drained is opened this way (docs/log.md,
   * "Retention and generations"); `FileLog.holdRetention()` does the same on an open log.
   */
  retentionHeld?: boolean;
  /**
   * The shared journal (default true; docs/adr/004-shared-journal.md): a partition's sync round of at most
   * `journalWriteBytesMax` bytes is also written to one write-ahead file shared by all partitions, and one
   * fdatasync of that file makes every partition's round durable. False: every round fdatasyncs its own segment.
   * A log of one partition has nothing to share and never uses it (it would only write small rounds twice).
   */
  journal?: boolean;
  /**
   * A sync round larger than this fdatasyncs its own segment instead of the journal (default 8 KiB: single events
   * share the journal, batch rounds keep their bytes to themselves — measured, BENCHMARKS.md "Session 4").
   */
  journalWriteBytesMax?: number;
  /**
   * A journal file this large is retired at the next round: segments fdatasynced, file removed (default 4 MiB; the
   * checkpoint flushes what the segments gathered meanwhile, and 64 MiB made that a p99 spike of ~200 ms).
   */
  journalBytesMax?: number;
  /** Largest record, header included (default `limits.recordBytesMax`). */
  recordBytesMax?: number;
  /** One sparse index entry per this many bytes (default `limits.indexIntervalBytes`). */
  indexIntervalBytes?: number;
  /** Receives what the log reports (default: warnings and errors to stderr). */
  logger?: (event: LogEvent) => void;
}

export type ResolvedFileLogOptions = Readonly<
  Required<Omit<FileLogOptions, 'retentionBytesMax' | 'retentionMs' | 'retentionHeld' | 'retentionGroups'>>
> & {
  readonly retentionGroups: readonly string[];
  readonly retentionHeld: boolean;
  readonly retentionBytesMax: number | undefined;
  readonly retentionMs: number | undefined;
};

/** See `FileLogOptions.groupCommitWindowMs`; `limits.groupCommitWindowMs` is the longest window worth setting. */
export const GROUP_COMMIT_WINDOW_MS_DEFAULT = 0;

/** See `FileLogOptions.journal` and the two journal sizes. */
export const JOURNAL_DEFAULT = true;
export const JOURNAL_WRITE_BYTES_MAX_DEFAULT = 8 * 1024;
export const JOURNAL_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;

/** Largest partition count one log accepts (each partition holds two open files). */
export const PARTITIONS_MAX = 4096;
/** Positions in a segment are u32 in the index. */
const SEGMENT_BYTES_LIMIT = 2 ** 31;

/** Applies defaults and validates; throws SHOCK_CONFIG_INVALID listing every problem. */
export function resolveOptions(o: FileLogOptions): ResolvedFileLogOptions {
  const problems: string[] = [];
  if (typeof o.dir !== 'string' || o.dir.length === 0) problems.push('dir must be a non-empty path');
  if (!Number.isInteger(o.partitions) || o.partitions < 1 || o.partitions > PARTITIONS_MAX) {
    problems.push(`partitions must be a whole number in [1, ${PARTITIONS_MAX}], got ${o.partitions}`);
  }
  const r = {
    dir: o.dir,
    partitions: o.partitions,
    offsetBase: o.offsetBase ?? 0,
    segmentBytesMax: o.segmentBytesMax ?? limits.segmentBytesMax,
    groupCommitWindowMs: o.groupCommitWindowMs ?? GROUP_COMMIT_WINDOW_MS_DEFAULT,
    groupCommitBytesMax: o.groupCommitBytesMax ?? limits.groupCommitBytesMax,
    groupCommitRecordsMax: o.groupCommitRecordsMax ?? limits.groupCommitRecordsMax,
    retentionPolicy: o.retentionPolicy ?? RETENTION_POLICY_DEFAULT,
    retentionGroups: Object.freeze([...(o.retentionGroups ?? [])]),
    retentionBytesMax: o.retentionBytesMax,
    retentionMs: o.retentionMs,
    retentionHeld: o.retentionHeld === true,
    diskFreeBytesMin: o.diskFreeBytesMin ?? 0,
    journal: o.journal ?? JOURNAL_DEFAULT,
    journalWriteBytesMax: o.journalWriteBytesMax ?? JOURNAL_WRITE_BYTES_MAX_DEFAULT,
    journalBytesMax: o.journalBytesMax ?? JOURNAL_BYTES_MAX_DEFAULT,
    recordBytesMax: o.recordBytesMax ?? limits.recordBytesMax,
    indexIntervalBytes: o.indexIntervalBytes ?? limits.indexIntervalBytes,
    logger: o.logger ?? defaultLogger,
  };
  check(problems, 'offsetBase', r.offsetBase, 0, Number.MAX_SAFE_INTEGER);
  check(problems, 'segmentBytesMax', r.segmentBytesMax, 64, SEGMENT_BYTES_LIMIT);
  check(problems, 'groupCommitWindowMs', r.groupCommitWindowMs, 0, 1000, false);
  check(problems, 'groupCommitBytesMax', r.groupCommitBytesMax, 1, 1024 ** 3);
  check(problems, 'groupCommitRecordsMax', r.groupCommitRecordsMax, 1, 10_000_000);
  check(problems, 'recordBytesMax', r.recordBytesMax, 64, SEGMENT_BYTES_LIMIT);
  if (typeof r.journal !== 'boolean') problems.push(`journal must be true or false, got ${String(r.journal)}`);
  check(problems, 'journalWriteBytesMax', r.journalWriteBytesMax, 0, JOURNAL_PAYLOAD_MAX);
  check(problems, 'journalBytesMax', r.journalBytesMax, 1, Number.MAX_SAFE_INTEGER);
  check(problems, 'indexIntervalBytes', r.indexIntervalBytes, 1, SEGMENT_BYTES_LIMIT);
  if (r.retentionBytesMax !== undefined)
    check(problems, 'retentionBytesMax', r.retentionBytesMax, 1, Number.MAX_SAFE_INTEGER);
  if (r.retentionMs !== undefined) check(problems, 'retentionMs', r.retentionMs, 1, Number.MAX_SAFE_INTEGER);
  for (const p of retentionPolicyProblems(r.retentionPolicy)) problems.push(`retentionPolicy ${p.problem}`);
  if (!Array.isArray(r.retentionGroups) || r.retentionGroups.some((g) => typeof g !== 'string' || g.length === 0))
    problems.push('retentionGroups must be a list of consumer group names');
  check(problems, 'diskFreeBytesMin', r.diskFreeBytesMin, 0, Number.MAX_SAFE_INTEGER);
  if (typeof r.logger !== 'function') problems.push('logger must be a function');
  if (problems.length > 0) {
    throw shockError('SHOCK_CONFIG_INVALID', `invalid file log options: ${problems.join('; ')}`, {
      problems,
      hint: 'fix the options named above',
    });
  }
  return Object.freeze(r);
}

/**
 * The file log's retention as a cell configures it (`log.retention`), in the words of the JetStream engine's keys:
 * `policy` is `interest` (default) or `limits` and maps to `retentionPolicy`; `maxAge` is a duration as
 * `log.jetstream.maxAge` takes it (`90s`, `30m`, `24h`, `7d`, `1w`, `1y`; `"0"` = unlimited; at least 1s) and maps to
 * `retentionMs`; `maxBytes` is bytes per partition (-1 = unlimited), as `log.jetstream.maxBytes`, and maps to
 * `retentionBytesMax`; `diskFreeBytesMin` is the disk's free-space floor (0 = none). Absent = unlimited.
 */
export interface FileRetentionConfig {
  policy?: RetentionPolicy;
  maxAge?: string;
  maxBytes?: number;
  diskFreeBytesMin?: number;
}

/** Problems of a `log.retention` section (empty when valid), each naming its key and showing a valid value. */
export function fileRetentionProblems(r: {
  policy?: unknown;
  maxAge?: unknown;
  maxBytes?: unknown;
  diskFreeBytesMin?: unknown;
}): { option: string; problem: string }[] {
  const problems: { option: string; problem: string }[] = retentionPolicyProblems(r.policy);
  if (r.maxAge !== undefined) {
    const ms = parseDurationMs(r.maxAge);
    if (ms === undefined || (ms !== 0 && ms < MAX_AGE_MIN_MS)) {
      problems.push({
        option: 'maxAge',
        problem:
          `must be a duration of at least 1s such as "90s", "30m", "24h", "7d", "1w" (or "0": unlimited), ` +
          `got ${JSON.stringify(r.maxAge)}; e.g. maxAge: 7d`,
      });
    }
  }
  const b = r.maxBytes;
  if (b !== undefined && !(typeof b === 'number' && Number.isSafeInteger(b) && (b === -1 || b >= 1))) {
    problems.push({
      option: 'maxBytes',
      problem: `must be a whole number of bytes per partition >= 1, or -1 for unlimited, got ${JSON.stringify(b)}; e.g. maxBytes: 10737418240 (10 GiB)`,
    });
  }
  const f = r.diskFreeBytesMin;
  if (f !== undefined && !(typeof f === 'number' && Number.isSafeInteger(f) && f >= 0)) {
    problems.push({
      option: 'diskFreeBytesMin',
      problem: `must be a whole number of bytes >= 0 (0: no floor), got ${JSON.stringify(f)}; e.g. diskFreeBytesMin: 268435456 (256 MiB)`,
    });
  }
  return problems;
}

/** `log.retention` → the file log's options (unlimited values become absent). Assumes `fileRetentionProblems` passed. */
export function fileRetentionOptions(r: FileRetentionConfig | undefined): {
  retentionPolicy?: RetentionPolicy;
  retentionMs?: number;
  retentionBytesMax?: number;
  diskFreeBytesMin?: number;
} {
  const out: ReturnType<typeof fileRetentionOptions> = {};
  if (r?.policy !== undefined) out.retentionPolicy = r.policy;
  if (r?.diskFreeBytesMin !== undefined && r.diskFreeBytesMin > 0) out.diskFreeBytesMin = r.diskFreeBytesMin;
  const ms = r?.maxAge === undefined ? 0 : (parseDurationMs(r.maxAge) ?? 0);
  if (ms > 0) out.retentionMs = ms;
  if (r?.maxBytes !== undefined && r.maxBytes > 0) out.retentionBytesMax = r.maxBytes;
  return out;
}

function check(problems: string[], name: string, value: number, min: number, max: number, integer = true): void {
  const ok = typeof value === 'number' && Number.isFinite(value) && (!integer || Number.isInteger(value));
  if (!ok || value < min || value > max)
    problems.push(`${name} must be a ${integer ? 'whole ' : ''}number in [${min}, ${max}], got ${value}`);
}

function defaultLogger(event: LogEvent): void {
  if (event.level === 'info') return;
  const details = event.details ? ' ' + JSON.stringify(event.details) : '';
  process.stderr.write(`shock log ${event.level}: ${event.message}${details}\n`);
}
