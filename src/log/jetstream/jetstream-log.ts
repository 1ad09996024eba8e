/**
 * The `Log` on NATS JetStream (guarantees in ../log.ts; design and durability in docs/log.md, "JetStream engine").
 *
 * One stream per partition, `<prefix>_<p>` with the single subject `<prefix>.<p>`, so that a record's offset is its
 * stream sequence − 1 and offsets are dense by construction. Every record is published with
 * `Nats-Expected-Last-Sequence` = its own offset: the server stores it only directly after the record before it,
 * so concurrent appenders (in this process or another) can never interleave or double-write — the loser gets
 * SHOCK_LOG_APPEND_CONFLICT. A call publishes all its records at once (pipelined) and resolves when every PubAck is
 * in. Key, timestamp and a CRC-32C of key and value travel in headers; the value is the message body.
 *
 * `state` answers from a cache fed by PubAcks, reads and, once someone waits on a partition, an ordered
 * headers-only consumer of that stream (a push of every stored sequence: no polling).
 */
import {
  connect,
  headers,
  DiscardPolicy,
  Events,
  nanos,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type MsgHdrs,
  type NatsConnection,
  type PubAck,
  type Consumer,
  type StreamConfig,
  type StreamInfo,
  type StoredMsg,
} from 'nats';
import { createHash } from 'node:crypto';
import { assert, limits, shockError } from '../../base/index.js';
import { crc32c } from '../crc32c.js';
import type {
  AppendRecord,
  AppendResult,
  Log,
  LogHealth,
  LogRecord,
  OffsetStore,
  PartitionState,
  ReadOptions,
} from '../log.js';
import type { PartitionStats } from '../file/partition.js';
import { checkAppendRecords, recordBytes } from '../record.js';
import { logFullError } from '../retention-policy.js';
import { JsErrCode, jsErrCode, translateNatsError } from './errors.js';
import { JetStreamOffsetStore } from './offsets.js';
import { resolveJetStreamOptions, type JetStreamLogConfig, type JetStreamLogOptions } from './options.js';
import { PartitionWatcher } from './watcher.js';

export const HEADER_KEY = 'Shock-Key';
export const HEADER_TIMESTAMP = 'Shock-Ts';
export const HEADER_CRC = 'Shock-Crc32c';

/** Bytes a message needs beyond its value: NATS/1.0 line, our headers, Nats-Expected-Last-Sequence, the subject. */
const MESSAGE_OVERHEAD_BYTES = 256;
/** A read issues at most this many message gets at once (bounded memory; a window of round trips). */
const READ_WINDOW_MAX = 128;
/** Most messages one ordered-consumer fetch asks for (reads larger than this take several fetches). */
const FETCH_MESSAGES_MAX = 1000;
/** While a partition is failed, its stream is asked for its state this often until it answers (readiness). */
const PROBE_INTERVAL_MS = 1000;
/** The client pings the server this often and counts the connection lost after this many unanswered pings. */
const PING_INTERVAL_MS = 10_000;
const PINGS_OUT_MAX = 3;

/** One stored message as the decoder needs it, from a direct get or from a consumer fetch. */
interface MessageView {
  seq: number;
  header: Pick<MsgHdrs, 'get'>;
  data: Uint8Array;
}

/** A sequential reader of one partition: an ordered consumer whose next message is at offset `next`. */
interface ReadCursor {
  consumer: Consumer;
  next: number;
}

/** What the log knows of one partition. `offsetEnd` only grows (every source is a stored sequence). */
class PartitionCache {
  offsetStart = 0;
  offsetEnd = 0;
  /** Publishes awaiting their PubAck. */
  inflight = 0;
  drained: (() => void)[] = [];
  waiters = new Set<{ offset: number; resolve: (end: number) => void; timer: NodeJS.Timeout }>();
  watcher: PartitionWatcher | undefined;
  /** Sequential reads fetch from an ordered consumer kept between calls (one per partition). */
  cursor: ReadCursor | undefined;
  /** Fetches of one partition run one after another (they share the cursor). */
  reading: Promise<unknown> = Promise.resolve();
  /** Counters for `stats()`: resolved appends of this process. */
  appends = 0;
  appendMsSum = 0;
  appendMsMax = 0;
  records = 0;
  bytes = 0;
  batchRecordsMax = 0;
  /** Why the last JetStream operation on this partition failed, until one succeeds again (readiness). */
  failure: { reason: string; sinceMs: number } | undefined;
  /** The stream's mean bytes per message as the server last reported them (0: not known yet). */
  meanMessageBytes = 0;
  /** Interest retention checks run (a purge or not). */
  retentionChecks = 0;
  /** Retention checks of one partition run one after another. */
  retaining: Promise<void> = Promise.resolve();
}

/** How often interest retention purges consumed messages: every min(60 s, maxAge). */
const RETENTION_CHECK_MS = 60_000;

