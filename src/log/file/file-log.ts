/**
 * The embedded file log: a directory of partitions, each a sequence of CRC-framed segments, made durable by group
 * commit. See `docs/log.md` for the byte layout and the guarantees.
 *
 * ```
 * DIR/
 *   LOCK                          pid of the one writer (see lock.ts)
 *   log.json                      {"format":"shock-log","version":1,"partitions":P}
 *   partitions/<p>/<base>.log     segments, named by the offset of their first record
 *   partitions/<p>/<base>.index   sparse offset index of each segment
 *   journal/<seq>.wal             the shared journal (journal.ts; absent after a clean close)
 *   offsets/<group>/<p>.json      committed consumer offsets
 * ```
 */
import { mkdir, readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { limits as defaultLimits, shockError } from '../../base/index.js';
import type { AppendRecord, AppendResult, Log, LogRecord, OffsetStore, PartitionState, ReadOptions } from '../log.js';
import { fsyncDir, io, isNotFound, writeFileAtomic } from './io.js';
import { acquireLock, type DirLock } from './lock.js';
import { FileOffsetStore } from './offsets.js';
import { resolveOptions, type FileLogOptions, type ResolvedFileLogOptions } from './options.js';
import { Journal, readJournalFiles, removeJournalFiles, replayPartition, type JournalStats } from './journal.js';
import { PartitionWriter, type PartitionStats, type RetentionSource } from './partition.js';
import type { RetentionPolicy } from '../retention-policy.js';
import { recoverPartition } from './recover.js';
import { segmentName } from './segment.js';
import { SharedOffsets } from './shared-state.js';

export const META_NAME = 'log.json';
export const PARTITIONS_DIR = 'partitions';
/** The retention the writer applies, written at every open (and at a hold) for the tools: `shock log inspect`. */
export const RETENTION_NAME = 'retention.json';
const FORMAT = 'shock-log';
const FORMAT_VERSION = 1;
/** How often retention is checked (it is also checked at open and at every roll). */
const RETENTION_CHECK_MS = 60_000;
/** How often the disk's free space is read when the log has a floor (`diskFreeBytesMin`). */
export const DISK_CHECK_MS = 1000;

/** Counters of the whole log and of each partition. */
export interface FileLogStats {
  partitions: PartitionStats[];
  /** The shared journal's counters; null when the log runs without it (`journal: false`). */
  journal: JournalStats | null;
}

/** The file log, open for writing by this process. */
export interface FileLog extends Log {
  /** Counters per partition: offsets, segments, bytes, group-commit batches, records, fsyncs and latency sums. */
  stats(): FileLogStats;
  /**
   * A SharedArrayBuffer with the durable offsets of every partition, updated after each fdatasync. Pass it to a
   * worker thread and open a read-only log there with `openFileLogReader`.
   */
  shareState(): SharedArrayBuffer;
  /** The log directory. */
  readonly dir: string;
  /**
   * Holds retention from now on: no segment is removed any more (a removal under way stops before its next
   * segment) until the log is reopened without `retentionHeld`. A reshard holds its sealed generation's retention
   * so that nothing its consumers still need is removed before the generation retires. Resolves once
   * `retention.json` says so.
   */
  holdRetention(): Promise<void>;
  /**
   * Runs a retention check of every partition now (as the periodic check does) and resolves when it is done. For
   * tools and tests; a running log checks at open, at each roll and periodically on its own.
   */
  applyRetention(): Promise<void>;
}

/** What `retention.json` holds: the writer's retention (null = unlimited) and whether it is held. */
export interface RetentionRecord {
  /** `interest` or `limits` (a file written before policies existed: `limits`, what that writer applied). */
  policy: RetentionPolicy;
  /** The groups named in the options (interest also waits for every group with committed offsets). */
  groups: string[];
  retentionMs: number | null;
  retentionBytesMax: number | null;
  held: boolean;
  /** When the writer (pid) wrote it, ms since the epoch. */
  writtenAtMs: number;
  pid: number;
}

async function writeRetention(o: ResolvedFileLogOptions, held: boolean): Promise<void> {
  const record: RetentionRecord = {
    policy: o.retentionPolicy,
    groups: [...o.retentionGroups],
    retentionMs: o.retentionMs ?? null,
    retentionBytesMax: o.retentionBytesMax ?? null,
    held,
    writtenAtMs: Date.now(),
    pid: process.pid,
  };
  await writeFileAtomic(join(o.dir, RETENTION_NAME), JSON.stringify(record) + '\n');
}

/** Reads `retention.json` of a log directory; undefined when absent or unreadable (a log written before it existed). */
export async function readRetention(dir: string): Promise<RetentionRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(join(dir, RETENTION_NAME), 'utf8')) as Partial<RetentionRecord>;
    if (typeof r !== 'object' || r === null || typeof r.held !== 'boolean') return undefined;
    return {
      policy: r.policy === 'interest' ? 'interest' : 'limits',
      groups: Array.isArray(r.groups) ? r.groups.filter((g) => typeof g === 'string') : [],
      retentionMs: typeof r.retentionMs === 'number' ? r.retentionMs : null,
      retentionBytesMax: typeof r.retentionBytesMax === 'number' ? r.retentionBytesMax : null,
      held: r.held,
      writtenAtMs: typeof r.writtenAtMs === 'number' ? r.writtenAtMs : 0,
      pid: typeof r.pid === 'number' ? r.pid : 0,
    };
  } catch {
    return undefined;
  }
}

