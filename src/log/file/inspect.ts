/**
 * Read-only examination of a log directory, for the tools a user reaches for when something looks wrong
 * (`shock log inspect`, `shock log read`; Kafka's dump-log and console consumer). Takes no lock and changes
 * nothing, so it works beside a running writer and on a read-only file system. A writer still appending may make
 * the newest bytes look torn: the report says when the directory's writer lock is held.
 */
import { readJournalFiles } from './journal.js';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { shockError } from '../../base/index.js';
import type { LogRecord } from '../log.js';
import { drainingGenerations, generationDir, type Generation, type GenerationManifest } from '../generations.js';
import { checkMeta, PARTITIONS_DIR, readRetention, type RetentionRecord } from './file-log.js';
import { MANIFEST_NAME, readManifest } from './generations.js';
import { io, isNotFound } from './io.js';
import { LOCK_NAME } from './lock.js';
import { FileOffsetStore } from './offsets.js';
import { readPartition, type ReadLimits } from './read.js';
import { DirectoryView } from './reader.js';
import { decodeIndex, indexName, parseSegmentName, scanFrames, segmentName } from './segment.js';

/** Tools do not know the writer's record limit: any length a segment can hold is plausible. */
const LENGTH_MAX_ANY = 2 ** 31;

/** One problem found in a segment. `torn-tail` is what recovery truncates; anything else is corruption. */
export interface SegmentProblem {
  kind: 'torn-tail' | 'corrupt';
  file: string;
  partition: number;
  position: number;
  offset: number;
  detail: string;
}

export interface SegmentReport {
  file: string;
  base: number;
  /** One past the last valid record found. */
  offsetNext: number;
  bytes: number;
  records?: number;
}

export interface PartitionReport {
  partition: number;
  offsetStart: number;
  offsetEnd: number;
  bytes: number;
  segments: SegmentReport[];
}

export interface GroupReport {
  group: string;
  partitions: {
    partition: number;
    committed: number;
    lag: number;
    behindRetention: boolean;
    /**
     * Records retention removed before the group consumed them: counted at the commit that moved the group past the
     * gap (kept for good), plus, while the group is behind retention, what is missing below the first offset now.
     */
    removedBeforeConsumed: number;
  }[];
  lagTotal: number;
}

export interface LogReport {
  dir: string;
  partitions: number;
  /** The pid holding the writer lock, if any (the log may be changing while it is inspected). */
  writerPid: number | null;
  partitionReports: PartitionReport[];
  groups: GroupReport[];
  /** With `verify`: records whose CRC was checked. */
  recordsVerified?: number;
  problems: SegmentProblem[];
  /**
   * The retention the writer applied at its last open (`retention.json`; null values = unlimited), or null when the
   * directory has no record of it (a log written before it was kept).
   */
  retention: RetentionRecord | null;
  /**
   * The shared journal's files (docs/log.md, "Journal"). A running writer has one; without a writer, files mean it
   * did not close cleanly: the next open writes back anything they hold that a segment lost.
   */
  journal: { files: number; entries: number; bytes: number };
  /** Set when the directory is one generation of a data directory that resharded (inspect the data directory). */
  dataDir?: string;
}

async function journalSummary(dir: string): Promise<LogReport['journal']> {
  const files = await readJournalFiles(dir);
  let entries = 0;
  let bytes = 0;
  for (const f of files) {
    entries += f.entries.length;
    for (const e of f.entries) bytes += e.payload.length;
  }
  return { files: files.length, entries, bytes };
}

/** Opens nothing for writing: returns the partition count or throws a clear error when `dir` holds no log. */
export async function describeLog(dir: string): Promise<number> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory())
      throw shockError('SHOCK_CLI_INPUT_UNREADABLE', `${dir} is not a directory`, {
        dir,
        hint: 'pass the log directory',
      });
  } catch (err) {
    if (isNotFound(err)) {
      throw shockError('SHOCK_CLI_INPUT_UNREADABLE', `no log directory at ${dir}`, {
        dir,
        hint: 'check the path (the `log.dir` of the cell configuration)',
      });
    }
    throw err;
  }
  const partitions = await checkMeta(dir, undefined, false);
  if (partitions === undefined) {
    const dataDir = (await readManifest(dir).catch(() => null)) !== null;
    throw shockError('SHOCK_CLI_INPUT_UNREADABLE', `${dir} holds no shock log (no log.json)`, {
      dir,
      hint: dataDir
        ? `${dir} is a data directory (it has ${MANIFEST_NAME}): pass one generation's log, e.g. ${join(dir, generationDir(0))} or ${join(dir, 'log-g1')}`
        : 'pass the directory a cell writes its log to',
    });
  }
  return partitions;
}

