/**
 * Durable append throughput of the file log with group commit, side by side with the raw anchors of the same disk
 * in the same run:
 *   - raw sequential: 1 MiB writes, one fdatasync per MiB (the disk's durable bandwidth);
 *   - raw per record: one 230-byte write + one fdatasync per record (the disk's fdatasync rate).
 * A 200-byte record (empty key, 200-byte value) takes 230 bytes on disk (30-byte header), so the sequential anchor
 * in records/s is its bytes/s ÷ 230. Then the log: C concurrent appenders each awaiting one-record appends
 * (every caller answered only after the fdatasync covering its record), one-record appends with a single appender
 * (latency at low load, for the group-commit window 0 and 1 ms), and 100-record appends. Then 8 partitions with 8 and
 * 64 appenders (appender i writes partition i mod 8), with the shared journal and without it.
 *
 * Run: node --import tsx bench/log-append.ts [--dir DIR] [--seconds S]   (default DIR: the OS temp dir; S = 3)
 * Prints one table with records/s and the ratios to the anchors, and a JSON line for BENCHMARKS.md.
 *
 * Micro benchmark of the CPU side: node --import tsx bench/log-append.ts --encode
 * Encodes 100-record appends (200-byte values) with the previous encoder (Buffer#writeUInt32LE, Buffer#copy, CRC-32C
 * over eight separate tables, kept below as `encodeRecordsPrevious`) and the current one, side by side, in µs per
 * record; checks that both produce the same bytes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileLog, recordBytes } from '../src/log/index.js';
import { encodeRecords } from '../src/log/record.js';
import { crc32c } from '../src/log/crc32c.js';

const args = process.argv.slice(2);
const argOf = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const root = mkdtempSync(join(argOf('--dir', tmpdir()), 'shock-bench-log-'));
const seconds = Number(argOf('--seconds', '3'));
const only = argOf('--only', '');
const VALUE_BYTES = 200;
const FRAME_BYTES = recordBytes(0, VALUE_BYTES);
const MiB = 1024 * 1024;

interface Row {
  name: string;
  recordsPerSec: number;
  fsyncsPerSec?: number;
  latencyMsMean?: number;
  recordsPerFsync?: number;
}

async function rawSequential(): Promise<Row> {
  const fh = await open(join(root, 'raw-seq'), 'w');
  const chunk = Buffer.alloc(MiB, 7);
  let bytes = 0;
  let fsyncs = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await fh.write(chunk, 0, chunk.length, bytes);
    await fh.datasync();
    bytes += chunk.length;
    fsyncs++;
  }
  const s = (performance.now() - t0) / 1000;
  await fh.close();
  console.log(`raw sequential: ${(bytes / MiB / s).toFixed(1)} MiB/s with one fdatasync per MiB`);
  return { name: 'raw: 1 MiB write + fdatasync', recordsPerSec: bytes / FRAME_BYTES / s, fsyncsPerSec: fsyncs / s };
}

async function rawPerRecord(): Promise<Row> {
  const fh = await open(join(root, 'raw-rec'), 'w');
  const frame = Buffer.alloc(FRAME_BYTES, 7);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await fh.write(frame, 0, frame.length, n * FRAME_BYTES);
    await fh.datasync();
    n++;
  }
  const s = (performance.now() - t0) / 1000;
  await fh.close();
  return {
    name: 'raw: 230 B write + fdatasync per record',
    recordsPerSec: n / s,
    fsyncsPerSec: n / s,
    latencyMsMean: (s * 1000) / n,
  };
}

async function logRun(
  name: string,
  appenders: number,
  recordsPerAppend: number,
  groupCommitWindowMs: number,
  { partitions = 1, journal = true }: { partitions?: number; journal?: boolean } = {},
): Promise<Row> {
  if (only && !name.includes(only)) return { name, recordsPerSec: NaN };
  const dir = join(root, `log-${appenders}-${recordsPerAppend}-${groupCommitWindowMs}-${partitions}-${journal}`);
  const log = await openFileLog({ dir, partitions, groupCommitWindowMs, journal });
  const batch = Array.from({ length: recordsPerAppend }, () => ({
    key: Buffer.alloc(0),
    value: Buffer.alloc(VALUE_BYTES, 7),
  }));
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  let appends = 0;
  let latencyMsSum = 0;
  async function appender(_: unknown, i: number): Promise<void> {
    while (performance.now() < until) {
      const started = performance.now();
      await log.append(i % partitions, batch);
      latencyMsSum += performance.now() - started;
      appends++;
    }
  }
  await Promise.all(Array.from({ length: appenders }, appender));
  const s = (performance.now() - t0) / 1000;
  const stats = log.stats();
  let records = 0;
  let rounds = 0;
  for (const p of stats.partitions) {
    records += p.records;
    rounds += p.fsyncs;
  }
  // fdatasyncs the disk ran: the journal's, plus the rounds that synced their own segment.
  const fsyncs = stats.journal ? stats.journal.syncs + rounds - stats.journal.entries : rounds;
  await log.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    name,
    recordsPerSec: records / s,
    fsyncsPerSec: fsyncs / s,
    latencyMsMean: latencyMsSum / appends,
    recordsPerFsync: records / fsyncs,
  };
}

/** The encoder before the pipelining change, kept for the side-by-side micro benchmark. */
const previousTables: Int32Array[] = (() => {
  const t0 = new Int32Array(256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t0[b] = c;
  }
  const out = [t0];
  for (let k = 1; k < 8; k++) {
    const prev = out[k - 1];
    const next = new Int32Array(256);
    for (let b = 0; b < 256; b++) next[b] = (prev[b] >>> 8) ^ t0[prev[b] & 0xff];
    out.push(next);
  }
  return out;
})();

