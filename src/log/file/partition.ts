/**
 * One partition of the file log on the writer's side: segments, group commit, reads and retention.
 *
 * Group commit, pipelined. `append` encodes its records at once (offsets assigned in call order) and queues the
 * buffer. When nothing is being written the queue is flushed after `groupCommitWindowMs` (0: at the next turn of the
 * event loop), or at once when it holds `groupCommitBytesMax` bytes or `groupCommitRecordsMax` records. Per
 * partition there is at most one write and at most one fdatasync in flight, and they overlap: whatever queues while
 * an fdatasync runs is written at once, and the next fdatasync starts as soon as the running one returns — before
 * its callers are answered, so their next appends are encoded while the disk works. A batch is answered only after
 * an fdatasync that STARTED after the batch's write had completed, so that fdatasync covers every byte of it.
 * A lone request waits about one window plus one write and one fdatasync; under load batches grow by themselves.
 *
 * fsync gate. After any failed write or fdatasync the partition is failed until the log is reopened (PostgreSQL
 * learned in 2018 that a retried fsync can succeed while the data is lost): every pending and later append is
 * rejected with SHOCK_LOG_IO, and reopening recovers the file from what is really on disk.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { assert, assertSafeInteger, shockError, type ShockError } from '../../base/index.js';
import { checkAppendRecords, encodeRecords, recordBytes } from '../record.js';
import type { AppendRecord, AppendResult, LogRecord } from '../log.js';
import { datasyncFd, fsyncDir, io, ioSync, isNotFound, translateIoError, writeFullySync } from './io.js';
import type { LogEvent, ResolvedFileLogOptions } from './options.js';
import type { Journal } from './journal.js';
import { readPartition, type ReadCursor, type ReadLimits, type SegmentView } from './read.js';
import { createSegmentFile, type SegmentInfo } from './recover.js';
import { logFullError, type LogFullState } from '../retention-policy.js';
import { segmentsToRemove, unconsumedBytes } from './retention.js';
import { encodeIndexEntries, indexName, segmentName, type IndexEntry } from './segment.js';

/** Counters of one partition, for metrics. Latencies are sums so a scraper derives means over any interval. */
export interface PartitionStats {
  partition: number;
  offsetStart: number;
  offsetEnd: number;
  segments: number;
  bytes: number;
  /** Write + fdatasync rounds. */
  batches: number;
  /** Records made durable. */
  records: number;
  fsyncs: number;
  fsyncMsSum: number;
  fsyncMsMax: number;
  /** Sum over append calls of the time from `append` to its answer. */
  appendMsSum: number;
  appends: number;
  appendMsMax: number;
  /** Records in the largest batch. */
  batchRecordsMax: number;
  /** True once a write or fsync failed (until reopened). */
  failed: boolean;
  /**
   * Bytes of records not yet consumed by every known group (`retentionPolicy: interest`; from the committed floor,
   * read at most every `FLOOR_REFRESH_MS`), appends not yet durable included.
   */
  unconsumedBytes: number;
  /** True while appends are refused with SHOCK_LOG_FULL (unconsumed bytes at `retentionBytesMax`, or the disk floor). */
  full: boolean;
  /** Retention checks run (at open, at each roll, periodically): a check that removed nothing counts too. */
  retentionChecks: number;
}

/** What a partition asks its log for retention: the committed floor of the known groups, the disk's state. */
export interface RetentionSource {
  /** The smallest offset the known groups committed in `partition` (null: no group known). Reads the offset files. */
  floor(partition: number): number | null;
  /** The disk's free bytes while they are below `diskFreeBytesMin`, else null (no floor, or room enough). */
  diskFreeBytesLow(): number | null;
}

/** The committed floor is read again at most this often for the full check and stats (a retention check always reads it). */
export const FLOOR_REFRESH_MS = 250;