/** Opens (creating or recovering) the log in `options.dir`. Takes the directory's writer lock. */
export async function openFileLog(options: FileLogOptions): Promise<FileLog> {
  const o = resolveOptions(options);
  await io('create directory', o.dir, () => mkdir(o.dir, { recursive: true }));
  const lock = await acquireLock(o.dir);
  try {
    await checkMeta(o.dir, o.partitions, true);
    const root = join(o.dir, PARTITIONS_DIR);
    const created = await io('create directory', root, () => mkdir(root, { recursive: true }));
    if (created !== undefined) await fsyncDir(o.dir);
    await writeRetention(o, o.retentionHeld);
    const shared = SharedOffsets.create(o.partitions);
    // A journal left by a crash is replayed whether or not this open uses one (the option may have changed).
    const journalFiles = await readJournalFiles(o.dir);
    const entries = journalFiles.flatMap((f) => f.entries);
    for (const f of journalFiles) {
      if (f.tornBytes > 0)
        o.logger({
          level: 'info',
          message: `ignored a torn tail of ${f.tornBytes} bytes at the end of ${f.path} (never acknowledged)`,
          details: { file: f.path, bytes: f.tornBytes },
        });
    }
    const writers: PartitionWriter[] = [];
    const offsets = new FileOffsetStore(
      o.dir,
      o.partitions,
      (p) => ({ offsetStart: writers[p].offsetStart, offsetEnd: writers[p].offsetEnd }),
      // Commits of this process move the floor at once; those of worker threads are read within FLOOR_REFRESH_MS.
      (p) => writers[p].floorMoved(),
    );
    const disk = new DiskFloor(o.dir, o.diskFreeBytesMin);
    await disk.check();
    const source: RetentionSource = {
      floor: (p) => offsets.floor(p, o.retentionGroups),
      diskFreeBytesLow: () => disk.freeBytesLow(),
    };
    // One partition has nothing to share: a journal would only write its small rounds twice.
    const journal =
      o.journal && o.partitions > 1
        ? await Journal.create(
            {
              dir: o.dir,
              journalBytesMax: o.journalBytesMax,
              checkpoint: async () => {
                await Promise.all(writers.map((w) => w.syncSegment()));
              },
              logger: o.logger,
            },
            journalFiles.length > 0 ? journalFiles[journalFiles.length - 1].seq + 1 : 0,
          )
        : undefined;
    const recoverOptions = {
      lengthMax: o.recordBytesMax - 4,
      offsetBase: o.offsetBase,
      indexIntervalBytes: o.indexIntervalBytes,
      logger: o.logger,
    };
    for (let p = 0; p < o.partitions; p++) {
      const dir = join(root, String(p));
      let segments = await recoverPartition(dir, p, recoverOptions);
      if (entries.some((e) => e.partition === p)) {
        const replayed = await replayPartition(dir, p, segments, entries, (b) => join(dir, segmentName(b)), o.logger);
        // Sizes, offsets and the index of what was written back.
        if (replayed > 0) segments = await recoverPartition(dir, p, recoverOptions);
      }
      const w = new PartitionWriter(
        dir,
        p,
        segments,
        o,
        (part, start, end) => shared.publish(part, start, end),
        source,
        journal,
      );
      writers.push(w);
      await w.start();
      await w.applyRetention(Date.now());
    }
    // Every partition holds (fdatasynced) what the old journal files held: they may go.
    await removeJournalFiles(o.dir, journalFiles);
    return new FileLogImpl(o, writers, shared, lock, journal, offsets, disk);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/**
 * Reads `log.json`; with `create`, writes it when absent. A different partition count is SHOCK_CONFIG_INVALID.
 * Returns the partition count on disk (undefined when there is no log and `create` is false).
 */
export async function checkMeta(
  dir: string,
  partitions: number | undefined,
  create: boolean,
): Promise<number | undefined> {
  const path = join(dir, META_NAME);
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (!isNotFound(err)) return io('read', path, () => Promise.reject(err));
  }
  if (text === undefined) {
    if (!create || partitions === undefined) return undefined;
    await writeFileAtomic(path, JSON.stringify({ format: FORMAT, version: FORMAT_VERSION, partitions }) + '\n');
    return partitions;
  }
  let meta: { format?: unknown; version?: unknown; partitions?: unknown };
  try {
    meta = JSON.parse(text) as typeof meta;
  } catch {
    meta = {};
  }
  if (meta.format !== FORMAT || meta.version !== FORMAT_VERSION || typeof meta.partitions !== 'number') {
    throw shockError(
      'SHOCK_CONFIG_INVALID',
      `${path} is not a shock log description (format ${FORMAT} version ${FORMAT_VERSION})`,
      {
        path,
        hint: 'point at a directory created by shockabsorber, or at an empty one',
      },
    );
  }
  if (partitions !== undefined && meta.partitions !== partitions) {
    throw shockError('SHOCK_CONFIG_INVALID', `the log in ${dir} has ${meta.partitions} partitions, not ${partitions}`, {
      dir,
      partitionsOnDisk: meta.partitions,
      partitionsRequested: partitions,
      hint: `configure partitions: ${meta.partitions}; to change it, run the cell and use shock reshard`,
    });
  }
  return meta.partitions;
}

class FileLogImpl implements FileLog {
  readonly partitions: number;
  readonly offsets: OffsetStore;
  readonly dir: string;
  private closing: Promise<void> | undefined;
  private readonly retentionTimer: NodeJS.Timeout | undefined;
  private readonly diskTimer: NodeJS.Timeout | undefined;
  private held: boolean;

  constructor(
    private readonly o: ResolvedFileLogOptions,
    private readonly writers: PartitionWriter[],
    private readonly shared: SharedOffsets,
    private readonly lock: DirLock,
    private readonly journal: Journal | undefined,
    offsets: FileOffsetStore,
    private readonly disk: DiskFloor,
  ) {
    this.partitions = o.partitions;
    this.dir = o.dir;
    this.offsets = offsets;
    this.held = o.retentionHeld;
    // Without a roll, only this check removes old segments: by age, and (interest) consumed ones past maxBytes once
    // the consumers committed. Size alone under `limits` grows only by appends, so the rolls suffice.
    const every = retentionCheckMs(o);
    if (every !== undefined && !o.retentionHeld) {
      this.retentionTimer = setInterval(() => this.retainAll(), every);
      this.retentionTimer.unref();
    }
    if (o.diskFreeBytesMin > 0) {
      // Under the floor, a check per second frees consumed segments as soon as the consumers commit them.
      this.diskTimer = setInterval(() => {
        void this.disk.check().then((low) => {
          if (low && !this.held && !this.closing) this.retainAll();
        });
      }, DISK_CHECK_MS);
      this.diskTimer.unref();
    }
  }

  append(partition: number, records: AppendRecord[]): Promise<AppendResult> {
    if (this.closing) return Promise.reject(shockError('SHOCK_LOG_CLOSED', 'the log is closed', { dir: this.dir }));
    const w = this.writer(partition, true);
    return w ? w.append(records) : Promise.reject(badPartition(partition, this.partitions));
  }

  async read(partition: number, offset: number, options: ReadOptions = {}): Promise<LogRecord[]> {
    if (this.closing) throw shockError('SHOCK_LOG_CLOSED', 'the log is closed', { dir: this.dir });
    return this.writer(partition)!.read(offset, readLimits(options));
  }

  state(partition: number): PartitionState {
    const w = this.writer(partition)!;
    return { partition, offsetStart: w.offsetStart, offsetEnd: w.offsetEnd };
  }

  waitFor(partition: number, offset: number, timeoutMs: number): Promise<number> {
    return this.writer(partition)!.waitFor(offset, timeoutMs);
  }

  stats(): FileLogStats {
    return { partitions: this.writers.map((w) => w.stats()), journal: this.journal?.stats() ?? null };
  }

  shareState(): SharedArrayBuffer {
    return this.shared.buffer;
  }

  async holdRetention(): Promise<void> {
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    for (const w of this.writers) w.retentionHeld = true;
    if (this.held) return;
    this.held = true;
    await writeRetention(this.o, true);
  }

  async applyRetention(): Promise<void> {
    if (this.closing) throw shockError('SHOCK_LOG_CLOSED', 'the log is closed', { dir: this.dir });
    await this.disk.check();
    const now = Date.now();
    await Promise.all(this.writers.map((w) => w.applyRetention(now)));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.retentionTimer) clearInterval(this.retentionTimer);
      if (this.diskTimer) clearInterval(this.diskTimer);
      const durable = await Promise.all(this.writers.map((w) => w.close()));
      // Each partition fdatasynced its segment: the journal is no longer needed, unless one of them failed.
      await this.journal?.close(durable.every(Boolean));
      this.shared.close();
      await this.lock.release();
    })();
    return this.closing;
  }

  private retainAll(): void {
    const now = Date.now();
    for (const w of this.writers) {
      w.applyRetention(now).catch((err: unknown) =>
        this.o.logger({
          level: 'error',
          message: `retention failed on partition ${w.partition}: ${(err as Error).message}`,
        }),
      );
    }
  }

  private writer(partition: number, soft = false): PartitionWriter | undefined {
    const w = Number.isInteger(partition) ? this.writers[partition] : undefined;
    if (!w && !soft) throw badPartition(partition, this.partitions);
    return w;
  }
}

