/**
 * Record framing: how one record is laid out on disk (and on the wire to a reader). Little-endian throughout.
 *
 * ```
 * byte  size  field
 *    0     4  length        bytes after this field (26 + key + value)
 *    4     4  crc32c        CRC-32C of bytes [8, 4 + length): magic .. end of value
 *    8     1  magic         format version, RECORD_MAGIC (1)
 *    9     1  attributes    0 (reserved)
 *   10     8  offset        u64, the record's offset in its partition
 *   18     8  timestampMs   u64, ms since the epoch
 *   26     4  keyBytes      u32
 *   30     k  key
 * 30+k     v  value         (v = length - 26 - k)
 * ```
 *
 * The CRC covers everything a reader trusts (version, offset, timestamp, key, value); the length is checked by
 * bounds (a corrupt length either points past the data — torn — or frames bytes whose CRC does not match).
 */
import { assert, shockError, type ShockError } from '../base/index.js';
import { crc32c } from './crc32c.js';
import type { AppendRecord, LogRecord } from './log.js';

/** Format version written in every record. A reader refuses other values. */
export const RECORD_MAGIC = 1;
/** Bytes of a record before its key. */
export const RECORD_HEADER_BYTES = 30;
/** Bytes covered by `length` for an empty key and value. */
const LENGTH_MIN = RECORD_HEADER_BYTES - 4;
const TWO_32 = 2 ** 32;

/** Total bytes one record takes on disk. */
export function recordBytes(keyBytes: number, valueBytes: number): number {
  return RECORD_HEADER_BYTES + keyBytes + valueBytes;
}

/** Little-endian u32 by plain byte stores (cheaper than `Buffer#writeUInt32LE` on the append path). */
function putU32(buf: Buffer, value: number, at: number): void {
  buf[at] = value;
  buf[at + 1] = value >>> 8;
  buf[at + 2] = value >>> 16;
  buf[at + 3] = value >>> 24;
}

function writeU64(buf: Buffer, value: number, at: number): void {
  // Checked inline (no context object per call): this runs twice per record on the append path.
  if (!(Number.isSafeInteger(value) && value >= 0)) assert(false, 'u64 field must be a safe integer >= 0', { value });
  putU32(buf, value >>> 0, at); // ToUint32 is exact modulo 2^32 for integers below 2^53
  putU32(buf, (value / TWO_32) >>> 0, at + 4);
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at + 4) * TWO_32 + buf.readUInt32LE(at);
}

/**
 * Encodes `records` with consecutive offsets from `offsetFirst` into one buffer (one write for the whole call).
 * Records without a timestamp get `nowMs`.
 */
export function encodeRecords(records: readonly AppendRecord[], offsetFirst: number, nowMs: number): Buffer {
  let total = 0;
  for (let i = 0; i < records.length; i++) total += recordBytes(records[i].key.length, records[i].value.length);
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    at = encodeInto(buf, at, r, offsetFirst + i, r.timestampMs ?? nowMs);
  }
  assert(at === total, 'encoded size matches the computed size', { at, total });
  return buf;
}

/** Writes one frame at `at`; returns the position after it. */
export function encodeInto(buf: Buffer, at: number, record: AppendRecord, offset: number, timestampMs: number): number {
  const key = record.key;
  const value = record.value;
  const length = LENGTH_MIN + key.length + value.length;
  putU32(buf, length, at);
  buf[at + 8] = RECORD_MAGIC;
  buf[at + 9] = 0;
  writeU64(buf, offset, at + 10);
  writeU64(buf, timestampMs, at + 18);
  putU32(buf, key.length, at + 26);
  // TypedArray#set, not Buffer#copy: no native call per field, faster for record-sized copies.
  if (key.length > 0) buf.set(key, at + RECORD_HEADER_BYTES);
  buf.set(value, at + RECORD_HEADER_BYTES + key.length);
  const end = at + 4 + length;
  putU32(buf, crc32c(buf, at + 8, end), at + 4);
  return end;
}

