/**
 * The log's journal: one write-ahead file shared by every partition, so that one fdatasync makes the small writes
 * of all partitions durable at once (docs/adr/004-shared-journal.md).
 *
 * Why. Each partition's group commit ends in an fdatasync of its own segment. At a moderate rate spread over P
 * partitions each of those covers one or two requests, so the machine runs P fdatasyncs (and 2P thread hand-offs)
 * where one would do. With the journal, a partition's small write goes to its segment (page cache) AND, framed, to
 * the journal; the partition waits for a journal fdatasync that started after its entry was written. A write larger
 * than `journalWriteBytesMax` skips the journal and syncs its own segment as before: it amortises its fdatasync
 * alone, and journaling it would only double its bytes.
 *
 * Layout: `DIR/journal/<seq, 20 digits>.wal`, a sequence of entries (little-endian):
 *
 * | bytes | field |
 * | --- | --- |
 * | 0..4 | magic 0x4a4b4853 ("SHKJ") |
 * | 4..8 | CRC-32C of bytes 8..end of the entry |
 * | 8..12 | payload bytes (u32) |
 * | 12..16 | partition (u32) |
 * | 16..20 | records in the payload (u32) |
 * | 20..28 | base offset of the segment written (u64) |
 * | 28..36 | byte position in that segment where the payload was written (u64) |
 * | 36..44 | offset of the payload's first record (u64) |
 * | 44.. | payload: the segment's own record frames, byte for byte |
 *
 * Checkpoint. When a file reaches `journalBytesMax` the next sync round moves to a new file; once that round is
 * durable every partition fdatasyncs its active segment (a segment that rolled was fdatasynced at its roll), and the
 * old file is removed. Recovery (`replayJournal`) writes back whatever a power loss took from a segment's unsynced
 * tail; a clean close checkpoints and removes the journal.
 */
