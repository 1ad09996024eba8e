/**
 * Segment files: naming, the sparse offset index, and scanning frames out of a file.
 *
 * A partition directory holds segments named by the offset of their first record, zero-padded to 20 digits like
 * Kafka: `00000000000000000000.log` with its index `00000000000000000000.index`. The index holds one 8-byte entry
 * (u32 offset relative to the base, u32 byte position, little-endian) per `indexIntervalBytes` of records. The
 * index is a hint: it is never fsynced, every position taken from it is checked against the record found there,
 * and the last segment's index is rebuilt on recovery.
 */
import type { FileHandle } from 'node:fs/promises';
import { decodeRecord, type FrameProblem } from '../record.js';
import type { LogRecord } from '../log.js';

export const SEGMENT_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const INDEX_ENTRY_BYTES = 8;

/** File name of the segment whose first record has offset `base`. */
export function segmentName(base: number): string {
  return String(base).padStart(20, '0') + SEGMENT_SUFFIX;
}

export function indexName(base: number): string {
  return String(base).padStart(20, '0') + INDEX_SUFFIX;
}

/** The base offset encoded in a segment file name, or undefined if the name is not a segment's. */
export function parseSegmentName(name: string): number | undefined {
  const m = /^(\d{20})\.log$/.exec(name);
  if (!m) return undefined;
  const base = Number(m[1]);
  return Number.isSafeInteger(base) ? base : undefined;
}

/** One sparse index entry: the record at `offset` starts at byte `position` of its segment. */
export interface IndexEntry {
  offset: number;
  position: number;
}

export function encodeIndexEntries(base: number, entries: readonly IndexEntry[]): Buffer {
  const buf = Buffer.allocUnsafe(entries.length * INDEX_ENTRY_BYTES);
  entries.forEach((e, i) => {
    buf.writeUInt32LE(e.offset - base, i * INDEX_ENTRY_BYTES);
    buf.writeUInt32LE(e.position, i * INDEX_ENTRY_BYTES + 4);
  });
  return buf;
}

/** Decodes index bytes, keeping the longest prefix of entries that grow in both offset and position. */
export function decodeIndex(base: number, buf: Buffer, sizeBytes: number): IndexEntry[] {
  const out: IndexEntry[] = [];
  for (let at = 0; at + INDEX_ENTRY_BYTES <= buf.length; at += INDEX_ENTRY_BYTES) {
    const e = { offset: base + buf.readUInt32LE(at), position: buf.readUInt32LE(at + 4) };
    const prev = out[out.length - 1];
    if (e.position >= sizeBytes || (prev && (e.offset <= prev.offset || e.position <= prev.position))) break;
    out.push(e);
  }
  return out;
}

/** The last entry with `offset <= target` (binary search), or undefined. */
export function lookupIndex(entries: readonly IndexEntry[], target: number): IndexEntry | undefined {
  let lo = 0;
  let hi = entries.length - 1;
  let found: IndexEntry | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid].offset <= target) {
      found = entries[mid];
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** Where and why a scan stopped. */
export interface ScanEnd {
  /** Byte position after the last record visited (where the next record would start). */
  position: number;
  /** `end`: reached `positionLimit` exactly; `stopped`: the visitor asked to stop; otherwise the frame problem. */
  reason: 'end' | 'stopped' | FrameProblem;
  detail?: string;
}

const CHUNK_BYTES_MIN = 256 * 1024;

/**
 * Reads frames from `fh` starting at `position`, up to `positionLimit`, calling `visit` for each decoded record
 * (with its start position). `visit` returns false to stop. Every frame's CRC is checked before it is visited.
 * Records handed to `visit` view a fresh buffer that is never reused, so they may be kept.
 */
export async function scanFrames(
  fh: FileHandle,
  position: number,
  positionLimit: number,
  lengthMax: number,
  visit: (record: LogRecord, position: number) => boolean,
): Promise<ScanEnd> {
  let at = position;
  let chunkBytes = CHUNK_BYTES_MIN;
  while (at < positionLimit) {
    const want = Math.min(chunkBytes, positionLimit - at);
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await fh.read(buf, 0, want, at);
    if (bytesRead === 0) return { position: at, reason: 'incomplete', detail: 'file ends before the expected end' };
    let p = 0;
    let visited = 0;
    while (p < bytesRead) {
      const d = decodeRecord(buf, p, bytesRead, lengthMax);
      if (!d.ok) {
        const moreOnDisk = bytesRead === want && at + bytesRead < positionLimit;
        if (d.problem === 'incomplete' && moreOnDisk) break;
        return { position: at + p, reason: d.problem, detail: d.detail };
      }
      visited++;
      if (!visit(d.record, at + p)) return { position: at + d.next, reason: 'stopped' };
      p = d.next;
    }
    // A frame larger than the chunk: read again from its start with a chunk big enough for it.
    if (visited === 0 && p === 0) chunkBytes = Math.max(chunkBytes, lengthMax + 4);
    at += p;
  }
  return { position: at, reason: 'end' };
}