export interface JetStreamLog extends Log {
  /** Committed offsets; also counts what retention removed before a group consumed it (offsets.ts). */
  offsets: OffsetStore & { removedBeforeConsumed(group: string, partition: number): number };
  /** The stream holding partition `p` (for tools and tests). */
  streamName(partition: number): string;
  /**
   * Counters of this process's appends per partition, in the file log's shape (`FileLog.stats`) so that a cell's
   * metrics read either engine: appends, records, latency sums. Fields that only the file log has (segments,
   * fsyncs) are 0; `failed` stays false (JetStream partitions do not fail-stop, see docs/log.md).
   */
  stats(): { partitions: PartitionStats[] };
  /**
   * Whether the log can serve appends and reads now: problems while the connection to NATS is lost (reported at
   * once when the server closes the connection or its process dies; by missed pings otherwise) or while a
   * partition's last JetStream operation failed (a timeout, no stream leader, …) until a probe of its stream, once a
   * second, is answered. A cell's /readyz answers 503 with these problems.
   */
  health(): LogHealth;
  /** Runs an interest retention check of every partition now (see docs/log.md); nothing under `limits`. */
  applyRetention(): Promise<void>;
  /** The partition's stream as the server reports it now: range, messages, bytes, and the retention limits. */
  partitionInfo(partition: number): Promise<JetStreamPartitionInfo>;
}

/** One partition's stream, for `shock log inspect`. Limits as NATS writes them: -1 (0 for max age) = unlimited. */
export interface JetStreamPartitionInfo {
  partition: number;
  stream: string;
  offsetStart: number;
  offsetEnd: number;
  messages: number;
  bytes: number;
  limits: { maxAgeMs: number; maxBytes: number; maxMsgs: number; maxMsgsPerSubject: number };
}

/** Opens (creating when missing) the streams and the offsets bucket of a JetStream log. */
export async function openJetStreamLog(options: JetStreamLogOptions): Promise<JetStreamLog> {
  const config = resolveJetStreamOptions(options);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: config.servers,
      name: config.connectionName,
      timeout: config.connectTimeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: PING_INTERVAL_MS,
      maxPingOut: PINGS_OUT_MAX,
    });
  } catch (err) {
    throw translateNatsError(err, `connect to NATS at ${config.servers.join(', ')}`, { servers: config.servers });
  }
  try {
    const log = new JetStreamLogImpl(nc, config);
    await log.open();
    return log;
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw translateNatsError(err, 'open the JetStream log', { streamPrefix: config.streamPrefix });
  }
}