/** Examines every partition; with `verify`, checks every record's CRC and sequence. */
export async function inspectLog(dir: string, opts: { verify?: boolean } = {}): Promise<LogReport> {
  const partitions = await describeLog(dir);
  const problems: SegmentProblem[] = [];
  const partitionReports: PartitionReport[] = [];
  let recordsVerified = 0;
  for (let p = 0; p < partitions; p++) {
    const r = await inspectPartition(join(dir, PARTITIONS_DIR, String(p)), p, opts.verify === true, problems);
    recordsVerified += r.segments.reduce((s, x) => s + (x.records ?? 0), 0);
    partitionReports.push(r);
  }
  const store = new FileOffsetStore(dir, partitions, (p) => partitionReports[p]);
  const groups = Object.entries(store.listEntries()).map(([group, byPartition]) => {
    const rows = Object.entries(byPartition).map(([ps, entry]) => {
      const { offsetStart, offsetEnd } = partitionReports[Number(ps)] ?? { offsetStart: 0, offsetEnd: 0 };
      const committed = entry.offset;
      return {
        partition: Number(ps),
        committed,
        lag: Math.max(0, offsetEnd - Math.max(committed, offsetStart)),
        behindRetention: committed < offsetStart,
        removedBeforeConsumed: entry.removedBeforeConsumed + Math.max(0, offsetStart - committed),
      };
    });
    return { group, partitions: rows, lagTotal: rows.reduce((s, x) => s + x.lag, 0) };
  });
  const parent = join(dir, '..');
  const inDataDir = (await readManifest(parent).catch(() => null)) !== null;
  return {
    dir,
    partitions,
    writerPid: (await writerPid(dir)) ?? null,
    partitionReports,
    groups,
    ...(opts.verify ? { recordsVerified } : {}),
    problems,
    retention: (await readRetention(dir)) ?? null,
    journal: await journalSummary(dir),
    ...(inDataDir ? { dataDir: parent } : {}),
  };
}

/** One partition of one generation for one group: committed offset (null: none yet) and what is left to consume. */
export interface GenerationLagRow {
  partition: number;
  committed: number | null;
  /** Where consuming ends in this generation: the sealed end (sealed), else the durable end. */
  offsetEnd: number;
  lag: number;
  behindRetention: boolean;
  /** As in `GroupReport`: records retention removed before this group consumed them. */
  removedBeforeConsumed: number;
}

/** One generation of a data directory, as `shock log inspect DATA_DIR` shows it. */
export interface GenerationReport {
  gen: number;
  state: Generation['state'];
  partitions: number;
  dir: string;
  sealedEnd: number[] | null;
  /**
   * Whether retention may remove this generation's segments: `active` (its configured retention applies), `held`
   * (sealed: kept whole until it retires), `gone` (retired: its directory was deleted).
   */
  retentionState: 'active' | 'held' | 'gone';
  /** The log report of its directory (absent when retired). */
  log?: LogReport;
  /** Per group, per partition, lag in this generation (absent when retired). */
  groups: { group: string; lag: number; partitions: GenerationLagRow[] }[];
}

/** A whole data directory: every generation and the lag per group across the generations still consumed. */
export interface DataDirReport {
  dataDir: string;
  /** False for a data directory that never resharded (no generations.json: generation 0 in `log/`). */
  manifest: boolean;
  generations: GenerationReport[];
  /** Per group: lag summed over the generations not retired (sealed ones first, then the active one). */
  groups: { group: string; lagTotal: number; byGeneration: { gen: number; lag: number }[] }[];
  problems: SegmentProblem[];
  recordsVerified?: number;
}