/**
 * How often the periodic retention check runs, or undefined when it is not needed: every min(60 s, maxAge) with an
 * age limit; every 60 s under `interest` with a size limit (consumed segments past it go without a roll).
 */
export function retentionCheckMs(o: ResolvedFileLogOptions): number | undefined {
  if (o.retentionMs !== undefined) return Math.min(RETENTION_CHECK_MS, o.retentionMs);
  if (o.retentionPolicy === 'interest' && o.retentionBytesMax !== undefined) return RETENTION_CHECK_MS;
  return undefined;
}

/**
 * The disk's free-space floor of a log directory: `statfs` of the directory (at open, every DISK_CHECK_MS, and at
 * each explicit retention check), the last answer cached for the appends' full check. A failed `statfs` keeps the
 * last answer (the appends themselves report a disk that fails).
 */
class DiskFloor {
  private freeBytes = Infinity;

  constructor(
    private readonly dir: string,
    private readonly freeBytesMin: number,
  ) {}

  /** Reads the free space now; true when it is below the floor. */
  async check(): Promise<boolean> {
    if (this.freeBytesMin <= 0) return false;
    try {
      const s = await statfs(this.dir);
      this.freeBytes = Number(s.bavail) * Number(s.bsize);
    } catch {
      // Keep the last answer.
    }
    return this.freeBytesLow() !== null;
  }

  /** The free bytes when below the floor (as last read), else null. */
  freeBytesLow(): number | null {
    return this.freeBytesMin > 0 && this.freeBytes < this.freeBytesMin ? this.freeBytes : null;
  }
}

/** Read limits from options, defaulting to `limits.fetchRecordsMax` / `fetchBytesMax`. */
export function readLimits(options: ReadOptions): { recordsMax: number; bytesMax: number } {
  const recordsMax = options.recordsMax ?? defaultLimits.fetchRecordsMax;
  const bytesMax = options.bytesMax ?? defaultLimits.fetchBytesMax;
  if (!(Number.isInteger(recordsMax) && recordsMax > 0) || !(bytesMax > 0)) {
    throw shockError(
      'SHOCK_CONFIG_INVALID',
      `read limits must be > 0, got recordsMax ${recordsMax}, bytesMax ${bytesMax}`,
    );
  }
  return { recordsMax, bytesMax };
}

export function badPartition(partition: number, partitions: number) {
  return shockError(
    'SHOCK_LOG_BAD_PARTITION',
    `no partition ${partition}: the log has partitions 0..${partitions - 1}`,
    {
      partition,
      partitions,
      hint: `use a partition number from 0 to ${partitions - 1}`,
    },
  );
}