const [T0, T1, T2, T3, T4, T5, T6, T7] = previousTables;

function crc32cPrevious(bytes: Uint8Array, start: number, end: number): number {
  let c = ~0;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const lo = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c =
      T7[lo & 0xff] ^
      T6[(lo >>> 8) & 0xff] ^
      T5[(lo >>> 16) & 0xff] ^
      T4[lo >>> 24] ^
      T3[bytes[i + 4]] ^
      T2[bytes[i + 5]] ^
      T1[bytes[i + 6]] ^
      T0[bytes[i + 7]];
    i += 8;
  }
  while (i < end) c = (c >>> 8) ^ T0[(c ^ bytes[i++]) & 0xff];
  return ~c >>> 0;
}

function encodeRecordsPrevious(
  records: readonly { key: Buffer; value: Buffer; timestampMs?: number }[],
  offsetFirst: number,
  nowMs: number,
): Buffer {
  let total = 0;
  for (const r of records) total += recordBytes(r.key.length, r.value.length);
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    const { key, value } = records[i];
    const length = 26 + key.length + value.length;
    const offset = offsetFirst + i;
    const ts = records[i].timestampMs ?? nowMs;
    buf.writeUInt32LE(length, at);
    buf[at + 8] = 1;
    buf[at + 9] = 0;
    buf.writeUInt32LE(offset >>> 0, at + 10);
    buf.writeUInt32LE((offset / 2 ** 32) >>> 0, at + 14);
    buf.writeUInt32LE(ts >>> 0, at + 18);
    buf.writeUInt32LE((ts / 2 ** 32) >>> 0, at + 22);
    buf.writeUInt32LE(key.length, at + 26);
    key.copy(buf, at + 30);
    value.copy(buf, at + 30 + key.length);
    const end = at + 4 + length;
    buf.writeUInt32LE(crc32cPrevious(buf, at + 8, end), at + 4);
    at = end;
  }
  return buf;
}