interface Pending {
  buf: Buffer;
  offsetFirst: number;
  count: number;
  timestampMsMax: number;
  startedMs: number;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/** Appends written together by one `writev`. */
interface Batch {
  items: Pending[];
  bytes: number;
  records: number;
}

/** An fdatasync in flight and the batches it covers (all written before it started). */
interface Sync {
  done: Promise<void>;
  batches: Batch[];
}

interface Waiter {
  offset: number;
  resolve: (end: number) => void;
  timer: NodeJS.Timeout;
}

export class PartitionWriter {
  readonly dir: string;
  private readonly segments: SegmentInfo[];
  private fh: FileHandle | undefined;
  private indexFh: FileHandle | undefined;
  private offsetAssign: number;
  private offsetEndDurable: number;
  private failure: ShockError | undefined;
  private closed = false;
  private queue: Pending[] = [];
  private queueBytes = 0;
  private queueRecords = 0;
  private flushing: Promise<void> | undefined;
  /** The batch being written, if any. */
  private writing: Batch | undefined;
  /** Written, not yet covered by an fdatasync that started after the write. */
  private written: Batch[] = [];
  /** The fdatasync in flight, if any. */
  private syncing: Sync | undefined;
  /** Durable batches whose callers are being answered (the index write comes first). */
  private answering: Batch[] = [];
  /** Wakes the flush loop when an append queues while it waits for an fdatasync. */
  private wakeFlush: (() => void) | undefined;
  /** Byte position of the next write in the active segment (≥ its durable size). */
  private writeEnd: number;
  /** Offset of the first record of the next write (≥ the durable end). */
  private writeOffsetNext: number;
  private scheduled: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private waiters: Waiter[] = [];
  private cursor: ReadCursor | undefined;
  private pathOf: { base: number; path: string } | undefined;
  private readonly view: SegmentView;
  private readonly s: Omit<
    PartitionStats,
    | 'partition'
    | 'offsetStart'
    | 'offsetEnd'
    | 'segments'
    | 'bytes'
    | 'failed'
    | 'unconsumedBytes'
    | 'full'
    | 'retentionChecks'
  > = {
    batches: 0,
    records: 0,
    fsyncs: 0,
    fsyncMsSum: 0,
    fsyncMsMax: 0,
    appendMsSum: 0,
    appends: 0,
    appendMsMax: 0,
    batchRecordsMax: 0,
  };

  constructor(
    root: string,
    readonly partition: number,
    segments: SegmentInfo[],
    private readonly o: ResolvedFileLogOptions,
    private readonly publish: (partition: number, offsetStart: number, offsetEnd: number) => void,
    /** The committed floor and the disk's state, for retention and the full check. */
    private readonly source: RetentionSource,
    /** The log's shared journal (docs/adr/004-shared-journal.md); without it every sync is the segment's own. */
    private readonly journal?: Journal,
  ) {
    assert(segments.length > 0, 'a partition has at least one segment');
    this.dir = root;
    this.segments = segments;
    this.retentionHeld = o.retentionHeld;
    this.offsetEndDurable = segments[segments.length - 1].offsetNext;
    this.offsetAssign = this.offsetEndDurable;
    this.writeEnd = segments[segments.length - 1].sizeBytes;
    this.writeOffsetNext = this.offsetEndDurable;
    for (const x of segments) this.bytesTotal += x.sizeBytes;
    this.view = {
      dir: root,
      partition,
      lengthMax: o.recordBytesMax - 4,
      bases: async () => this.segments.map((x) => x.base),
      index: async (base) => this.segments.find((x) => x.base === base)?.index ?? [],
      bytesDurable: (base) => this.segments.find((x) => x.base === base)?.sizeBytes ?? 0,
      range: () => ({ offsetStart: this.offsetStart, offsetEnd: this.offsetEndDurable }),
    };
  }

  /** Opens the active segment for writing. */
  async start(): Promise<void> {
    await this.openActive();
    this.publish(this.partition, this.offsetStart, this.offsetEndDurable);
  }

  get offsetStart(): number {
    return this.segments[0].base;
  }

