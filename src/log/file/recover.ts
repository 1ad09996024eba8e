/**
 * Recovery of one partition directory on open.
 *
 * Older segments were fsynced before the next one was created, so any damage in them is real corruption: each
 * one's tail is checked (from its last index entry to its end, the last record must be the one before the next
 * segment's base) and damage is a SHOCK_LOG_CORRUPT_RECORD naming the file and byte. The last segment may end in a
 * write a crash tore: it is verified record by record from its start, truncated at the first record that fails
 * (reported through the logger, with the bytes dropped), and its index is rebuilt.
 */
import { mkdir, open, readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../base/index.js';
import { corrupt } from './read.js';
import { fsyncDir, io, isNotFound } from './io.js';
import {
  decodeIndex,
  encodeIndexEntries,
  indexName,
  parseSegmentName,
  scanFrames,
  segmentName,
  type IndexEntry,
} from './segment.js';
import type { LogEvent } from './options.js';

/** What the writer knows about one segment. */
export interface SegmentInfo {
  base: number;
  /** Durable bytes (the file's size after the last fsync). */
  sizeBytes: number;
  /** One past the last record in the segment. */
  offsetNext: number;
  index: IndexEntry[];
  /** Bytes appended since the last index entry. */
  bytesSinceIndex: number;
  /** Largest record timestamp seen in the segment (its tail for older segments), for retention by age. */
  timestampMsMax: number;
}

export interface RecoverOptions {
  lengthMax: number;
  /** The first offset of a partition created now (FileLogOptions.offsetBase). */
  offsetBase?: number;
  indexIntervalBytes: number;
  logger: (event: LogEvent) => void;
}

/** Verifies and repairs one partition directory, creating it when absent. Returns its segments, oldest first. */
export async function recoverPartition(dir: string, partition: number, opts: RecoverOptions): Promise<SegmentInfo[]> {
  const created = await io('create directory', dir, () => mkdir(dir, { recursive: true }));
  if (created !== undefined) await fsyncDir(join(dir, '..'));
  const names = await io('read directory', dir, () => readdir(dir));
  const bases = names
    .map(parseSegmentName)
    .filter((b): b is number => b !== undefined)
    .sort((a, b) => a - b);
  await removeOrphans(dir, names, new Set(bases));
  if (bases.length === 0) {
    const base = opts.offsetBase ?? 0;
    await createSegmentFile(dir, base);
    return [{ base, sizeBytes: 0, offsetNext: base, index: [], bytesSinceIndex: 0, timestampMsMax: 0 }];
  }
  const segments: SegmentInfo[] = [];
  for (let i = 0; i < bases.length - 1; i++)
    segments.push(await checkOlderSegment(dir, partition, bases[i], bases[i + 1], opts));
  segments.push(await recoverLastSegment(dir, partition, bases[bases.length - 1], opts));
  return segments;
}

/** Creates an empty segment and makes its name durable. */
export async function createSegmentFile(dir: string, base: number): Promise<void> {
  const path = join(dir, segmentName(base));
  await io('create segment', path, async () => (await open(path, 'w')).close());
  await io('create index', path, async () => (await open(join(dir, indexName(base)), 'w')).close());
  await fsyncDir(dir);
}

async function removeOrphans(dir: string, names: string[], bases: Set<number>): Promise<void> {
  for (const name of names) {
    const m = /^(\d{20})\.index$/.exec(name);
    const orphanIndex = m !== null && !bases.has(Number(m[1]));
    if (orphanIndex || name.includes('.tmp-')) {
      await io('remove orphan', join(dir, name), () =>
        unlink(join(dir, name)).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e))),
      );
    }
  }
}

async function loadIndex(dir: string, base: number, sizeBytes: number): Promise<IndexEntry[]> {
  try {
    return decodeIndex(base, await readFile(join(dir, indexName(base))), sizeBytes);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

async function checkOlderSegment(dir: string, partition: number, base: number, baseNext: number, opts: RecoverOptions) {
  const path = join(dir, segmentName(base));
  return io('verify segment', path, async () => {
    const fh = await open(path, 'r');
    try {
      const sizeBytes = (await fh.stat()).size;
      const index = await loadIndex(dir, base, sizeBytes);
      const starts =
        index.length > 0 ? [index[index.length - 1], { offset: base, position: 0 }] : [{ offset: base, position: 0 }];
      let problem: { position: number; offset: number; detail?: string } | undefined;
      for (const start of starts) {
        let expected = start.offset;
        let timestampMsMax = 0;
        const end = await scanFrames(fh, start.position, sizeBytes, opts.lengthMax, (record) => {
          if (record.offset !== expected) return false;
          expected++;
          timestampMsMax = Math.max(timestampMsMax, record.timestampMs);
          return true;
        });
        if (end.reason === 'end' && expected === baseNext) {
          return { base, sizeBytes, offsetNext: baseNext, index, bytesSinceIndex: 0, timestampMsMax };
        }
        const detail =
          end.reason === 'end'
            ? `segment ends at offset ${expected}, the next segment starts at ${baseNext}`
            : end.reason === 'stopped'
              ? 'offset out of sequence'
              : end.detail;
        problem = { position: end.position, offset: expected, detail };
        if (end.reason !== 'stopped' && start.position === 0) break;
      }
      assert(problem !== undefined, 'a failed verification records its problem');
      throw corrupt(path, partition, problem.position, problem.offset, problem.detail);
    } finally {
      await fh.close();
    }
  });
}

async function recoverLastSegment(
  dir: string,
  partition: number,
  base: number,
  opts: RecoverOptions,
): Promise<SegmentInfo> {
  const path = join(dir, segmentName(base));
  return io('recover segment', path, async () => {
    const fh = await open(path, 'r+');
    try {
      const sizeBytes = (await fh.stat()).size;
      const index: IndexEntry[] = [];
      let expected = base;
      let indexPosition = 0;
      let timestampMsMax = 0;
      const end = await scanFrames(fh, 0, sizeBytes, opts.lengthMax, (record, position) => {
        if (record.offset !== expected) return false;
        if (index.length === 0 || position - indexPosition >= opts.indexIntervalBytes) {
          index.push({ offset: record.offset, position });
          indexPosition = position;
        }
        expected++;
        timestampMsMax = Math.max(timestampMsMax, record.timestampMs);
        return true;
      });
      if (end.position < sizeBytes) {
        const reason =
          end.reason === 'stopped'
            ? `record offset out of sequence (expected ${expected})`
            : `${end.reason}: ${end.detail}`;
        opts.logger({
          level: 'warn',
          message: `truncated a torn or corrupt tail of ${path} at byte ${end.position} (${sizeBytes - end.position} bytes dropped)`,
          details: {
            file: path,
            partition,
            position: end.position,
            bytesDropped: sizeBytes - end.position,
            offsetEnd: expected,
            reason,
          },
        });
        await fh.truncate(end.position);
        await fh.datasync();
      }
      const indexBytes = encodeIndexEntries(base, index);
      const indexFh = await open(join(dir, indexName(base)), 'w');
      try {
        await indexFh.write(indexBytes, 0, indexBytes.length, 0);
      } finally {
        await indexFh.close();
      }
      return {
        base,
        sizeBytes: end.position,
        offsetNext: expected,
        index,
        bytesSinceIndex: end.position - indexPosition,
        timestampMsMax,
      };
    } finally {
      await fh.close();
    }
  });
}
