/**
 * Reading a partition: find the segment holding an offset, jump near it with the sparse index (or the cursor
 * left by the previous read), scan frames verifying each CRC, and stop at the durable end. Shared by the writer's
 * log and the read-only log of worker threads, which differ only in how they know the segments (`SegmentView`).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { shockError } from '../../base/index.js';
import type { LogRecord } from '../log.js';
import { io, isNotFound } from './io.js';
import { lookupIndex, scanFrames, segmentName, type IndexEntry } from './segment.js';

/** What a reader needs to know about the segments of one partition. */
export interface SegmentView {
  readonly dir: string;
  readonly partition: number;
  readonly lengthMax: number;
  /** Base offsets of the segments, ascending. `refresh` asks the view to re-read them from disk if it can. */
  bases(refresh: boolean): Promise<readonly number[]>;
  /** The sparse index of a segment (possibly partial; every entry is verified before use). */
  index(base: number): Promise<readonly IndexEntry[]>;
  /** Bytes of the segment known durable, or Infinity when only offsets bound the read. */
  bytesDurable(base: number): number;
  /** Retained range now (re-read for readers). */
  range(): { offsetStart: number; offsetEnd: number };
}

/** Where the previous read of a partition stopped, so a sequential reader never searches. */
export interface ReadCursor {
  base: number;
  offset: number;
  position: number;
}

export interface ReadLimits {
  recordsMax: number;
  bytesMax: number;
}

/** Reads records `[offset, ...)` below the durable end; see `Log.read`. Returns the records and the new cursor. */
export async function readPartition(
  view: SegmentView,
  offset: number,
  limits: ReadLimits,
  cursor: ReadCursor | undefined,
): Promise<{ records: LogRecord[]; cursor: ReadCursor | undefined }> {
  const { offsetStart, offsetEnd } = view.range();
  checkRange(view.partition, offset, offsetStart, offsetEnd);
  const out: LogRecord[] = [];
  let bytes = 0;
  let next = offset;
  let last = cursor;
  let refreshed = false;
  while (next < offsetEnd && out.length < limits.recordsMax && (out.length === 0 || bytes < limits.bytesMax)) {
    const bases = await view.bases(refreshed);
    const base = segmentFor(bases, next);
    if (base === undefined) {
      if (!refreshed) {
        refreshed = true;
        continue;
      }
      checkRange(view.partition, next, view.range().offsetStart, offsetEnd);
      throw missingSegment(view, next);
    }
    const hint = last && last.base === base && last.offset === next ? last : await indexHint(view, base, next);
    const step = await readSegment(view, base, hint, next, offsetEnd, limits, out, bytes);
    if (step === 'gone') {
      checkRange(view.partition, next, view.range().offsetStart, offsetEnd);
      refreshed = true;
      continue;
    }
    bytes = step.bytes;
    last = step.cursor;
    if (step.next === next) {
      // This segment holds nothing more: the next record is in a later segment (maybe one we do not know yet).
      const later = bases.find((b) => b > base);
      if (later === undefined || later > next) {
        if (refreshed) throw missingSegment(view, next);
        refreshed = true;
        continue;
      }
    }
    next = step.next;
  }
  return { records: out, cursor: last };
}

function segmentFor(bases: readonly number[], offset: number): number | undefined {
  let found: number | undefined;
  for (const b of bases) {
    if (b <= offset) found = b;
    else break;
  }
  return found;
}

async function indexHint(view: SegmentView, base: number, offset: number): Promise<ReadCursor> {
  const entry = lookupIndex(await view.index(base), offset);
  return entry ? { base, offset: entry.offset, position: entry.position } : { base, offset: base, position: 0 };
}

type SegmentStep = { next: number; bytes: number; cursor: ReadCursor } | 'gone';

/** Reads one segment from `hint`, appending records `>= offset` to `out`. Falls back to position 0 if the hint lies. */
async function readSegment(
  view: SegmentView,
  base: number,
  hint: ReadCursor,
  offset: number,
  offsetEnd: number,
  limits: ReadLimits,
  out: LogRecord[],
  bytesSoFar: number,
): Promise<SegmentStep> {
  const path = join(view.dir, segmentName(base));
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if (isNotFound(err)) return 'gone';
    return io('open segment', path, () => Promise.reject(err));
  }
  try {
    const limit = Math.min(view.bytesDurable(base), (await io('stat segment', path, () => fh.stat())).size);
    let start = hint;
    for (let attempt = 0; attempt < 2; attempt++) {
      const firstOut = out.length;
      let expected = start.offset;
      let bytes = bytesSoFar;
      let mismatch = false;
      let cursor: ReadCursor = { ...start };
      const end = await io('read segment', path, () =>
        scanFrames(fh, start.position, limit, view.lengthMax, (record, position) => {
          if (record.offset !== expected) {
            mismatch = true;
            return false;
          }
          if (record.offset >= offsetEnd) return false;
          expected++;
          if (record.offset >= offset) {
            out.push(record);
            bytes += record.key.length + record.value.length;
          }
          cursor = { base, offset: expected, position: position + frameBytes(record) };
          return out.length < limits.recordsMax && bytes < limits.bytesMax;
        }),
      );
      if (mismatch && start.position !== 0) {
        out.length = firstOut; // the hint pointed at the wrong record: scan the segment from its start
        start = { base, offset: base, position: 0 };
        continue;
      }
      if (mismatch || (end.reason !== 'end' && end.reason !== 'stopped' && expected < offsetEnd)) {
        throw corrupt(path, view.partition, end.position, expected, mismatch ? 'offset out of sequence' : end.detail);
      }
      return { next: Math.max(offset, expected), bytes, cursor };
    }
    throw corrupt(path, view.partition, 0, base, 'offset out of sequence');
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function frameBytes(record: LogRecord): number {
  return 30 + record.key.length + record.value.length;
}

function checkRange(partition: number, offset: number, offsetStart: number, offsetEnd: number): void {
  if (!Number.isSafeInteger(offset) || offset < offsetStart || offset > offsetEnd) {
    throw shockError(
      'SHOCK_LOG_OFFSET_OUT_OF_RANGE',
      `offset ${offset} is outside partition ${partition} [${offsetStart}, ${offsetEnd}]`,
      {
        partition,
        offset,
        offsetStart,
        offsetEnd,
        hint:
          offset < offsetStart
            ? 'the records were removed by retention: resume from offsetStart'
            : 'read from an offset <= offsetEnd',
      },
    );
  }
}

function missingSegment(view: SegmentView, offset: number) {
  return shockError('SHOCK_LOG_CORRUPT_RECORD', `no segment of partition ${view.partition} holds offset ${offset}`, {
    dir: view.dir,
    partition: view.partition,
    offset,
    hint: 'a segment file is missing: run `shock log inspect DIR --verify`',
  });
}

/** The error for a record that fails its checks where durable records must be. */
export function corrupt(file: string, partition: number, position: number, offset: number, detail?: string) {
  return shockError(
    'SHOCK_LOG_CORRUPT_RECORD',
    `corrupt record in ${file} at byte ${position} (offset ${offset}): ${detail ?? 'invalid frame'}`,
    {
      file,
      partition,
      position,
      offset,
      hint: 'run `shock log inspect DIR --verify`; restore the segment from a replica or backup, or move it away to give up its records',
    },
  );
}