  get offsetEnd(): number {
    return this.offsetEndDurable;
  }

  append(records: readonly AppendRecord[]): Promise<AppendResult> {
    if (this.closed)
      return Promise.reject(shockError('SHOCK_LOG_CLOSED', 'the log is closed', { partition: this.partition }));
    if (this.failure) return Promise.reject(this.failedError());
    const problem = this.validate(records);
    if (problem) return Promise.reject(problem);
    if (records.length === 0) return Promise.resolve({ baseOffset: this.offsetAssign, count: 0 });
    const full = this.fullState();
    if (full) return Promise.reject(this.refuseFull(full));
    if (this.fullSinceMs !== undefined) this.noteRoom();
    const startedMs = performance.now();
    const nowMs = Date.now();
    const buf = encodeRecords(records, this.offsetAssign, nowMs);
    let timestampMsMax = 0;
    for (const r of records) timestampMsMax = Math.max(timestampMsMax, r.timestampMs ?? nowMs);
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({
        buf,
        offsetFirst: this.offsetAssign,
        count: records.length,
        timestampMsMax,
        startedMs,
        resolve,
        reject,
      });
      this.offsetAssign += records.length;
      this.bytesPending += buf.length;
      this.queueBytes += buf.length;
      this.queueRecords += records.length;
      this.schedule();
    });
  }

  private validate(records: readonly AppendRecord[]): ShockError | undefined {
    return checkAppendRecords(records, (r, i) => {
      const bytes = recordBytes(r.key.length, r.value.length);
      if (bytes <= this.o.recordBytesMax) return undefined;
      return shockError(
        'SHOCK_LOG_RECORD_TOO_LARGE',
        `record ${i} takes ${bytes} bytes, the log accepts ${this.o.recordBytesMax}`,
        { index: i, bytes, recordBytesMax: this.o.recordBytesMax },
      );
    });
  }

  private schedule(): void {
    if (this.flushing) {
      this.wakeFlush?.();
      return;
    }
    const full = this.queueBytes >= this.o.groupCommitBytesMax || this.queueRecords >= this.o.groupCommitRecordsMax;
    if (full) {
      this.startFlush();
      return;
    }
    if (this.scheduled) return;
    const run = () => {
      this.scheduled = undefined;
      this.startFlush();
    };
    this.scheduled = this.o.groupCommitWindowMs === 0 ? setImmediate(run) : setTimeout(run, this.o.groupCommitWindowMs);
  }

  private startFlush(): void {
    if (this.scheduled) {
      clearTimeout(this.scheduled as NodeJS.Timeout);
      clearImmediate(this.scheduled as NodeJS.Immediate);
      this.scheduled = undefined;
    }
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      // Appends answered by the last batch may have queued more before this ran.
      if (this.queue.length > 0 && !this.failure) this.schedule();
    });
  }

  /**
   * Writes and syncs until the queue is empty and everything written is answered. One write and one fdatasync may
   * be in flight together: batches queued during an fdatasync are written while it runs and covered by the next
   * one, which starts only after their write completed.
   */
  private async flushLoop(): Promise<void> {
    try {
      while (!this.failure) {
        if (!this.syncing && this.written.length > 0) this.startSync();
        if (this.queue.length > 0) {
          let writtenBytes = 0;
          let writtenRecords = 0;
          for (const w of this.written) {
            writtenBytes += w.bytes;
            writtenRecords += w.records;
          }
          const bytesRoom = this.o.groupCommitBytesMax - writtenBytes;
          const recordsRoom = this.o.groupCommitRecordsMax - writtenRecords;
          const next = this.queue[0];
          const fits = this.writeEnd === 0 || this.writeEnd + next.buf.length <= this.o.segmentBytesMax;
          // One fdatasync covers at most groupCommitBytesMax / groupCommitRecordsMax of written batches.
          const room = this.written.length === 0 || (next.buf.length <= bytesRoom && next.count <= recordsRoom);
          const idle = !this.syncing && this.written.length === 0;
          if ((fits && room) || idle) {
            // A roll happens only once everything written to the old segment is durable and answered.
            const target = fits ? this.segments[this.segments.length - 1] : await this.roll(this.writeOffsetNext);
            await this.writeBatch(
              target,
              this.takeBatch(Math.min(bytesRoom, this.o.segmentBytesMax - this.writeEnd), recordsRoom),
            );
            continue;
          }
        }
        const syncing = this.syncing;
        if (!syncing) return;
        // Wait for the fdatasync, or for an append to write meanwhile (not when it needs a roll: that waits).
        const woken = new Promise<void>((resolve) => (this.wakeFlush = resolve));
        let synced = false;
        await Promise.race([syncing.done.then(() => (synced = true)), woken]);
        this.wakeFlush = undefined;
        if (!synced) continue;
        this.syncing = undefined;
        // Start the next fdatasync before answering, so the answered callers encode while it runs.
        if (this.written.length > 0) this.startSync();
        this.answering = syncing.batches;
        await this.answer(syncing.batches);
        this.answering = [];
        // Let the answered callers append again before the next write is cut.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      this.fail(err);
    }
    // After a failure, let an fdatasync still in flight finish before the files may be closed.
    const left = this.syncing;
    this.syncing = undefined;
    if (left) await left.done.catch(() => undefined);
  }

  /** Takes queued appends (at least one) up to `bytesMax` bytes and `recordsMax` records. */
  private takeBatch(bytesMax: number, recordsMax: number): Batch {
    let bytes = 0;
    let records = 0;
    let n = 0;
    while (n < this.queue.length) {
      const next = this.queue[n];
      if (n > 0 && (bytes + next.buf.length > bytesMax || records + next.count > recordsMax)) break;
      bytes += next.buf.length;
      records += next.count;
      n++;
    }
    const items = this.queue.splice(0, n);
    this.queueBytes -= bytes;
    this.queueRecords -= records;
    return { items, bytes, records };
  }

  private async writeBatch(active: SegmentInfo, batch: Batch): Promise<void> {
    assert(batch.items[0].offsetFirst === this.writeOffsetNext, 'a batch starts where the last write ended', {
      offsetFirst: batch.items[0].offsetFirst,
      writeOffsetNext: this.writeOffsetNext,
    });
    // Only a completed write joins `written`, the batches the next fdatasync covers.
    this.writing = batch;
    const fd = this.fh!.fd;
    const bufs = new Array<Buffer>(batch.items.length);
    for (let i = 0; i < bufs.length; i++) bufs[i] = batch.items[i].buf;
    const at = this.writeEnd;
    this.writeEnd += batch.bytes;
    this.writeOffsetNext += batch.records;
    // Into the page cache on this thread (see writeFullySync); the fdatasync that covers it runs on a thread.
    ioSync('write', this.segmentPath(active), () => writeFullySync(fd, bufs, at));
    this.writing = undefined;
    this.written.push(batch);
  }

  /**
   * Starts an fdatasync covering every batch written so far (all their writes have completed): the journal's, when
   * the batches are small enough to be journaled, else the segment's own.
   */
  private startSync(): void {
    const active = this.segments[this.segments.length - 1];
    const path = this.segmentPath(active);
    const t0 = performance.now();
    let bytes = 0;
    let records = 0;
    for (const b of this.written) {
      bytes += b.bytes;
      records += b.records;
    }
    let synced: Promise<void>;
    if (this.journal && bytes <= this.o.journalWriteBytesMax) {
      const payloads: Buffer[] = [];
      for (const b of this.written) for (const p of b.items) payloads.push(p.buf);
      try {
        this.journal.append(
          {
            partition: this.partition,
            segmentBase: active.base,
            position: this.writeEnd - bytes,
            offsetFirst: this.written[0].items[0].offsetFirst,
            records,
          },
          payloads,
        );
        synced = this.journal.sync();
      } catch (err) {
        synced = Promise.reject(err);
      }
    } else {
      synced = datasyncFd(this.fh!.fd, path);
    }
    const done = synced.then(() => {
      const fsyncMs = performance.now() - t0;
      this.s.fsyncs++;
      this.s.fsyncMsSum += fsyncMs;
      if (fsyncMs > this.s.fsyncMsMax) this.s.fsyncMsMax = fsyncMs;
    });
    done.catch(() => undefined); // handled where it is awaited; a failure elsewhere may leave it unawaited
    this.syncing = { done, batches: this.written };
    this.written = [];
  }

  /** Publishes durable batches (sizes, offsets, index) and answers their callers. */
  private async answer(batches: Batch[]): Promise<void> {
    const active = this.segments[this.segments.length - 1];
    const entries: IndexEntry[] = [];
    for (const batch of batches) this.advance(active, batch, entries);
    if (entries.length > 0) await this.writeIndex(active, entries);
    const now = performance.now();
    for (const batch of batches) {
      for (const p of batch.items) {
        const ms = now - p.startedMs;
        this.s.appendMsSum += ms;
        this.s.appends++;
        if (ms > this.s.appendMsMax) this.s.appendMsMax = ms;
        p.resolve({ baseOffset: p.offsetFirst, count: p.count });
      }
    }
  }

  /** Records a durable batch: sizes, offsets, index entries to add (into `entries`); wakes readers. */
  private advance(active: SegmentInfo, batch: Batch, entries: IndexEntry[]): void {
    assert(batch.items[0].offsetFirst === active.offsetNext, 'a durable batch starts where the segment ends', {
      offsetFirst: batch.items[0].offsetFirst,
      offsetNext: active.offsetNext,
    });
    let position = active.sizeBytes;
    for (const p of batch.items) {
      if (active.index.length === 0 || active.bytesSinceIndex >= this.o.indexIntervalBytes) {
        entries.push({ offset: p.offsetFirst, position });
        active.index.push({ offset: p.offsetFirst, position });
        active.bytesSinceIndex = 0;
      }
      active.bytesSinceIndex += p.buf.length;
      position += p.buf.length;
      if (p.timestampMsMax > active.timestampMsMax) active.timestampMsMax = p.timestampMsMax;
    }
    const offsetEnd = active.offsetNext + batch.records;
    assert(offsetEnd > this.offsetEndDurable, 'durable end offsets only grow', {
      offsetEnd,
      before: this.offsetEndDurable,
    });
    assertSafeInteger(offsetEnd, 'offsetEnd');
    active.sizeBytes += batch.bytes;
    this.bytesTotal += batch.bytes;
    this.bytesPending -= batch.bytes;
    active.offsetNext = offsetEnd;
    this.offsetEndDurable = offsetEnd;
    this.s.batches++;
    this.s.records += batch.records;
    if (batch.records > this.s.batchRecordsMax) this.s.batchRecordsMax = batch.records;
    this.publish(this.partition, this.offsetStart, offsetEnd);
    this.wake();
  }

  private async writeIndex(active: SegmentInfo, entries: IndexEntry[]): Promise<void> {
    const buf = encodeIndexEntries(active.base, entries);
    const at = (active.index.length - entries.length) * 8;
    const fd = this.indexFh!.fd;
    ioSync('write index', join(this.dir, indexName(active.base)), () => writeFullySync(fd, [buf], at));
  }

  /** The active segment's path (cached: it is on every error path of every write). */
  private segmentPath(segment: SegmentInfo): string {
    if (this.pathOf?.base !== segment.base)
      this.pathOf = { base: segment.base, path: join(this.dir, segmentName(segment.base)) };
    return this.pathOf.path;
  }

  /** Starts a new segment at `base`. The old one's records were all fsynced and answered by earlier batches. */
  private async roll(base: number): Promise<SegmentInfo> {
    assert(
      !this.syncing && this.written.length === 0 && base === this.offsetEndDurable,
      'roll only when all is durable',
      {
        base,
        offsetEnd: this.offsetEndDurable,
      },
    );
    // With the journal, the old segment's tail may be durable only there: make it durable in the segment itself
    // before the journal may drop it (a checkpoint syncs only active segments).
    if (this.journal) await datasyncFd(this.fh!.fd, this.segmentPath(this.segments[this.segments.length - 1]));
    await this.closeFiles();
    await createSegmentFile(this.dir, base);
    const seg: SegmentInfo = { base, sizeBytes: 0, offsetNext: base, index: [], bytesSinceIndex: 0, timestampMsMax: 0 };
    this.segments.push(seg);
    this.writeEnd = 0;
    await this.openActive();
    await this.applyRetention(Date.now());
    return seg;
  }

  private async openActive(): Promise<void> {
    const active = this.segments[this.segments.length - 1];
    const path = join(this.dir, segmentName(active.base));
    this.fh = await io('open segment', path, () => open(path, 'r+'));
    const indexPath = join(this.dir, indexName(active.base));
    this.indexFh = await io('open index', indexPath, () => open(indexPath, 'r+'));
  }

  /** Retention is held (a sealed generation being drained): `applyRetention` removes nothing. */
  retentionHeld = false;
  private retaining: Promise<void> = Promise.resolve();
  private retentionChecks = 0;
  /** Bytes of every segment (durable), and of appends not yet durable. */
  private bytesTotal = 0;
  private bytesPending = 0;
  /** The committed floor as last read, when, and the durable bytes below it then. */
  private floorCached: number | null = null;
  private floorReadMs = -Infinity;
  private bytesConsumed = 0;
  /** When the current full spell began (the first refused append), or undefined while there is room. */
  private fullSinceMs: number | undefined;

  /**
   * Removes the oldest segments (never the active one) that the retention policy lets go, unless retention is held.
   * Calls run one after another (a roll and the periodic check may ask at the same time).
   */
  applyRetention(nowMs: number): Promise<void> {
    const run = this.retaining.then(() => this.retain(nowMs));
    this.retaining = run.catch(() => undefined);
    return run;
  }

  private async retain(nowMs: number): Promise<void> {
    const { retentionBytesMax, retentionMs, retentionPolicy } = this.o;
    const interest = retentionPolicy === 'interest';
    const diskLow = interest && this.source.diskFreeBytesLow() !== null;
    if (retentionBytesMax === undefined && retentionMs === undefined && !diskLow) {
      this.retentionChecks++;
      return;
    }
    const floor = interest ? this.readFloor() : 0;
    const count = segmentsToRemove(this.segments, {
      policy: retentionPolicy,
      retentionMs,
      retentionBytesMax,
      floor: floor ?? 0,
      nowMs,
      diskLow,
    });
    let removed = 0;
    // Checked again before each segment: a hold that starts meanwhile stops the removal at once.
    while (removed < count && this.segments.length > 1 && !this.retentionHeld) {
      const oldest = this.segments.shift()!;
      assert(!interest || oldest.offsetNext <= (floor ?? 0), 'interest retention removes consumed records only', {
        offsetNext: oldest.offsetNext,
        floor,
      });
      this.bytesTotal -= oldest.sizeBytes;
      removed++;
      // The new start is published before the files go, so a reader never looks for a removed segment's records.
      this.publish(this.partition, this.offsetStart, this.offsetEndDurable);
      for (const name of [segmentName(oldest.base), indexName(oldest.base)]) {
        const path = join(this.dir, name);
        await io('remove segment', path, () =>
          unlink(path).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e))),
        );
      }
    }
    this.readFloor();
    this.retentionChecks++;
    if (removed > 0) {
      await fsyncDir(this.dir);
      this.logger({
        level: 'info',
        message: `retention removed ${removed} segment(s) of partition ${this.partition}`,
        details: { partition: this.partition, offsetStart: this.offsetStart, policy: retentionPolicy },
      });
    }
  }

  /** The error of a refused append; the first refusal of a full spell is reported (warn) once. */
  private refuseFull(full: LogFullState) {
    const err = logFullError(full);
    if (this.fullSinceMs === undefined) {
      this.fullSinceMs = Date.now();
      this.logger({
        level: 'warn',
        message: `${err.message}; appends are refused (SHOCK_LOG_FULL) until the consumers catch up`,
        details: err.details,
      });
    }
    return err;
  }

  private noteRoom(): void {
    const ms = Date.now() - this.fullSinceMs!;
    this.fullSinceMs = undefined;
    this.logger({
      level: 'info',
      message: `partition ${this.partition} of the log has room again after ${ms} ms full: appends resume`,
      details: { partition: this.partition, fullMs: ms },
    });
  }

  /** A group committed in this process: the next full check or stats read the floor again. */
  floorMoved(): void {
    this.floorReadMs = -Infinity;
  }

  /** Reads the committed floor of the known groups now, and the durable bytes below it. */
  private readFloor(): number | null {
    this.floorReadMs = performance.now();
    try {
      this.floorCached = this.source.floor(this.partition);
    } catch (err) {
      // Keep the last floor read (committed offsets move forward, so it was consumed then and still is), and let
      // appends and stats go on; the consumer whose offset file is unreadable reports it at its own next read.
      this.logger({
        level: 'warn',
        message: `partition ${this.partition}: cannot read the committed offsets for retention: ${(err as Error).message}`,
      });
    }
    const floor = this.floorCached ?? 0;
    this.bytesConsumed = this.bytesTotal - unconsumedBytes(this.segments, floor, 0);
    return this.floorCached;
  }

  /** Unconsumed bytes from the cached floor; with `fresh`, the floor is read again when older than FLOOR_REFRESH_MS. */
  private unconsumed(fresh: boolean): number {
    if (fresh && performance.now() - this.floorReadMs >= FLOOR_REFRESH_MS) this.readFloor();
    return this.bytesTotal + this.bytesPending - this.bytesConsumed;
  }

  /**
   * Why an append must be refused now (the disk below its floor; under `interest`, unconsumed bytes at
   * `retentionBytesMax`), or undefined. O(1) while there is room: the floor is read only when the cached one says full.
   */
  private fullState(): LogFullState | undefined {
    const { retentionBytesMax, retentionPolicy, diskFreeBytesMin } = this.o;
    const diskFree = this.source.diskFreeBytesLow();
    if (diskFree !== null) {
      return {
        partition: this.partition,
        unconsumedBytes: this.unconsumed(true),
        retentionBytesMax: null,
        diskFreeBytes: diskFree,
        diskFreeBytesMin,
      };
    }
    if (retentionPolicy !== 'interest' || retentionBytesMax === undefined) return undefined;
    if (this.unconsumed(false) < retentionBytesMax) return undefined;
    const unconsumedBytes = this.unconsumed(true);
    if (unconsumedBytes < retentionBytesMax) return undefined;
    return {
      partition: this.partition,
      unconsumedBytes,
      retentionBytesMax,
      diskFreeBytes: null,
      diskFreeBytesMin: null,
    };
  }

  private get logger(): (e: LogEvent) => void {
    return this.o.logger;
  }

  /** Reads durable records from `offset` (see `Log.read`). */
  async read(offset: number, limits: ReadLimits): Promise<LogRecord[]> {
    const { records, cursor } = await readPartition(this.view, offset, limits, this.cursor);
    this.cursor = cursor;
    return records;
  }

  /** Resolves once the durable end passes `offset`, after `timeoutMs`, or at close. */
  waitFor(offset: number, timeoutMs: number): Promise<number> {
    if (this.offsetEndDurable > offset || this.closed || !(timeoutMs > 0))
      return Promise.resolve(this.offsetEndDurable);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        offset,
        resolve,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(this.offsetEndDurable);
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private wake(all = false): void {
    if (this.waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (all || this.offsetEndDurable > w.offset) {
        clearTimeout(w.timer);
        w.resolve(this.offsetEndDurable);
      } else {
        keep.push(w);
      }
    }
    this.waiters = keep;
  }

  /** Enters the failed state (fsync gate) and rejects everything not yet answered: written, being synced, queued. */
  private fail(err: unknown): void {
    const translated = translateIoError(
      err,
      'append',
      join(this.dir, segmentName(this.segments[this.segments.length - 1].base)),
    );
    this.failure =
      translated instanceof Error && (translated as ShockError).code === 'SHOCK_LOG_IO'
        ? (translated as ShockError)
        : shockError(
            'SHOCK_LOG_IO',
            `log append failed on partition ${this.partition}`,
            { partition: this.partition },
            err,
          );
    this.logger({
      level: 'error',
      message: `partition ${this.partition} failed and accepts no more appends until the log is reopened: ${this.failure.message}`,
      details: { partition: this.partition, ...this.failure.details },
    });
    const rejected: Pending[] = [];
    const unanswered = [...this.answering, ...(this.syncing?.batches ?? []), ...this.written];
    if (this.writing) unanswered.push(this.writing);
    for (const batch of unanswered) rejected.push(...batch.items);
    this.answering = [];
    this.writing = undefined;
    rejected.push(...this.queue);
    this.written = [];
    if (this.syncing) this.syncing = { ...this.syncing, batches: [] };
    this.queue = [];
    this.queueBytes = 0;
    this.queueRecords = 0;
    for (const p of rejected) p.reject(this.failure);
  }

  private failedError(): ShockError {
    const f = this.failure!;
    return shockError(
      'SHOCK_LOG_IO',
      `partition ${this.partition} failed earlier and accepts no appends until the log is reopened: ${f.message}`,
      { ...f.details, partition: this.partition },
      f,
    );
  }

  stats(): PartitionStats {
    return {
      partition: this.partition,
      offsetStart: this.offsetStart,
      offsetEnd: this.offsetEndDurable,
      segments: this.segments.length,
      bytes: this.bytesTotal,
      ...this.s,
      failed: this.failure !== undefined,
      unconsumedBytes: this.unconsumed(true),
      full: this.fullState() !== undefined,
      retentionChecks: this.retentionChecks,
    };
  }

  /**
   * fdatasyncs the active segment, so that the journal entries written before this call are no longer needed (a
   * checkpoint). A segment that rolled meanwhile was fdatasynced at its roll. Throws on a failed partition: its
   * segment may lack what the journal holds, and the journal must keep it.
   */
  async syncSegment(): Promise<void> {
    if (this.failure) throw this.failedError();
    const fh = this.fh;
    if (!fh) return;
    await fh.datasync().catch((err: unknown) => {
      if (this.fh !== fh) return; // closed by a roll, which fdatasynced it first
      throw translateIoError(err, 'fdatasync', this.segmentPath(this.segments[this.segments.length - 1]));
    });
  }

  /**
   * Flushes what is queued (unless failed), answers waiters, closes files. With the journal the active segment is
   * fdatasynced first; returns false when the segment may lack acknowledged records that only the journal holds (a
   * failed partition), so the journal must be kept for the next open.
   */
  async close(): Promise<boolean> {
    if (this.closed) return this.failure === undefined;
    this.closed = true;
    this.startFlush();
    while (this.flushing) await this.flushing;
    this.wake(true);
    let durable = this.failure === undefined;
    if (this.journal && durable && this.fh) {
      try {
        await datasyncFd(this.fh.fd, this.segmentPath(this.segments[this.segments.length - 1]));
      } catch {
        durable = false;
      }
    }
    await this.closeFiles();
    return durable;
  }

  private async closeFiles(): Promise<void> {
    const fh = this.fh;
    const indexFh = this.indexFh;
    this.fh = undefined;
    this.indexFh = undefined;
    await fh?.close().catch(() => undefined);
    await indexFh?.close().catch(() => undefined);
  }
}