import { closeSync, openSync, readdirSync } from 'node:fs';
import { readFile, unlink, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { assert, shockError, type ShockError } from '../../base/index.js';
import { crc32c } from '../crc32c.js';
import { datasyncFd, fsyncDir, io, ioSync, isNotFound, translateIoError, writeFullySync } from './io.js';
import type { LogEvent } from './options.js';

export const JOURNAL_DIR = 'journal';
export const JOURNAL_SUFFIX = '.wal';
export const JOURNAL_ENTRY_MAGIC = 0x4a4b4853;
export const JOURNAL_HEADER_BYTES = 44;
/** The payload of one entry is at most this (the writer never journals more than `journalWriteBytesMax`). */
export const JOURNAL_PAYLOAD_MAX = 2 ** 30;

/** One journal entry: a write of `payload` at `position` of partition `partition`'s segment `segmentBase`. */
export interface JournalEntry {
  partition: number;
  segmentBase: number;
  position: number;
  offsetFirst: number;
  records: number;
  payload: Buffer;
}

export function journalName(seq: number): string {
  return String(seq).padStart(20, '0') + JOURNAL_SUFFIX;
}

export function parseJournalName(name: string): number | undefined {
  const m = /^(\d{20})\.wal$/.exec(name);
  if (!m) return undefined;
  const seq = Number(m[1]);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

function putU64(buf: Buffer, at: number, n: number): void {
  buf.writeUInt32LE(n % 0x1_0000_0000, at);
  buf.writeUInt32LE(Math.floor(n / 0x1_0000_0000), at + 4);
}

function getU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 0x1_0000_0000;
}

/** The header of an entry whose payload is `payloads` (CRC computed over the header's tail and the payloads). */
export function encodeJournalHeader(e: Omit<JournalEntry, 'payload'>, payloads: readonly Uint8Array[]): Buffer {
  let bytes = 0;
  for (const p of payloads) bytes += p.length;
  assert(bytes <= JOURNAL_PAYLOAD_MAX, 'a journal payload fits its length field', { bytes });
  const h = Buffer.allocUnsafe(JOURNAL_HEADER_BYTES);
  h.writeUInt32LE(JOURNAL_ENTRY_MAGIC, 0);
  h.writeUInt32LE(bytes, 8);
  h.writeUInt32LE(e.partition, 12);
  h.writeUInt32LE(e.records, 16);
  putU64(h, 20, e.segmentBase);
  putU64(h, 28, e.position);
  putU64(h, 36, e.offsetFirst);
  let crc = crc32c(h, 8, JOURNAL_HEADER_BYTES);
  for (const p of payloads) crc = crc32c(p, 0, p.length, crc);
  h.writeUInt32LE(crc, 4);
  return h;
}

/** One whole entry in one buffer (tests and tools; the writer sends header and payloads with one writev). */
export function encodeJournalEntry(e: JournalEntry): Buffer {
  return Buffer.concat([encodeJournalHeader(e, [e.payload]), e.payload]);
}

/**
 * Decodes the entries of one journal file, in order, up to the first that is incomplete or fails its magic or CRC
 * (a torn tail: nothing after it is trusted). `validBytes` is where the good entries end.
 */
export function decodeJournal(buf: Buffer): { entries: JournalEntry[]; validBytes: number } {
  const entries: JournalEntry[] = [];
  let at = 0;
  while (at + JOURNAL_HEADER_BYTES <= buf.length) {
    if (buf.readUInt32LE(at) !== JOURNAL_ENTRY_MAGIC) break;
    const bytes = buf.readUInt32LE(at + 8);
    const end = at + JOURNAL_HEADER_BYTES + bytes;
    if (bytes > JOURNAL_PAYLOAD_MAX || end > buf.length) break;
    if (crc32c(buf, at + 8, end) !== buf.readUInt32LE(at + 4)) break;
    entries.push({
      partition: buf.readUInt32LE(at + 12),
      records: buf.readUInt32LE(at + 16),
      segmentBase: getU64(buf, at + 20),
      position: getU64(buf, at + 28),
      offsetFirst: getU64(buf, at + 36),
      payload: buf.subarray(at + JOURNAL_HEADER_BYTES, end),
    });
    at = end;
  }
  return { entries, validBytes: at };
}

/** A journal file found on disk, its entries decoded. */
export interface JournalFile {
  seq: number;
  path: string;
  entries: JournalEntry[];
  /** Bytes after the last good entry (a torn tail), 0 when the file ends cleanly. */
  tornBytes: number;
}

/** Reads every journal file of the log in `dir`, oldest first (none: an empty list). */
export async function readJournalFiles(dir: string): Promise<JournalFile[]> {
  const jdir = join(dir, JOURNAL_DIR);
  let names: string[];
  try {
    names = readdirSync(jdir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw translateIoError(err, 'read directory', jdir);
  }
  const seqs = names
    .map(parseJournalName)
    .filter((s): s is number => s !== undefined)
    .sort((a, b) => a - b);
  const out: JournalFile[] = [];
  for (const seq of seqs) {
    const path = join(jdir, journalName(seq));
    const buf = await io('read journal', path, () => readFile(path));
    const { entries, validBytes } = decodeJournal(buf);
    out.push({ seq, path, entries, tornBytes: buf.length - validBytes });
  }
  return out;
}

/** Removes journal files (after their entries are durable in the segments) and makes the removal durable. */
export async function removeJournalFiles(dir: string, files: readonly { path: string }[]): Promise<void> {
  if (files.length === 0) return;
  for (const f of files) {
    await io('remove journal', f.path, () =>
      unlink(f.path).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e))),
    );
  }
  await fsyncDir(join(dir, JOURNAL_DIR));
}

/** Counters of the journal, for stats and benchmarks. */
export interface JournalStats {
  /** Entries written (one per partition sync round that used the journal). */
  entries: number;
  /** Bytes written, headers included. */
  bytes: number;
  /** fdatasync rounds of the journal. */
  syncs: number;
  syncMsSum: number;
  syncMsMax: number;
  /** Checkpoints completed (journal files retired). */
  checkpoints: number;
  /** True once a journal write, fdatasync or checkpoint failed (until the log is reopened). */
  failed: boolean;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // awaited by the partitions that asked; a failure may reach none of them
  return { promise, resolve, reject };
}

export interface JournalOptions {
  /** The log directory (the journal lives in `DIR/journal`). */
  dir: string;
  /** A file at least this large is retired at the next sync round (checkpoint). */
  journalBytesMax: number;
  /** fdatasyncs every partition's active segment: what a checkpoint needs before an old file may go. */
  checkpoint: () => Promise<void>;
  logger: (event: LogEvent) => void;
}

/**
 * The journal writer. `append` writes an entry into the page cache on the calling thread; `sync` resolves after an
 * fdatasync of the journal that STARTED after the call, so it covers every entry appended before. One fdatasync is
 * in flight at a time: callers that arrive meanwhile share the next one (group commit across partitions).
 */
