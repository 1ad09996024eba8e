/**
 * Durable consumer offsets of the file log: one small file per (group, partition),
 * `DIR/offsets/<group>/<partition>.json` holding `{"offset": N, "committedAtMs": T}`, plus `"removedBeforeConsumed": R`
 * once retention removed records the group had not consumed: a commit that moves the group's offset from below the
 * partition's first offset to at or above it adds the difference, kept for good (as the JetStream engine's offsets
 * do; a group's first commit counts nothing — it was never behind).
 *
 * One file per pair means no read-modify-write is shared between threads: a consumer in a worker thread commits
 * its partitions while the writer (or another worker) commits others. Each commit replaces the file atomically
 * (temporary file, fsync, rename, fsync of the directory), so after a crash a file holds the old offset or the new.
 */
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { shockError } from '../../base/index.js';
import type { OffsetStore } from '../log.js';
import { checkCommitForward, checkCommitRange } from '../offset-rules.js';
import { fsyncDir, io, isNotFound, translateIoError, writeFileAtomic } from './io.js';

export const OFFSETS_DIR = 'offsets';

/** The offsets of a log directory. `bounds(p)` gives the partition's retained range for validation. */
export class FileOffsetStore implements OffsetStore {
  private readonly root: string;
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    dir: string,
    private readonly partitions: number,
    private readonly bounds: (partition: number) => { offsetStart: number; offsetEnd: number },
    /** Told after each commit of this store (the writer's floor cache for interest retention). */
    private readonly onCommit?: (partition: number) => void,
  ) {
    this.root = join(dir, OFFSETS_DIR);
  }

  get(group: string, partition: number): number {
    this.checkPartition(partition);
    return readOffsetEntry(join(this.root, groupDirName(group), `${partition}.json`))?.offset ?? 0;
  }

  commit(group: string, partition: number, offset: number, opts: { force?: boolean } = {}): Promise<void> {
    this.checkPartition(partition);
    const groupDir = join(this.root, groupDirName(group));
    const key = `${groupDir}/${partition}`;
    const prior = this.chains.get(key) ?? Promise.resolve();
    const next = prior.then(() => this.commitNow(groupDir, group, partition, offset, opts.force === true));
    const settled = next.catch(() => undefined);
    this.chains.set(key, settled);
    void settled.then(() => {
      if (this.chains.get(key) === settled) this.chains.delete(key);
    });
    return next;
  }

  list(): Record<string, Record<number, number>> {
    const out: Record<string, Record<number, number>> = {};
    for (const [group, entries] of Object.entries(this.listEntries())) {
      out[group] = Object.fromEntries(Object.entries(entries).map(([p, e]) => [p, e.offset]));
    }
    return out;
  }

  /** Every group's committed entries, with the records retention removed before the group consumed them. */
  listEntries(): Record<string, Record<number, OffsetEntry>> {
    const out: Record<string, Record<number, OffsetEntry>> = {};
    for (const name of listDir(this.root)) {
      const group = decodeURIComponent(name);
      const entries: Record<number, OffsetEntry> = {};
      for (const file of listDir(join(this.root, name))) {
        const m = /^(\d+)\.json$/.exec(file);
        if (!m) continue;
        const entry = readOffsetEntry(join(this.root, name, file));
        if (entry !== undefined) entries[Number(m[1])] = entry;
      }
      out[group] = entries;
    }
    return out;
  }

  /**
   * The committed floor of a partition under interest retention: the smallest offset committed by the known groups
   * (`groups` plus every group with a directory under `offsets/`), a group without a commit counting as 0. Null when
   * no group is known (then no record counts as consumed). Reads the files, so commits of worker threads count.
   */
  floor(partition: number, groups: readonly string[]): number | null {
    const names = new Set(listDir(this.root));
    for (const g of groups) names.add(groupDirName(g));
    let floor: number | null = null;
    for (const name of names) {
      const offset = readOffsetEntry(join(this.root, name, `${partition}.json`))?.offset ?? 0;
      if (floor === null || offset < floor) floor = offset;
    }
    return floor;
  }

  private async commitNow(groupDir: string, group: string, partition: number, offset: number, force: boolean) {
    const bounds = this.bounds(partition);
    const rangeError = checkCommitRange(group, partition, offset, bounds);
    if (rangeError !== undefined) throw rangeError;
    const path = join(groupDir, `${partition}.json`);
    const entry = readOffsetEntry(path);
    const current = entry?.offset;
    const backwards = checkCommitForward(group, partition, offset, current, force);
    if (backwards !== undefined) throw backwards;
    if (current === offset) return;
    let removed = entry?.removedBeforeConsumed ?? 0;
    if (current !== undefined && current < bounds.offsetStart && offset >= bounds.offsetStart) {
      removed += bounds.offsetStart - current;
    }
    await this.ensureGroupDir(groupDir);
    const value = { offset, committedAtMs: Date.now(), ...(removed > 0 ? { removedBeforeConsumed: removed } : {}) };
    await writeFileAtomic(path, JSON.stringify(value) + '\n');
    this.onCommit?.(partition);
  }

  private async ensureGroupDir(groupDir: string): Promise<void> {
    try {
      readdirSync(groupDir);
      return;
    } catch (err) {
      if (!isNotFound(err)) throw translateIoError(err, 'read directory', groupDir);
    }
    await io('create directory', groupDir, async () => mkdirSync(groupDir, { recursive: true }));
    await fsyncDir(this.root);
    await fsyncDir(join(this.root, '..'));
  }

  private checkPartition(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions) {
      throw shockError('SHOCK_LOG_BAD_PARTITION', `no partition ${partition}: the log has ${this.partitions}`, {
        partition,
        partitions: this.partitions,
      });
    }
  }
}

/** A group name as a directory name: any string, percent-encoded so it can never escape `offsets/`. */
export function groupDirName(group: string): string {
  if (group.length === 0 || group.length > 200) {
    throw shockError(
      'SHOCK_CONFIG_INVALID',
      `a consumer group name must have 1 to 200 characters, got ${group.length}`,
      {
        group,
      },
    );
  }
  return encodeURIComponent(group).replace(/\./g, '%2E').replace(/\*/g, '%2A');
}

/** One committed offset file. */
export interface OffsetEntry {
  offset: number;
  /** Records retention removed before this group consumed them (0 when none). */
  removedBeforeConsumed: number;
}

function readOffsetEntry(path: string): OffsetEntry | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw translateIoError(err, 'read offset', path);
  }
  let offset: unknown;
  let removed: unknown;
  try {
    const value = JSON.parse(text) as { offset?: unknown; removedBeforeConsumed?: unknown };
    offset = value.offset;
    removed = value.removedBeforeConsumed;
  } catch {
    offset = undefined;
  }
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw shockError('SHOCK_LOG_CORRUPT_RECORD', `the committed offset file ${path} is not valid`, {
      path,
      hint: 'reset the group with a forced commit, or delete the file to start the group from the beginning',
    });
  }
  return {
    offset,
    removedBeforeConsumed: typeof removed === 'number' && Number.isSafeInteger(removed) && removed > 0 ? removed : 0,
  };
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => !n.includes('.tmp-'));
  } catch (err) {
    if (isNotFound(err)) return [];
    throw translateIoError(err, 'read directory', dir);
  }
}