class JetStreamLogImpl implements JetStreamLog {
  readonly partitions: number;
  offsets!: JetStreamOffsetStore;
  private readonly js: JetStreamClient;
  private jsm!: JetStreamManager;
  private readonly parts: PartitionCache[];
  private readonly messageBytesMax: number;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Set while the connection to NATS is lost (the client reconnects on its own). */
  private disconnected: { sinceMs: number } | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private retentionTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly config: JetStreamLogConfig,
  ) {
    this.partitions = config.partitions;
    this.js = nc.jetstream({ timeout: config.requestTimeoutMs });
    this.parts = Array.from({ length: config.partitions }, () => new PartitionCache());
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    // A stream refuses a message larger than its max_bytes: so does the log, before publishing.
    this.messageBytesMax = config.maxBytes > 0 ? Math.min(maxPayload, config.maxBytes) : maxPayload;
    void this.followStatus();
  }

  /** Follows the connection's status: lost at a disconnect, back at a reconnect (then failed partitions are probed). */
  private async followStatus(): Promise<void> {
    try {
      for await (const s of this.nc.status()) {
        if (s.type === Events.Disconnect) {
          this.disconnected ??= { sinceMs: Date.now() };
        } else if (s.type === Events.Reconnect) {
          this.disconnected = undefined;
          this.probeSoon(0);
        }
      }
    } catch {
      // The iterator ends with the connection.
    }
  }

  health(): LogHealth {
    const problems: string[] = [];
    if (this.closed) problems.push('log closed');
    if (this.disconnected !== undefined) {
      const since = new Date(this.disconnected.sinceMs).toISOString();
      problems.push(`NATS unreachable since ${since} (reconnecting to ${this.config.servers.join(', ')})`);
    }
    const failed = this.parts.flatMap((part, p) => (part.failure ? [p] : []));
    if (failed.length > 0) {
      const reason = this.parts[failed[0]].failure!.reason;
      const which =
        failed.length <= 8 ? failed.join(', ') : `${failed.slice(0, 8).join(', ')} and ${failed.length - 8} more`;
      problems.push(`JetStream log partition(s) ${which} failing: ${reason}`);
    }
    return { ok: problems.length === 0, problems };
  }

  /** Marks a partition failed by a server-side or connection error (not by a conflict or a caller's mistake). */
  private noteFailure(p: number, err: unknown): void {
    const code = (err as { code?: unknown }).code;
    if (code !== 'SHOCK_LOG_IO' || this.closed) return;
    const part = this.parts[p];
    const reason = (err as Error).message ?? String(err);
    part.failure = { reason, sinceMs: part.failure?.sinceMs ?? Date.now() };
    this.probeSoon(PROBE_INTERVAL_MS);
  }

  private noteSuccess(p: number): void {
    this.parts[p].failure = undefined;
  }

  /** Asks each failed partition's stream for its state (once a second while any is failed, and at a reconnect). */
  private probeSoon(delayMs: number): void {
    if (this.closed || this.probing) return;
    if (this.probeTimer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(this.probeTimer);
    }
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      if (!this.parts.some((part) => part.failure)) return;
      this.probing = true;
      void (async () => {
        for (let p = 0; p < this.parts.length && !this.closed; p++) {
          if (this.parts[p].failure) await this.bounds(p).catch(() => undefined);
        }
      })().finally(() => {
        this.probing = false;
        if (this.parts.some((part) => part.failure)) this.probeSoon(PROBE_INTERVAL_MS);
      });
    }, delayMs);
    this.probeTimer.unref();
  }

  streamName(partition: number): string {
    return `${this.config.streamPrefix}_${partition}`;
  }

  private subject(partition: number): string {
    return `${this.config.streamPrefix}.${partition}`;
  }

  async open(): Promise<void> {
    this.jsm = await this.nc.jetstreamManager({ timeout: this.config.requestTimeoutMs });
    const kv = await openOffsetsBucket(this.js, this.config);
    if (!this.config.readOnly) await checkPartitionCount(kv, this.partitions);
    for (let p = 0; p < this.partitions; p++) {
      const info = await this.ensureStream(p);
      this.applyInfo(p, info);
    }
    this.offsets = await JetStreamOffsetStore.load(
      kv,
      this.partitions,
      (p) => this.bounds(p),
      () => this.checkOpen(),
    );
    const { retentionPolicy, maxAgeMs, maxBytes, readOnly } = this.config;
    if (retentionPolicy === 'interest' && (maxAgeMs > 0 || maxBytes > 0) && !readOnly) {
      const every = maxAgeMs > 0 ? Math.min(RETENTION_CHECK_MS, maxAgeMs) : RETENTION_CHECK_MS;
      this.retentionTimer = setInterval(() => void this.applyRetention().catch(() => undefined), every);
      this.retentionTimer.unref();
    }
  }

  /**
   * Interest retention (docs/log.md, "Retention (JetStream)"): purges, per partition, the oldest messages that every
   * known group has consumed (below the committed floor) and that are past `maxAge`, or while the stream holds more
   * than `maxBytes`. Runs every min(60 s, maxAge); callable for tools and tests. Nothing under `limits` (the server
   * applies the limits itself).
   */
  async applyRetention(): Promise<void> {
    this.checkOpen();
    if (this.config.retentionPolicy !== 'interest') return;
    await Promise.all(
      this.parts.map((part, p) => {
        const run = part.retaining.then(() => this.retainPartition(p));
        part.retaining = run.catch(() => undefined);
        return run;
      }),
    );
  }

  private async retainPartition(p: number): Promise<void> {
    const part = this.parts[p];
    const { maxAgeMs, maxBytes } = this.config;
    const info = await this.info(p);
    const floor = this.committedFloor(p);
    const start = part.offsetStart;
    const consumedEnd = floor === null ? start : Math.min(floor, part.offsetEnd);
    let cut = start;
    if (consumedEnd > start && maxBytes > 0 && info.state.bytes > maxBytes && info.state.messages > 0) {
      const mean = info.state.bytes / info.state.messages;
      cut = start + Math.ceil((info.state.bytes - maxBytes) / mean);
    }
    if (consumedEnd > start && maxAgeMs > 0) {
      cut = Math.max(cut, await this.firstNewerThan(p, start, consumedEnd, Date.now() - maxAgeMs));
    }
    cut = Math.min(cut, consumedEnd);
    if (cut > start) {
      assert(floor !== null && cut <= floor, 'interest retention purges consumed records only', { cut, floor });
      try {
        // Every message below sequence cut + 1, i.e. every offset below cut.
        await this.jsm.streams.purge(this.streamName(p), { seq: cut + 1 });
      } catch (err) {
        throw translateNatsError(err, `purge partition ${p} up to offset ${cut}`, { partition: p, offset: cut });
      }
      await this.info(p);
    }
    part.retentionChecks++;
  }

  /** The first offset in [lo, hi) whose message was stored after `cutoffMs` (hi when none): a binary search. */
  private async firstNewerThan(p: number, lo: number, hi: number, cutoffMs: number): Promise<number> {
    let low = lo;
    let high = hi;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const m = await this.jsm.streams.getMessage(this.streamName(p), { seq: mid + 1 });
      if (m.time.getTime() > cutoffMs) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  /**
   * The smallest offset the known groups committed in `p` (the configured `retentionGroups` and every group with a
   * committed offset in the bucket; a group without one counts 0). Null when no group is known: nothing is consumed.
   */
  private committedFloor(p: number): number | null {
    const groups = new Set([...this.config.retentionGroups, ...Object.keys(this.offsets.list())]);
    let floor: number | null = null;
    for (const g of groups) {
      const offset = this.offsets.get(g, p);
      if (floor === null || offset < floor) floor = offset;
    }
    return floor;
  }

  /** Bytes of the records no known group consumed yet, estimated from the stream's mean message size. */
  private unconsumedBytes(p: number): number {
    const part = this.parts[p];
    const floor = Math.max(this.committedFloor(p) ?? 0, part.offsetStart);
    const mean = part.meanMessageBytes > 0 ? part.meanMessageBytes : part.records > 0 ? part.bytes / part.records : 0;
    return Math.round(Math.max(0, part.offsetEnd + part.inflight - floor) * mean);
  }

  /** Under interest retention with maxBytes: the partition is full once its unconsumed records reach maxBytes. */
  private fullError(p: number): Error | undefined {
    const { retentionPolicy, maxBytes } = this.config;
    if (retentionPolicy !== 'interest' || maxBytes <= 0) return undefined;
    const unconsumedBytes = this.unconsumedBytes(p);
    if (unconsumedBytes < maxBytes) return undefined;
    return logFullError({
      partition: p,
      unconsumedBytes,
      retentionBytesMax: maxBytes,
      diskFreeBytes: null,
      diskFreeBytesMin: null,
    });
  }

  /**
   * The retention limits of the configuration, as stream settings (set at creation and at every open). Under
   * interest retention the streams have no age or size limit (the server would discard unconsumed messages): the log
   * purges consumed ones itself (`applyRetention`) and refuses appends when the unconsumed ones reach maxBytes.
   */
  private streamLimits(): Pick<
    StreamConfig,
    'max_age' | 'max_bytes' | 'max_msgs' | 'max_msgs_per_subject' | 'max_msg_size' | 'duplicate_window'
  > {
    const limits = this.config.retentionPolicy === 'limits';
    return {
      duplicate_window: nanos(this.duplicateWindowMs()),
      max_age: nanos(limits ? this.config.maxAgeMs : 0),
      max_bytes: limits ? this.config.maxBytes : -1,
      max_msgs: this.config.maxMsgs,
      max_msgs_per_subject: this.config.maxMsgsPerSubject,
      max_msg_size: this.messageBytesMax,
    };
  }

  /**
   * How long a record's id (the event's identity) makes a retried append idempotent (docs/log.md): the configured
   * window, at most the stream's max age (nats-server refuses a longer one).
   */
  private duplicateWindowMs(): number {
    const { duplicateWindowMs, maxAgeMs, retentionPolicy } = this.config;
    return retentionPolicy === 'limits' && maxAgeMs > 0 ? Math.min(duplicateWindowMs, maxAgeMs) : duplicateWindowMs;
  }

  private async ensureStream(p: number): Promise<StreamInfo> {
    const name = this.streamName(p);
    try {
      const info = await this.jsm.streams.info(name);
      if (this.config.readOnly) return info;
      const wanted = this.streamLimits();
      const differs = (Object.keys(wanted) as (keyof typeof wanted)[]).some((k) => info.config[k] !== wanted[k]);
      // The configuration is the truth: a limit changed with the nats CLI is set back at the next open.
      return differs ? await this.jsm.streams.update(name, { ...info.config, ...wanted }) : info;
    } catch (err) {
      if (jsErrCode(err) !== JsErrCode.streamNotFound) throw err;
      if (this.config.readOnly) {
        throw shockError('SHOCK_CLI_INPUT_UNREADABLE', `the JetStream log has no stream ${name}`, {
          stream: name,
          hint: 'check --stream-prefix (the streamPrefix of the cell configuration) and the server URL',
        });
      }
    }
    try {
      return await this.jsm.streams.add({
        name,
        subjects: [this.subject(p)],
        storage: StorageType.File,
        num_replicas: this.config.replicas,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        ...this.streamLimits(),
        allow_direct: true,
        // Deleting one message would leave a hole in the offsets; purging moves the start, which reads handle.
        deny_delete: true,
        description: `shockabsorber log partition ${p}`,
      });
    } catch (err) {
      // Another process created it between our info and add: use theirs.
      return await this.jsm.streams.info(name).catch(() => {
        throw err;
      });
    }
  }

  /** Takes the stream's first and last sequence as the partition's range (the end never moves back). */
  private applyInfo(p: number, info: StreamInfo): void {
    const part = this.parts[p];
    const last = info.state.last_seq;
    const start = info.state.messages === 0 ? last : Math.max(info.state.first_seq - 1, 0);
    part.offsetStart = Math.max(part.offsetStart, start);
    if (info.state.messages > 0) part.meanMessageBytes = info.state.bytes / info.state.messages;
    this.advance(p, last);
  }

  /** Records that sequence `seq` (offset seq − 1) is stored: the end is at least `seq`. Wakes waiters. */
  private advance(p: number, seq: number): void {
    const part = this.parts[p];
    if (seq <= part.offsetEnd) return;
    part.offsetEnd = seq;
    for (const w of part.waiters) {
      if (seq > w.offset) {
        clearTimeout(w.timer);
        part.waiters.delete(w);
        w.resolve(seq);
      }
    }
  }

  /** The partition's range, re-read from the server (for checks that must not trust a stale cache). */
  private async bounds(p: number): Promise<{ offsetStart: number; offsetEnd: number }> {
    const part = this.parts[p];
    await this.info(p);
    return { offsetStart: part.offsetStart, offsetEnd: part.offsetEnd };
  }

  /** The stream's info, re-read from the server (and applied to the cache). */
  private async info(p: number): Promise<StreamInfo> {
    let info: StreamInfo;
    try {
      info = await this.jsm.streams.info(this.streamName(p));
    } catch (err) {
      const e = translateNatsError(err, `read the state of partition ${p}`, {
        partition: p,
        stream: this.streamName(p),
      });
      this.noteFailure(p, e);
      throw e;
    }
    this.noteSuccess(p);
    this.applyInfo(p, info);
    return info;
  }

  async partitionInfo(partition: number): Promise<JetStreamPartitionInfo> {
    this.checkOpen();
    const bad = this.checkPartition(partition);
    if (bad) throw bad;
    const info = await this.info(partition);
    const { offsetStart, offsetEnd } = this.parts[partition];
    return {
      partition,
      stream: this.streamName(partition),
      offsetStart,
      offsetEnd,
      messages: info.state.messages,
      bytes: info.state.bytes,
      limits: {
        maxAgeMs: Math.round(info.config.max_age / 1e6),
        maxBytes: info.config.max_bytes,
        maxMsgs: info.config.max_msgs,
        maxMsgsPerSubject: info.config.max_msgs_per_subject ?? -1,
      },
    };
  }

  append(partition: number, records: AppendRecord[]): Promise<AppendResult> {
    if (this.closed) return Promise.reject(closedError());
    if (this.config.readOnly) {
      return Promise.reject(
        shockError('SHOCK_CONFIG_INVALID', 'this JetStream log was opened read-only (a tool): it takes no appends'),
      );
    }
    const bad = this.checkPartition(partition) ?? this.validate(records);
    if (bad) return Promise.reject(bad);
    if (records.length === 0) return Promise.resolve({ baseOffset: this.parts[partition].offsetEnd, count: 0 });
    const full = this.fullError(partition);
    if (full) return Promise.reject(full);
    return this.publish(partition, records);
  }

  /**
   * Publishes every record at once (pipelined on this connection, so stored in call order) and resolves on the last
   * PubAck. No expectation on the stream's end: any number of processes append to one partition and the server
   * orders the records (no coordination between writers on the hot path). A record with an `id` carries it as the
   * message id, so a retried append within the duplicate window stores it once and answers the first offset.
   */
  private async publish(partition: number, records: AppendRecord[]): Promise<AppendResult> {
    const part = this.parts[partition];
    const acks: Promise<PubAck>[] = new Array(records.length);
    const nowMs = Date.now();
    const startedMs = performance.now();
    part.inflight += records.length;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      acks[i] = this.js.publish(this.subject(partition), r.value, {
        headers: recordHeaders(r, nowMs),
        msgID: r.id === undefined ? undefined : messageId(r.id),
        timeout: this.config.requestTimeoutMs,
      });
    }
    const settled = await Promise.allSettled(acks);
    part.inflight -= records.length;
    if (part.inflight === 0) for (const done of part.drained.splice(0)) done();
    const offsets: number[] = new Array(records.length);
    let failure: unknown;
    for (let i = 0; i < settled.length; i++) {
      const s = settled[i];
      if (s.status === 'fulfilled') {
        offsets[i] = s.value.seq - 1;
        this.advance(partition, s.value.seq);
      } else {
        failure ??= s.reason;
      }
    }
    if (failure !== undefined) throw this.appendFailed(partition, failure, records.length);
    this.noteSuccess(partition);
    this.countAppend(part, records, performance.now() - startedMs);
    return appendResult(offsets);
  }

  private appendFailed(partition: number, failure: unknown, count: number): Error {
    if (this.closed) return closedError();
    const e = translateNatsError(failure, `append to partition ${partition}`, {
      partition,
      stream: this.streamName(partition),
      count,
    });
    this.noteFailure(partition, e);
    return e;
  }

  private countAppend(part: PartitionCache, records: AppendRecord[], tookMs: number): void {
    part.appends++;
    part.appendMsSum += tookMs;
    part.appendMsMax = Math.max(part.appendMsMax, tookMs);
    part.records += records.length;
    for (const r of records) part.bytes += r.value.length;
    part.batchRecordsMax = Math.max(part.batchRecordsMax, records.length);
  }

  stats(): { partitions: PartitionStats[] } {
    return {
      partitions: this.parts.map((part, partition) => ({
        partition,
        offsetStart: part.offsetStart,
        offsetEnd: part.offsetEnd,
        segments: 0,
        bytes: part.bytes,
        batches: part.appends,
        records: part.records,
        fsyncs: 0,
        fsyncMsSum: 0,
        fsyncMsMax: 0,
        appendMsSum: part.appendMsSum,
        appends: part.appends,
        appendMsMax: part.appendMsMax,
        batchRecordsMax: part.batchRecordsMax,
        failed: false,
        unconsumedBytes: this.unconsumedBytes(partition),
        full: this.fullError(partition) !== undefined,
        retentionChecks: part.retentionChecks,
      })),
    };
  }

  async read(partition: number, offset: number, options: ReadOptions = {}): Promise<LogRecord[]> {
    this.checkOpen();
    const bad = this.checkPartition(partition);
    if (bad) throw bad;
    const part = this.parts[partition];
    if (!Number.isSafeInteger(offset) || offset < part.offsetStart || offset >= part.offsetEnd) {
      // The cache may be behind another process's appends or a purge: ask the server before answering empty or
      // refusing (one stream info; a reader at the end should waitFor first).
      if (Number.isSafeInteger(offset)) await this.bounds(partition);
      if (!Number.isSafeInteger(offset) || offset < part.offsetStart || offset > part.offsetEnd) {
        throw outOfRange(partition, offset, part.offsetStart, part.offsetEnd);
      }
    }
    const recordsMax = Math.min(options.recordsMax ?? limits.fetchRecordsMax, part.offsetEnd - offset);
    const bytesMax = options.bytesMax ?? limits.fetchBytesMax;
    const out: LogRecord[] = [];
    let bytes = 0;
    while (out.length < recordsMax && (out.length === 0 || bytes < bytesMax)) {
      const from = offset + out.length;
      let msgs: MessageView[] = await this.fetchRange(partition, from, recordsMax - out.length);
      if (msgs.length === 0) {
        // The consumer gave nothing back in time: fall back to direct gets, a window at a time.
        const n = Math.min(READ_WINDOW_MAX, recordsMax - out.length);
        msgs = await Promise.all(Array.from({ length: n }, (_, i) => this.getMessage(partition, from + i)));
      }
      for (const m of msgs) {
        if (out.length > 0 && bytes + m.data.length > bytesMax) return out;
        out.push(decodeMessage(m, this.streamName(partition)));
        bytes += m.data.length;
      }
    }
    return out;
  }

  /**
   * Up to `n` messages from `offset` on, in order, from the partition's ordered consumer: kept between calls so a
   * consumer reading on sequentially costs one fetch per batch; created anew when a read starts elsewhere. A gap
   * in the sequences (the stream lost a message) is SHOCK_LOG_CORRUPT_RECORD, as for a direct get.
   */
  private fetchRange(partition: number, offset: number, n: number): Promise<MessageView[]> {
    const part = this.parts[partition];
    const run = part.reading.then(() => this.fetchRangeNow(partition, offset, n));
    part.reading = run.catch(() => undefined);
    return run;
  }

  private async fetchRangeNow(partition: number, offset: number, n: number): Promise<MessageView[]> {
    const part = this.parts[partition];
    const stream = this.streamName(partition);
    try {
      if (part.cursor === undefined || part.cursor.next !== offset) {
        const old = part.cursor;
        part.cursor = undefined;
        old?.consumer.delete().catch(() => undefined);
        part.cursor = { consumer: await this.js.consumers.get(stream, { opt_start_seq: offset + 1 }), next: offset };
      }
      const cursor = part.cursor;
      const iter = await cursor.consumer.fetch({
        max_messages: Math.min(n, FETCH_MESSAGES_MAX),
        expires: this.config.requestTimeoutMs,
      });
      const out: MessageView[] = [];
      let gapAt: number | undefined;
      for await (const m of iter) {
        if (m.seq !== offset + out.length + 1) {
          gapAt = m.seq;
          break;
        }
        out.push({ seq: m.seq, header: m.headers ?? headers(), data: m.data });
        if (out.length >= n) break;
      }
      if (gapAt !== undefined) {
        part.cursor = undefined;
        // Retention removes the oldest messages: a read that started (or went on) below the stream's first sequence
        // is out of range, as for the file log. Any other gap is a lost message.
        const expected = offset + out.length;
        const { offsetStart, offsetEnd } = await this.bounds(partition);
        if (expected < offsetStart) {
          if (out.length > 0) return out;
          throw outOfRange(partition, expected, offsetStart, offsetEnd);
        }
        throw shockError('SHOCK_LOG_CORRUPT_RECORD', `stream ${stream} gave sequence ${gapAt} for ${expected + 1}`, {
          stream,
          partition,
          offset: expected,
          seq: gapAt,
        });
      }
      cursor.next = offset + out.length;
      this.noteSuccess(partition);
      return out;
    } catch (err) {
      part.cursor = undefined;
      if (this.closed) throw closedError();
      const e = translateNatsError(err, `read partition ${partition} at offset ${offset}`, {
        stream,
        partition,
        offset,
      });
      this.noteFailure(partition, e);
      throw e;
    }
  }

  private async getMessage(partition: number, offset: number): Promise<StoredMsg> {
    const stream = this.streamName(partition);
    let m: StoredMsg;
    try {
      m = await this.jsm.streams.getMessage(stream, { seq: offset + 1 });
    } catch (err) {
      if (this.closed) throw closedError();
      if (jsErrCode(err) === JsErrCode.messageNotFound) {
        const { offsetStart, offsetEnd } = await this.bounds(partition);
        if (offset < offsetStart) throw outOfRange(partition, offset, offsetStart, offsetEnd);
        throw shockError('SHOCK_LOG_CORRUPT_RECORD', `stream ${stream} has no message at sequence ${offset + 1}`, {
          stream,
          partition,
          offset,
          seq: offset + 1,
        });
      }
      throw translateNatsError(err, `read partition ${partition} at offset ${offset}`, { stream, partition, offset });
    }
    if (m.seq !== offset + 1) {
      throw shockError('SHOCK_LOG_CORRUPT_RECORD', `stream ${stream} answered sequence ${m.seq} for ${offset + 1}`, {
        stream,
        partition,
        offset,
        seq: m.seq,
      });
    }
    return m;
  }

  state(partition: number): PartitionState {
    const bad = this.checkPartition(partition);
    if (bad) throw bad;
    const { offsetStart, offsetEnd } = this.parts[partition];
    return { partition, offsetStart, offsetEnd };
  }

  waitFor(partition: number, offset: number, timeoutMs: number): Promise<number> {
    const bad = this.checkPartition(partition);
    if (bad) return Promise.reject(bad);
    const part = this.parts[partition];
    if (this.closed || part.offsetEnd > offset || timeoutMs <= 0) return Promise.resolve(part.offsetEnd);
    this.watch(partition);
    return new Promise<number>((resolve) => {
      const waiter = {
        offset,
        resolve,
        timer: setTimeout(() => {
          part.waiters.delete(waiter);
          resolve(part.offsetEnd);
        }, timeoutMs),
      };
      part.waiters.add(waiter);
    });
  }

  /** Starts (once) the ordered consumer that reports every stored sequence of the partition's stream. */
  private watch(partition: number): void {
    const part = this.parts[partition];
    if (part.watcher) return;
    part.watcher = new PartitionWatcher(this.js, this.streamName(partition), part.offsetEnd + 1, (seq) =>
      this.advance(partition, seq),
    );
  }

  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    this.closed = true;
    clearTimeout(this.probeTimer);
    clearInterval(this.retentionTimer);
    for (const part of this.parts) {
      for (const w of part.waiters) {
        clearTimeout(w.timer);
        w.resolve(part.offsetEnd);
      }
      part.waiters.clear();
    }
    await Promise.all(this.parts.map((part) => part.watcher?.stop()));
    await Promise.all(
      this.parts.map((part) => {
        const cursor = part.cursor;
        part.cursor = undefined;
        return cursor?.consumer.delete().catch(() => undefined);
      }),
    );
    await this.offsets?.close();
    // In-flight publishes settle within requestTimeoutMs; answer them before the connection goes.
    await Promise.all(
      this.parts.map((part) =>
        part.inflight === 0 ? undefined : new Promise<void>((resolve) => part.drained.push(resolve)),
      ),
    );
    await this.nc.close().catch(() => undefined);
  }

  private checkOpen(): void {
    if (this.closed) throw closedError();
  }

  private checkPartition(partition: number): Error | undefined {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions) {
      return shockError('SHOCK_LOG_BAD_PARTITION', `no partition ${partition}: the log has ${this.partitions}`, {
        partition,
        partitions: this.partitions,
      });
    }
    return undefined;
  }

  private validate(records: readonly AppendRecord[]): Error | undefined {
    return checkAppendRecords(records, (r, i) => {
      const bytes = recordBytes(r.key.length, r.value.length);
      const messageBytes = r.value.length + Math.ceil(r.key.length / 3) * 4 + MESSAGE_OVERHEAD_BYTES;
      if (bytes <= this.config.recordBytesMax && messageBytes <= this.messageBytesMax) return undefined;
      return shockError(
        'SHOCK_LOG_RECORD_TOO_LARGE',
        `record ${i} takes ${bytes} bytes (${messageBytes} as a NATS message); the log accepts ` +
          `${this.config.recordBytesMax} and the server's max_payload is ${this.messageBytesMax}`,
        {
          index: i,
          bytes,
          messageBytes,
          recordBytesMax: this.config.recordBytesMax,
          maxPayload: this.messageBytesMax,
        },
      );
    });
  }
}