export class Journal {
  private readonly jdir: string;
  private fd: number;
  private seq: number;
  private path: string;
  private size = 0;
  /** The file's name is not yet durable in the directory (the next round fsyncs the directory too). */
  private nameDurable = false;
  private inflight: Promise<void> | undefined;
  private next: Deferred | undefined;
  private failure: ShockError | undefined;
  /** Files retired by a rotation whose checkpoint has not finished. */
  private retiring: { fd: number; path: string }[] = [];
  private checkpointing: Promise<void> | undefined;
  private closed = false;
  private readonly s: Omit<JournalStats, 'failed'> = {
    entries: 0,
    bytes: 0,
    syncs: 0,
    syncMsSum: 0,
    syncMsMax: 0,
    checkpoints: 0,
  };

  private constructor(
    private readonly o: JournalOptions,
    seq: number,
  ) {
    this.jdir = join(o.dir, JOURNAL_DIR);
    this.seq = seq;
    this.path = join(this.jdir, journalName(seq));
    this.fd = ioSync('create journal', this.path, () => openSync(this.path, 'wx'));
  }

  /** Creates a fresh journal file numbered `seq` (recovery has replayed and removed the older ones). */
  static async create(o: JournalOptions, seq: number): Promise<Journal> {
    const jdir = join(o.dir, JOURNAL_DIR);
    const created = await io('create directory', jdir, () => mkdir(jdir, { recursive: true }));
    if (created !== undefined) await fsyncDir(o.dir);
    return new Journal(o, seq);
  }

  /** Writes one entry (header + the segment's frames) into the page cache. Throws SHOCK_LOG_IO on a failed write. */
  append(e: Omit<JournalEntry, 'payload'>, payloads: Buffer[]): void {
    if (this.failure) throw this.failedError();
    assert(!this.closed, 'no journal append after close');
    const header = encodeJournalHeader(e, payloads);
    const bufs = [header, ...payloads];
    try {
      const n = ioSync('write journal', this.path, () => writeFullySync(this.fd, bufs, this.size));
      this.size += n;
      this.s.entries++;
      this.s.bytes += n;
    } catch (err) {
      this.fail(err);
      throw this.failure!;
    }
  }

  /** Resolves once an fdatasync of the journal that started after this call has completed. */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failedError());
    if (!this.inflight) {
      const round = this.round();
      this.inflight = round;
      return round;
    }
    this.next ??= deferred();
    return this.next.promise;
  }

  /** One fdatasync round; never throws (a failure, even to create the next file, fails the journal in afterRound). */
  private round(): Promise<void> {
    let rotated: { fd: number; path: string } | undefined;
    let done: Promise<void>;
    try {
      const synced = { fd: this.fd, path: this.path };
      if (this.size >= this.o.journalBytesMax && !this.checkpointing && !this.closed) {
        // Entries from now on go to a new file; this round makes the old one durable, then a checkpoint retires it.
        const path = join(this.jdir, journalName(this.seq + 1));
        const fd = ioSync('create journal', path, () => openSync(path, 'wx'));
        rotated = synced;
        this.seq++;
        this.path = path;
        this.fd = fd;
        this.size = 0;
        this.nameDurable = false;
      }
      const nameDurable = this.nameDurable;
      const tasks = [datasyncFd(synced.fd, synced.path)];
      if (!nameDurable) tasks.push(fsyncDir(this.jdir));
      const t0 = performance.now();
      done = Promise.all(tasks).then(() => {
        const ms = performance.now() - t0;
        this.s.syncs++;
        this.s.syncMsSum += ms;
        if (ms > this.s.syncMsMax) this.s.syncMsMax = ms;
        if (!nameDurable) this.nameDurable = true;
      });
    } catch (err) {
      done = Promise.reject(err);
    }
    done.then(
      () => this.afterRound(rotated),
      (err: unknown) => this.afterRound(rotated, err),
    );
    return done;
  }

  private afterRound(rotated: { fd: number; path: string } | undefined, err?: unknown): void {
    this.inflight = undefined;
    if (err !== undefined) {
      if (rotated) this.retiring.push(rotated);
      this.fail(err);
      return;
    }
    if (rotated) {
      this.retiring.push(rotated);
      this.checkpointing = this.checkpoint().finally(() => (this.checkpointing = undefined));
    }
    const next = this.next;
    if (next && !this.failure) {
      this.next = undefined;
      const round = this.round();
      this.inflight = round;
      round.then(next.resolve, next.reject);
    }
  }

  /** Makes every retired file's entries durable in the segments, then removes the files. */
  private async checkpoint(): Promise<void> {
    const files = this.retiring;
    try {
      await this.o.checkpoint();
      this.retiring = [];
      for (const f of files) closeSync(f.fd);
      await removeJournalFiles(this.o.dir, files);
      this.s.checkpoints++;
    } catch (err) {
      this.fail(err);
    }
  }

  /** fsync gate: after a failed journal write, fdatasync or checkpoint, every later sync fails until reopen. */
  private fail(err: unknown): void {
    if (this.failure) return;
    const t = translateIoError(err, 'journal', this.path);
    this.failure =
      t instanceof Error && (t as ShockError).code === 'SHOCK_LOG_IO'
        ? (t as ShockError)
        : shockError('SHOCK_LOG_IO', `the log's journal failed: ${(err as Error)?.message}`, { path: this.path }, err);
    this.o.logger({
      level: 'error',
      message: `the journal failed and the log accepts no more appends until it is reopened: ${this.failure.message}`,
      details: { ...this.failure.details },
    });
    const next = this.next;
    this.next = undefined;
    next?.reject(this.failedError());
  }

  private failedError(): ShockError {
    const f = this.failure!;
    return shockError(
      'SHOCK_LOG_IO',
      `the log's journal failed earlier; no append is accepted until the log is reopened: ${f.message}`,
      { ...f.details },
      f,
    );
  }

  stats(): JournalStats {
    return { ...this.s, failed: this.failure !== undefined };
  }

  /**
   * After the partitions have flushed and fdatasynced their segments: waits for work in flight, then removes the
   * journal (a clean close leaves none, so the next open replays nothing). After a failure, or when a partition
   * could not fdatasync its segment (`removeFiles` false), the files stay for the next open's recovery.
   */
  async close(removeFiles: boolean): Promise<void> {
    this.closed = true;
    while (this.inflight || this.checkpointing) {
      await this.inflight?.catch(() => undefined);
      await this.checkpointing;
    }
    const files = [...this.retiring, { fd: this.fd, path: this.path }];
    for (const f of files) closeSync(f.fd);
    this.retiring = [];
    if (removeFiles && !this.failure) await removeJournalFiles(this.o.dir, files);
  }
}

