/**
 * Every queue, batch, body, header, retry, timeout and connection count has a limit here, with its unit in its
 * name, a default, and what it costs (TigerBeetle `src/constants.zig`). Configuration may override a limit;
 * `checkLimits` verifies the relations between them at start-up.
 */
export const limits = {
  // --- log ---
  /** A segment file rolls past this size. Bigger: fewer files; smaller: finer retention. */
  segmentBytesMax: 64 * 1024 * 1024,
  /** One index entry per this many bytes of records (sparse index). */
  indexIntervalBytes: 4096,
  /** Largest single record (key + value + header). */
  recordBytesMax: 1024 * 1024,
  /**
   * Group commit: the longest wait for more appends before the write + fdatasync worth configuring. The file log
   * defaults to 0 (write at the next event-loop turn; batches form during the in-flight fdatasync), see docs/log.md.
   */
  groupCommitWindowMs: 1,
  /** Group commit: flush at once when this many bytes are pending. */
  groupCommitBytesMax: 4 * 1024 * 1024,
  /** Group commit: flush at once when this many records are pending. */
  groupCommitRecordsMax: 10_000,
  /** Reads: at most this many records per fetch. */
  fetchRecordsMax: 1000,
  /** Reads: at most this many bytes per fetch (a single larger record is still returned). */
  fetchBytesMax: 4 * 1024 * 1024,

  // --- consume ---
  /** Consumer batch: up to this many events... */
  consumeBatchRecordsMax: 1000,
  /** ...or whatever arrived within this wait. */
  consumeBatchWaitMs: 50,
  /** A failing batch is retried this many times (with backoff) before its events are isolated. */
  consumeRetriesMax: 5,
  consumeBackoffBaseMs: 50,
  consumeBackoffMaxMs: 2000,
  /** A handler call that has not answered after this long counts as a failure of its batch (it is abandoned). */
  consumeHandlerTimeoutMs: 30_000,
  /** An idle consumer wakes at least this often (to notice stop/pause); it never polls faster. */
  consumeIdleWaitMs: 1000,
  /** A sink write that fails (busy, I/O) is retried this many times before the consumer restarts. */
  consumeSinkRetriesMax: 5,
  /** SQLite busy timeout: how long a sink write waits for another writer's lock. */
  consumeSinkBusyTimeoutMs: 5000,
  /** Graceful stop waits this long for the batch in flight, then terminates the worker hard. */
  consumeStopTimeoutMs: 30_000,
  /** A crashed consumer worker is restarted after a backoff growing from the base to this maximum. */
  consumeRestartBackoffMaxMs: 5000,
  /** Consume rates in stats are averaged over this window. */
  consumeRateWindowMs: 10_000,

  // --- ingress ---
  bodyBytesMax: 5 * 1024 * 1024,
  eventBytesMax: 1024 * 1024,
  /**
   * Deepest nesting of objects and arrays in one event (the event object is level 1, its payload level 2), levels.
   * Deeper events are refused (400 SHOCK_INGRESS_TOO_DEEP) before anything recursive sees them: re-serialisation,
   * recursive schemas, `structuredClone` and consumers' code overflow the stack near 2,000 levels. At most
   * `eventDepthCeiling` (512). Costs one byte scan of each event (~1 ns/byte).
   */
  eventDepthMax: 128,
  batchRecordsMax: 500,
  keyBytesMax: 256,
  headersBytesMax: 16 * 1024,
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
  /** Longest client-supplied `event_id` (UTF-8 bytes); every id is kept in the dedupe window. */
  eventIdBytesMax: 128,
  /** Dedupe: ids remembered per tenant (an LRU); ~200 bytes each. The window is the lesser of this and... */
  dedupeIdsPerTenantMax: 100_000,
  /** ...this age: a repeated event id is answered `duplicate: true` within it. */
  dedupeWindowMs: 10 * 60 * 1000,
} as const;

/**
 * The largest `eventDepthMax` a configuration may set: every recursive path an accepted event meets (ingress
 * re-serialisation, ajv, `structuredClone`, consumers) must take it with room to spare. Measured on Node 20:
 * `JSON.stringify` of nested objects overflows the main thread's stack at ~1,900 levels, a worker's at ~7,700.
 */
export const eventDepthCeiling = 512;

export type Limits = { -readonly [K in keyof typeof limits]: number };

/** Relations between limits, checked when a component starts with its effective limits. */
export function checkLimits(l: Partial<Limits>): string[] {
  const m = { ...limits, ...l };
  const problems: string[] = [];
  if (m.groupCommitBytesMax > m.segmentBytesMax) problems.push('groupCommitBytesMax must be <= segmentBytesMax');
  if (m.recordBytesMax > m.segmentBytesMax) problems.push('recordBytesMax must be <= segmentBytesMax');
  if (m.eventBytesMax > m.recordBytesMax) problems.push('eventBytesMax must be <= recordBytesMax');
  if (m.eventBytesMax > m.bodyBytesMax) problems.push('eventBytesMax must be <= bodyBytesMax');
  if (m.eventDepthMax > eventDepthCeiling) {
    problems.push(
      `eventDepthMax must be <= ${eventDepthCeiling} levels (deeper overflows recursive code), got ${m.eventDepthMax}`,
    );
  }
  if (m.consumeBatchRecordsMax > m.fetchRecordsMax * 100) problems.push('consumeBatchRecordsMax is implausibly large');
  for (const [k, v] of Object.entries(m)) {
    if (!(Number.isFinite(v) && v > 0)) problems.push(`${k} must be a positive number, got ${v}`);
  }
  return problems;
}