/** The offsets bucket: created when missing, or (read-only) bound to an existing one. */
async function openOffsetsBucket(js: JetStreamClient, config: JetStreamLogConfig): Promise<KV> {
  const name = `${config.streamPrefix}_offsets`;
  try {
    return await js.views.kv(name, {
      history: 1,
      replicas: config.replicas,
      storage: StorageType.File,
      timeout: config.requestTimeoutMs,
      bindOnly: config.readOnly,
    });
  } catch (err) {
    if (config.readOnly && (jsErrCode(err) === JsErrCode.streamNotFound || /not found/i.test(String(err)))) {
      throw noLogError(config);
    }
    throw err;
  }
}

function noLogError(config: JetStreamLogConfig) {
  return shockError(
    'SHOCK_CLI_INPUT_UNREADABLE',
    `no shock log with stream prefix "${config.streamPrefix}" on ${config.servers.join(', ')} (no bucket ${config.streamPrefix}_offsets)`,
    {
      servers: config.servers,
      streamPrefix: config.streamPrefix,
      hint: 'pass --stream-prefix with the streamPrefix of the cell configuration (log.jetstream.streamPrefix)',
    },
  );
}

/** The partition count a log recorded at its first open (read-only tools learn it here). */
async function storedPartitionCount(kv: KV, config: JetStreamLogConfig): Promise<number> {
  const entry = await kv.get('meta.partitions');
  const stored = Number(entry?.operation === 'PUT' ? entry.string() : NaN);
  if (!Number.isSafeInteger(stored) || stored < 1) throw noLogError(config);
  return stored;
}