/**
 * Replays journal entries into one partition's segments after a crash: for each segment, every entry that ends
 * past what recovery found valid is written back at its position (the overlap is the same bytes), in journal
 * order. An entry that starts beyond the segment's end (a gap: an earlier write was neither journaled nor made
 * durable, so nothing after it was ever acknowledged) stops the replay of that segment. Entries for segments that
 * no longer exist (removed by retention, so fdatasynced long before) are skipped. The segments written are
 * fdatasynced. Returns the bytes written back.
 */
export async function replayPartition(
  partitionDir: string,
  partition: number,
  segments: readonly { base: number; sizeBytes: number }[],
  entries: readonly JournalEntry[],
  segmentPath: (base: number) => string,
  logger: (e: LogEvent) => void,
): Promise<number> {
  const ends = new Map(segments.map((s) => [s.base, s.sizeBytes]));
  const stopped = new Set<number>();
  const touched = new Map<number, number>();
  let written = 0;
  try {
    for (const e of entries) {
      if (e.partition !== partition || stopped.has(e.segmentBase)) continue;
      const end = ends.get(e.segmentBase);
      if (end === undefined) continue;
      const entryEnd = e.position + e.payload.length;
      if (entryEnd <= end) continue;
      if (e.position > end) {
        stopped.add(e.segmentBase);
        logger({
          level: 'warn',
          message:
            `journal replay of partition ${partition} stopped at a gap in segment ${e.segmentBase}: ` +
            `the segment ends at byte ${end}, the next journal entry starts at ${e.position} (never acknowledged)`,
          details: { partition, segmentBase: e.segmentBase, segmentEnd: end, entryPosition: e.position },
        });
        continue;
      }
      const path = segmentPath(e.segmentBase);
      let fd = touched.get(e.segmentBase);
      if (fd === undefined) {
        fd = ioSync('open segment', path, () => openSync(path, 'r+'));
        touched.set(e.segmentBase, fd);
      }
      const from = end - e.position;
      const fdNow = fd;
      ioSync('replay journal', path, () => writeFullySync(fdNow, [e.payload.subarray(from)], end));
      written += e.payload.length - from;
      ends.set(e.segmentBase, entryEnd);
    }
    for (const [base, fd] of touched) await datasyncFd(fd, segmentPath(base));
  } finally {
    for (const fd of touched.values()) closeSync(fd);
  }
  if (written > 0) {
    logger({
      level: 'warn',
      message: `replayed ${written} bytes of partition ${partition} from the journal (a segment had lost its unsynced tail)`,
      details: { partition, bytes: written, dir: partitionDir },
    });
  }
  return written;
}