/**
 * True when `dir` is a cell's data directory rather than one log: it has a generation manifest, or no `log.json`
 * of its own but a `log/log.json` (generation 0 of a data directory that never resharded).
 */
export async function isDataDir(dir: string): Promise<boolean> {
  if ((await readManifest(dir)) !== null) return true;
  const own = await checkMeta(dir, undefined, false).catch(() => undefined);
  if (own !== undefined) return false;
  return (await checkMeta(join(dir, generationDir(0)), undefined, false).catch(() => undefined)) !== undefined;
}

/**
 * Examines a data directory generation by generation (read-only, no lock): each generation's partitions, offsets,
 * retention state and per-group lag, and the lag per group across the generations still being consumed. A group
 * with no committed offset in a generation is counted from that generation's first offset (its consumers will
 * start there once the older generations are drained).
 */
export async function inspectDataDir(dataDir: string, opts: { verify?: boolean } = {}): Promise<DataDirReport> {
  const onDisk = await readManifest(dataDir);
  const manifest: GenerationManifest = onDisk ?? {
    format: 'shock-generations',
    version: 1,
    generations: [
      {
        gen: 0,
        partitions: await describeLog(join(dataDir, generationDir(0))),
        dir: generationDir(0),
        state: 'active',
        sealedEnd: null,
      },
    ],
  };
  const problems: SegmentProblem[] = [];
  let recordsVerified = 0;
  const generations: GenerationReport[] = [];
  for (const g of manifest.generations) {
    const base = { gen: g.gen, state: g.state, partitions: g.partitions, dir: g.dir, sealedEnd: g.sealedEnd };
    if (g.state === 'retired') {
      generations.push({ ...base, retentionState: 'gone', groups: [] });
      continue;
    }
    const log = await inspectLog(join(dataDir, g.dir), opts);
    problems.push(...log.problems);
    recordsVerified += log.recordsVerified ?? 0;
    generations.push({ ...base, retentionState: g.state === 'sealed' ? 'held' : 'active', log, groups: [] });
  }
  const groupNames = [...new Set(generations.flatMap((g) => g.log?.groups.map((x) => x.group) ?? []))].sort();
  for (const g of generations) {
    if (g.log === undefined) continue;
    for (const group of groupNames) {
      const committedRows = new Map(
        (g.log.groups.find((x) => x.group === group)?.partitions ?? []).map((r) => [r.partition, r]),
      );
      const rows: GenerationLagRow[] = g.log.partitionReports.map((p) => {
        const row = committedRows.get(p.partition);
        const committed = row?.committed ?? null;
        const offsetEnd = g.sealedEnd?.[p.partition] ?? p.offsetEnd;
        const from = Math.max(committed ?? p.offsetStart, p.offsetStart);
        return {
          partition: p.partition,
          committed,
          offsetEnd,
          lag: Math.max(0, offsetEnd - from),
          behindRetention: committed !== null && committed < p.offsetStart,
          removedBeforeConsumed: row?.removedBeforeConsumed ?? 0,
        };
      });
      g.groups.push({ group, lag: rows.reduce((sum, r) => sum + r.lag, 0), partitions: rows });
    }
  }
  const consumed = new Set([...drainingGenerations(manifest).map((g) => g.gen), manifest.generations.at(-1)!.gen]);
  const groups = groupNames.map((group) => {
    const byGeneration = generations
      .filter((g) => consumed.has(g.gen) && g.log !== undefined)
      .map((g) => ({ gen: g.gen, lag: g.groups.find((x) => x.group === group)?.lag ?? 0 }));
    return { group, lagTotal: byGeneration.reduce((sum, x) => sum + x.lag, 0), byGeneration };
  });
  return {
    dataDir,
    manifest: onDisk !== null,
    generations,
    groups,
    problems,
    ...(opts.verify ? { recordsVerified } : {}),
  };
}