/** Why bytes could not be decoded as a record. */
export type FrameProblem = 'incomplete' | 'length' | 'crc' | 'magic' | 'key';

/** The outcome of decoding at one position: a record and where the next starts, or a problem. */
export type DecodeResult =
  { ok: true; record: LogRecord; next: number } | { ok: false; problem: FrameProblem; detail: string };

/**
 * Decodes the frame at `buf[at]`, reading no byte at or past `end`. `lengthMax` bounds a plausible `length` so
 * garbage is not mistaken for a huge record still being written. The CRC is verified before any field is trusted.
 */
export function decodeRecord(buf: Buffer, at: number, end: number, lengthMax: number): DecodeResult {
  if (end - at < 4) return { ok: false, problem: 'incomplete', detail: `${end - at} bytes left, a length needs 4` };
  const length = buf.readUInt32LE(at);
  if (length < LENGTH_MIN || length > lengthMax) {
    return { ok: false, problem: 'length', detail: `length ${length} outside [${LENGTH_MIN}, ${lengthMax}]` };
  }
  const frameEnd = at + 4 + length;
  if (frameEnd > end) {
    return { ok: false, problem: 'incomplete', detail: `frame of ${4 + length} bytes, ${end - at} left` };
  }
  const crcStored = buf.readUInt32LE(at + 4);
  const crcActual = crc32c(buf, at + 8, frameEnd);
  if (crcStored !== crcActual) {
    return { ok: false, problem: 'crc', detail: `crc32c stored ${hex(crcStored)}, computed ${hex(crcActual)}` };
  }
  if (buf[at + 8] !== RECORD_MAGIC) {
    return { ok: false, problem: 'magic', detail: `format version ${buf[at + 8]}, expected ${RECORD_MAGIC}` };
  }
  const keyBytes = buf.readUInt32LE(at + 26);
  if (keyBytes > length - LENGTH_MIN) {
    return { ok: false, problem: 'key', detail: `key of ${keyBytes} bytes in a frame of ${length}` };
  }
  const keyStart = at + RECORD_HEADER_BYTES;
  const record: LogRecord = {
    offset: readU64(buf, at + 10),
    timestampMs: readU64(buf, at + 18),
    key: buf.subarray(keyStart, keyStart + keyBytes),
    value: buf.subarray(keyStart + keyBytes, frameEnd),
  };
  return { ok: true, record, next: frameEnd };
}

/** The `length` field a frame holding at most `recordBytesMax` bytes in total may carry. */
export function lengthMaxFor(recordBytesMax: number): number {
  return recordBytesMax - 4;
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

/**
 * The checks every log backend makes on the records of one `append`, in one pass: an array, Buffers for key and
 * value, a whole-ms timestamp ≥ 0 (SHOCK_LOG_RECORD_INVALID naming the record), then the backend's own size rule
 * (`tooLarge`, which returns its SHOCK_LOG_RECORD_TOO_LARGE or undefined). The first problem, or undefined.
 */
export function checkAppendRecords(
  records: readonly AppendRecord[],
  tooLarge: (record: AppendRecord, index: number) => ShockError | undefined,
): ShockError | undefined {
  if (!Array.isArray(records)) return shockError('SHOCK_LOG_RECORD_INVALID', 'append takes an array of records');
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (!r || !Buffer.isBuffer(r.key) || !Buffer.isBuffer(r.value)) {
      return shockError('SHOCK_LOG_RECORD_INVALID', `record ${i}: key and value must be Buffers`, { index: i });
    }
    const ts = r.timestampMs;
    if (ts !== undefined && !(Number.isSafeInteger(ts) && ts >= 0)) {
      return shockError(
        'SHOCK_LOG_RECORD_INVALID',
        `record ${i}: timestampMs must be a whole number of ms >= 0, got ${ts}`,
        { index: i },
      );
    }
    const problem = tooLarge(r, i);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