/**
 * Opens an existing JetStream log read-only, for tools (`shock log inspect/read`): creates and changes nothing,
 * takes the partition count from the log's bucket, refuses appends. SHOCK_CLI_INPUT_UNREADABLE when there is no
 * log with that prefix.
 */
export async function openJetStreamLogReader(
  options: Omit<JetStreamLogOptions, 'partitions' | 'readOnly'>,
): Promise<JetStreamLog> {
  const probe = resolveJetStreamOptions({ ...options, partitions: 1, readOnly: true });
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: probe.servers,
      name: probe.connectionName,
      timeout: probe.connectTimeoutMs,
      maxReconnectAttempts: 0,
    });
  } catch (err) {
    throw translateNatsError(err, `connect to NATS at ${probe.servers.join(', ')}`, { servers: probe.servers });
  }
  try {
    const kv = await openOffsetsBucket(nc.jetstream({ timeout: probe.requestTimeoutMs }), probe);
    const config = Object.freeze({ ...probe, partitions: await storedPartitionCount(kv, probe) });
    const log = new JetStreamLogImpl(nc, config);
    await log.open();
    return log;
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw translateNatsError(err, 'open the JetStream log', { streamPrefix: probe.streamPrefix });
  }
}

/** Partitions are fixed for the life of a log: the first open records the count, later opens must agree. */
async function checkPartitionCount(kv: KV, partitions: number): Promise<void> {
  const key = 'meta.partitions';
  let entry = await kv.get(key);
  if (entry === null || entry.operation !== 'PUT') {
    try {
      await kv.create(key, String(partitions));
      return;
    } catch {
      entry = await kv.get(key); // created concurrently by another process
    }
  }
  const stored = Number(entry?.string());
  if (stored !== partitions) {
    throw shockError(
      'SHOCK_CONFIG_INVALID',
      `this JetStream log has ${stored} partitions, the configuration says ${partitions}`,
      { stored, partitions, hint: 'partitions are fixed for the life of a log; use another streamPrefix to reshard' },
    );
  }
}