async function inspectPartition(
  dir: string,
  partition: number,
  verify: boolean,
  problems: SegmentProblem[],
): Promise<PartitionReport> {
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const bases = names
    .map(parseSegmentName)
    .filter((b): b is number => b !== undefined)
    .sort((a, b) => a - b);
  const segments: SegmentReport[] = [];
  for (let i = 0; i < bases.length; i++) {
    const last = i === bases.length - 1;
    const seg = await inspectSegment(dir, partition, bases[i], verify);
    const expectedNext = last ? undefined : bases[i + 1];
    if (seg.problem) problems.push({ ...seg.problem, kind: last ? 'torn-tail' : 'corrupt' });
    else if (expectedNext !== undefined && seg.report.offsetNext !== expectedNext) {
      problems.push({
        kind: 'corrupt',
        file: seg.report.file,
        partition,
        position: seg.report.bytes,
        offset: seg.report.offsetNext,
        detail: `segment ends at offset ${seg.report.offsetNext}, the next segment starts at ${expectedNext}`,
      });
    }
    segments.push(seg.report);
  }
  const lastSeg = segments[segments.length - 1];
  return {
    partition,
    offsetStart: bases[0] ?? 0,
    offsetEnd: lastSeg?.offsetNext ?? 0,
    bytes: segments.reduce((s, x) => s + x.bytes, 0),
    segments,
  };
}

/**
 * Scans one segment to its end: whole with `verify`, else from its last index entry (falling back to the whole
 * segment when the index misleads).
 */
async function inspectSegment(dir: string, partition: number, base: number, verify: boolean) {
  const file = join(dir, segmentName(base));
  return io('inspect segment', file, async () => {
    const fh = await open(file, 'r');
    try {
      const size = (await fh.stat()).size;
      let starts = [{ offset: base, position: 0 }];
      if (!verify) {
        const index = await readFile(join(dir, indexName(base))).then(
          (b) => decodeIndex(base, b, size),
          () => [],
        );
        if (index.length > 0) starts = [index[index.length - 1], ...starts];
      }
      let result: { report: SegmentReport; problem?: Omit<SegmentProblem, 'kind'> } | undefined;
      for (const start of starts) {
        let expected = start.offset;
        let records = 0;
        const end = await scanFrames(fh, start.position, size, LENGTH_MAX_ANY, (record) => {
          if (record.offset !== expected) return false;
          expected++;
          records++;
          return true;
        });
        const report: SegmentReport = { file, base, offsetNext: expected, bytes: size, ...(verify ? { records } : {}) };
        const bad = end.reason !== 'end';
        result = bad
          ? {
              report,
              problem: {
                file,
                partition,
                position: end.position,
                offset: expected,
                detail: end.reason === 'stopped' ? 'offset out of sequence' : `${end.reason}: ${end.detail}`,
              },
            }
          : { report };
        if (!bad) break;
      }
      return result!;
    } finally {
      await fh.close();
    }
  });
}

async function writerPid(dir: string): Promise<number | undefined> {
  try {
    const pid = (JSON.parse(await readFile(join(dir, LOCK_NAME), 'utf8')) as { pid?: unknown }).pid;
    if (typeof pid !== 'number') return undefined;
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  } catch {
    return undefined;
  }
}

/**
 * Reads records of one partition without opening the log for writing: the range is what `inspectLog` finds
 * (valid records only, a torn tail excluded). Errors: SHOCK_LOG_BAD_PARTITION, SHOCK_LOG_OFFSET_OUT_OF_RANGE,
 * SHOCK_LOG_CORRUPT_RECORD.
 */
export async function readLogDir(
  dir: string,
  partition: number,
  from: number | undefined,
  lim: ReadLimits,
): Promise<{ records: LogRecord[]; offsetStart: number; offsetEnd: number }> {
  const partitions = await describeLog(dir);
  if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
    throw shockError(
      'SHOCK_LOG_BAD_PARTITION',
      `no partition ${partition}: the log has partitions 0..${partitions - 1}`,
      {
        partition,
        partitions,
        hint: `pass --partition 0..${partitions - 1}`,
      },
    );
  }
  const pdir = join(dir, PARTITIONS_DIR, String(partition));
  const report = await inspectPartition(pdir, partition, false, []);
  const range = { offsetStart: report.offsetStart, offsetEnd: report.offsetEnd };
  const view = new DirectoryView(pdir, partition, LENGTH_MAX_ANY, () => range);
  const offset = from ?? range.offsetStart;
  const { records } = await readPartition(view, offset, lim, undefined);
  return { records, ...range };
}
