/**
 * A read-only view of a file log for another thread (a consumer in a worker): `read` reads the segment files
 * but never past the durable end the writer published in the shared buffer; `state` and `waitFor` use that
 * buffer (Atomics.waitAsync, no polling); `offsets` commits per (group, partition) files, safe beside the writer.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { shockError } from '../../base/index.js';
import type { AppendResult, Log, LogRecord, OffsetStore, PartitionState, ReadOptions } from '../log.js';
import { checkMeta, badPartition, readLimits, PARTITIONS_DIR } from './file-log.js';
import { io, isNotFound } from './io.js';
import { FileOffsetStore } from './offsets.js';
import { readPartition, type ReadCursor, type SegmentView } from './read.js';
import { decodeIndex, indexName, parseSegmentName, type IndexEntry } from './segment.js';
import { SharedOffsets } from './shared-state.js';
import { limits } from '../../base/index.js';

/** Options of `openFileLogReader`. */
export interface FileLogReaderOptions {
  dir: string;
  partitions: number;
  /** The buffer from `FileLog.shareState()` of the writer of `dir`. */
  shared: SharedArrayBuffer;
  /** Largest record the writer accepts (default `limits.recordBytesMax`). */
  recordBytesMax?: number;
}

/** Opens a read-only `Log` over `dir` whose durable offsets come from the writer's shared buffer. */
export async function openFileLogReader(options: FileLogReaderOptions): Promise<Log> {
  const shared = SharedOffsets.attach(options.shared);
  if (shared.partitions !== options.partitions) {
    throw shockError(
      'SHOCK_CONFIG_INVALID',
      `the shared state has ${shared.partitions} partitions, not ${options.partitions}`,
      {
        partitions: options.partitions,
        partitionsShared: shared.partitions,
      },
    );
  }
  const onDisk = await checkMeta(options.dir, options.partitions, false);
  if (onDisk === undefined) {
    throw shockError('SHOCK_CONFIG_INVALID', `no log in ${options.dir}`, {
      dir: options.dir,
      hint: 'open the writer (openFileLog) first',
    });
  }
  return new FileLogReader(
    options.dir,
    options.partitions,
    shared,
    (options.recordBytesMax ?? limits.recordBytesMax) - 4,
  );
}

class FileLogReader implements Log {
  readonly offsets: OffsetStore;
  private readonly views: DirectoryView[] = [];
  private readonly cursors: (ReadCursor | undefined)[] = [];
  private closed = false;

  constructor(
    readonly dir: string,
    readonly partitions: number,
    private readonly shared: SharedOffsets,
    lengthMax: number,
  ) {
    this.offsets = new FileOffsetStore(dir, partitions, (p) => this.state(p));
    for (let p = 0; p < partitions; p++) {
      this.views.push(new DirectoryView(join(dir, PARTITIONS_DIR, String(p)), p, lengthMax, () => this.range(p)));
    }
  }

  append(): Promise<AppendResult> {
    return Promise.reject(
      shockError('SHOCK_CONFIG_INVALID', 'this log is a read-only reader: append through the writer (openFileLog)', {
        dir: this.dir,
      }),
    );
  }

  async read(partition: number, offset: number, options: ReadOptions = {}): Promise<LogRecord[]> {
    if (this.closed) throw shockError('SHOCK_LOG_CLOSED', 'the log reader is closed', { dir: this.dir });
    const view = this.view(partition);
    const { records, cursor } = await readPartition(view, offset, readLimits(options), this.cursors[partition]);
    this.cursors[partition] = cursor;
    return records;
  }

  state(partition: number): PartitionState {
    this.view(partition);
    return { partition, ...this.range(partition) };
  }

  async waitFor(partition: number, offset: number, timeoutMs: number): Promise<number> {
    this.view(partition);
    const deadline = performance.now() + Math.max(0, timeoutMs);
    for (;;) {
      const seen = this.shared.changeCounter;
      const end = this.shared.offsetEnd(partition);
      const left = deadline - performance.now();
      if (end > offset || left <= 0 || this.closed || this.shared.closed) return end;
      await this.shared.waitChange(seen, left);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private range(partition: number): { offsetStart: number; offsetEnd: number } {
    return { offsetStart: this.shared.offsetStart(partition), offsetEnd: this.shared.offsetEnd(partition) };
  }

  private view(partition: number): DirectoryView {
    const v = Number.isInteger(partition) ? this.views[partition] : undefined;
    if (!v) throw badPartition(partition, this.partitions);
    return v;
  }
}

/** Segments as found on disk; the list and the active segment's index are re-read when a read needs them. */
export class DirectoryView implements SegmentView {
  private basesCached: number[] | undefined;
  private readonly indexes = new Map<number, IndexEntry[]>();

  constructor(
    readonly dir: string,
    readonly partition: number,
    readonly lengthMax: number,
    readonly range: () => { offsetStart: number; offsetEnd: number },
  ) {}

  async bases(refresh: boolean): Promise<readonly number[]> {
    if (this.basesCached && !refresh) return this.basesCached;
    const names = await io('read directory', this.dir, () => readdir(this.dir));
    this.basesCached = names
      .map(parseSegmentName)
      .filter((b): b is number => b !== undefined)
      .sort((a, b) => a - b);
    for (const base of [...this.indexes.keys()]) if (!this.basesCached.includes(base)) this.indexes.delete(base);
    return this.basesCached;
  }

  async index(base: number): Promise<readonly IndexEntry[]> {
    const last = this.basesCached?.[this.basesCached.length - 1];
    const cached = this.indexes.get(base);
    if (cached && base !== last) return cached;
    const path = join(this.dir, indexName(base));
    let entries: IndexEntry[] = [];
    try {
      entries = decodeIndex(base, await readFile(path), Number.MAX_SAFE_INTEGER);
    } catch (err) {
      if (!isNotFound(err)) return io('read index', path, () => Promise.reject(err));
    }
    this.indexes.set(base, entries);
    return entries;
  }

  bytesDurable(): number {
    return Infinity;
  }
}