function recordHeaders(r: AppendRecord, nowMs: number): MsgHdrs {
  const h = headers();
  if (r.key.length > 0) h.set(HEADER_KEY, r.key.toString('base64'));
  h.set(HEADER_TIMESTAMP, String(r.timestampMs ?? nowMs));
  h.set(HEADER_CRC, String(crc32c(r.value, 0, r.value.length, crc32c(r.key))));
  return h;
}

/** A stored message back into a record, checking its CRC-32C and timestamp. */
function decodeMessage(m: MessageView, stream: string): LogRecord {
  const offset = m.seq - 1;
  const keyText = m.header.get(HEADER_KEY);
  const key = keyText === '' ? Buffer.alloc(0) : Buffer.from(keyText, 'base64');
  const value = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const timestampMs = Number(m.header.get(HEADER_TIMESTAMP));
  const crcText = m.header.get(HEADER_CRC);
  const crc = crc32c(value, 0, value.length, crc32c(key));
  if (crcText === '' || Number(crcText) !== crc || !Number.isSafeInteger(timestampMs)) {
    throw shockError(
      'SHOCK_LOG_CORRUPT_RECORD',
      `stream ${stream} sequence ${m.seq} failed its check (CRC-32C of key and value, or timestamp header)`,
      { stream, seq: m.seq, offset, crcStored: crcText, crcComputed: crc },
    );
  }
  return { offset, timestampMs, key, value };
}

function closedError() {
  return shockError('SHOCK_LOG_CLOSED', 'the JetStream log is closed');
}

function outOfRange(partition: number, offset: number, offsetStart: number, offsetEnd: number) {
  return shockError(
    'SHOCK_LOG_OFFSET_OUT_OF_RANGE',
    `offset ${offset} is outside partition ${partition} [${offsetStart}, ${offsetEnd}]`,
    { partition, offset, offsetStart, offsetEnd },
  );
}

/** The message id of a record id: a digest, so that any event id (any length, any character) fits a header. */
function messageId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('base64url');
}

/** One contiguous run → `{baseOffset, count}`; otherwise the offsets one by one as well. */
function appendResult(offsets: number[]): AppendResult {
  const baseOffset = offsets[0];
  const contiguous = offsets.every((o, i) => o === baseOffset + i);
  return contiguous ? { baseOffset, count: offsets.length } : { baseOffset, count: offsets.length, offsets };
}
