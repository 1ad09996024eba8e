/**
 * The file log's retention decisions, pure (no I/O): which of a partition's oldest segments may go, and how many
 * bytes the consumers have not consumed yet (docs/log.md, "Retention").
 *
 * The policies are described in `../retention-policy.ts`.
 */
import type { RetentionPolicy } from '../retention-policy.js';

/** What retention needs to know of a segment. */
export interface RetentionSegment {
  /** Offset of its first record. */
  base: number;
  /** Offset after its last record. */
  offsetNext: number;
  sizeBytes: number;
  /** Newest record timestamp (append time), ms since the epoch. */
  timestampMsMax: number;
  /** Sparse index: byte position of some offsets, ascending. */
  index: readonly { offset: number; position: number }[];
}

/** The inputs of one retention decision. */
export interface RetentionInput {
  policy: RetentionPolicy;
  retentionMs: number | undefined;
  retentionBytesMax: number | undefined;
  /** The smallest offset committed by the known groups (interest); records below it are consumed. */
  floor: number;
  nowMs: number;
  /** The disk holding the log has less free space than its floor: consumed segments go whatever the limits say. */
  diskLow: boolean;
}

/**
 * How many of the oldest segments to remove (never the newest, the active one). Under `limits`: while the partition
 * holds more than `retentionBytesMax` bytes, or the oldest segment's newest record is older than `retentionMs`.
 * Under `interest` the same, but only segments whose every record is below the committed floor, and also any such
 * segment while the disk is below its free-space floor.
 */
export function segmentsToRemove(segments: readonly RetentionSegment[], r: RetentionInput): number {
  let total = 0;
  for (const s of segments) total += s.sizeBytes;
  let n = 0;
  while (n < segments.length - 1) {
    const oldest = segments[n];
    if (r.policy === 'interest' && oldest.offsetNext > r.floor) break;
    const tooBig = r.retentionBytesMax !== undefined && total > r.retentionBytesMax;
    const tooOld = r.retentionMs !== undefined && r.nowMs - oldest.timestampMsMax > r.retentionMs;
    const room = r.policy === 'interest' && r.diskLow;
    if (!tooBig && !tooOld && !room) break;
    total -= oldest.sizeBytes;
    n++;
  }
  return n;
}

/**
 * Bytes of the records at or above `floor` (not consumed by every group), plus `pendingBytes` (appended, not yet
 * durable). Within the segment that holds the floor, the consumed part is taken from the sparse index entry at or
 * below the floor, so the answer may exceed the truth by less than one index interval (never fall below it).
 */
export function unconsumedBytes(segments: readonly RetentionSegment[], floor: number, pendingBytes: number): number {
  let bytes = pendingBytes;
  for (const s of segments) {
    if (s.offsetNext <= floor) continue;
    bytes += s.sizeBytes - consumedPosition(s, floor);
  }
  return bytes;
}

/** Byte position in `s` below which every record is below `floor` (0 when the floor is at or below its base). */
function consumedPosition(s: RetentionSegment, floor: number): number {
  if (floor <= s.base) return 0;
  let lo = 0;
  let hi = s.index.length - 1;
  let position = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (s.index[mid].offset <= floor) {
      position = s.index[mid].position;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return position;
}