function encodeMicro(): void {
  const records = Array.from({ length: 100 }, (_, i) => ({
    key: Buffer.alloc(0),
    value: Buffer.alloc(VALUE_BYTES, i),
  }));
  const nowMs = Date.now();
  if (!encodeRecords(records, 2 ** 40, nowMs).equals(encodeRecordsPrevious(records, 2 ** 40, nowMs))) {
    throw new Error('the previous and the current encoder disagree');
  }
  const frame = encodeRecords(records.slice(0, 1), 0, nowMs);
  const cases: [string, () => unknown][] = [
    ['encode, previous (µs/record)', () => encodeRecordsPrevious(records, 5, nowMs)],
    ['encode, current (µs/record)', () => encodeRecords(records, 5, nowMs)],
    [
      'crc32c of one frame, previous (µs/record)',
      () => {
        for (let i = 0; i < 100; i++) crc32cPrevious(frame, 8, frame.length);
      },
    ],
    [
      'crc32c of one frame, current (µs/record)',
      () => {
        for (let i = 0; i < 100; i++) crc32c(frame, 8, frame.length);
      },
    ],
  ];
  const rounds = 5;
  const best = new Map<string, number>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, fn] of cases) {
      const n = 2000;
      for (let i = 0; i < 200; i++) fn();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) fn();
      const us = ((performance.now() - t0) * 1000) / n / 100;
      best.set(name, Math.min(best.get(name) ?? Infinity, us));
    }
  }
  console.log(`best of ${rounds} rounds, 100 records of ${VALUE_BYTES} B per call:`);
  for (const [name, us] of best) console.log(name.padEnd(44) + us.toFixed(3).padStart(8));
}

if (args.includes('--encode')) {
  encodeMicro();
  rmSync(root, { recursive: true, force: true });
  process.exit(0);
}

try {
  const seq = await rawSequential();
  const perRecord = await rawPerRecord();
  const rows: Row[] = [seq, perRecord];
  rows.push(await logRun('log: 1 appender, 1 record/append, window 0 ms', 1, 1, 0));
  rows.push(await logRun('log: 1 appender, 1 record/append, window 1 ms', 1, 1, 1));
  for (const c of [64, 512, 4096]) rows.push(await logRun(`log: ${c} appenders, 1 record/append`, c, 1, 0));
  rows.push(await logRun('log: 64 appenders, 100 records/append', 64, 100, 0));
  rows.push(await logRun('log: 256 appenders, 100 records/append', 256, 100, 0));
  // The shared journal (docs/adr/004-shared-journal.md) against one fdatasync per partition round, same run.
  for (const appenders of [8, 64]) {
    for (const journal of [false, true]) {
      const name = `log: 8 partitions, ${appenders} appenders, 1 rec, ${journal ? 'journal' : 'no journal'}`;
      rows.push(await logRun(name, appenders, 1, 0, { partitions: 8, journal }));
    }
  }
  console.log('');
  console.log(
    'case'.padEnd(46) +
      'records/s'.padStart(12) +
      '  ÷seq'.padStart(8) +
      '  ÷1-fsync'.padStart(10) +
      '  fsync/s'.padStart(9) +
      '  rec/fsync'.padStart(11) +
      '  mean ms'.padStart(9),
  );
  for (const r of rows) {
    console.log(
      r.name.padEnd(46) +
        r.recordsPerSec.toFixed(0).padStart(12) +
        (r.recordsPerSec / seq.recordsPerSec).toFixed(3).padStart(8) +
        (r.recordsPerSec / perRecord.recordsPerSec).toFixed(1).padStart(10) +
        (r.fsyncsPerSec?.toFixed(0) ?? '').padStart(9) +
        (r.recordsPerFsync?.toFixed(1) ?? '').padStart(11) +
        (r.latencyMsMean?.toFixed(2) ?? '').padStart(9),
    );
  }
  console.log(
    JSON.stringify({ date: new Date().toISOString(), node: process.version, frameBytes: FRAME_BYTES, seconds, rows }),
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
