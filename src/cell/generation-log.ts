/**
 * The cell's file log across generations (docs/adr/003-resharding.md): one `FileLog` per generation that is not
 * retired, and a `FileLog` face for the gateway whose partition count follows the active generation.
 *
 * The switch of a reshard, in this one process:
 *
 *   1. open the new generation's log (a new directory, the new partition count);
 *   2. write the manifest: old generation sealed (end not yet recorded), new one active — durable before anything
 *      is appended to the new log, so that a restart always knows where 202'd events went;
 *   3. from the same event-loop turn on, every append goes to the new log (`partitions` changes in that turn; the
 *      gateway computes each append's partition in the same synchronous stretch as the append);
 *   4. wait for the old log's appends in flight to settle;
 *   5. record the old generation's end offsets in the manifest (durable) — only then may consumers of the new
 *      generation start (`generation-consumers.ts`).
 *
 * A crash between 2 and 5 is finished at the next open: the sealed generation takes no appends any more, so its
 * recovered end offsets are its sealed end. A crash before 2 leaves a directory no manifest names; it is removed.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assert, shockError } from '../base/index.js';
import {
  activeGeneration,
  beginReshard,
  fileRetentionOptions,
  initialManifest,
  openFileLog,
  readManifest,
  recordSealedEnd,
  removeGenerationDir,
  retireGeneration,
  writeManifest,
  type AppendRecord,
  type AppendResult,
  type FileLog,
  type FileLogOptions,
  type FileLogStats,
  type FileRetentionConfig,
  type Generation,
  type GenerationManifest,
  type LogRecord,
  type OffsetStore,
  type PartitionState,
  type ReadOptions,
} from '../log/index.js';

/**
 * Generation g's offsets start at g × 2^40: a partition number's offsets never repeat across generations, so the
 * sink's per-partition high-water marks keep growing and dead letters keyed by (group, partition, offset) never
 * collide. 2^40 records per partition per generation, and 8192 generations, fit in a safe integer.
 */
export function generationOffsetBase(gen: number): number {
  return gen * 2 ** 40;
}

/**
 * How each generation's file log is opened (everything but the directory and the partition count). `retention` is
 * the cell's `log.retention` (maxAge, maxBytes), or the file log's own `retentionMs`/`retentionBytesMax`.
 *
 * **Retention and generations.** Retention applies to the active generation only. A sealed generation holds its
 * retention from the moment it is sealed (in the same synchronous stretch as the switch) until it retires: it
 * takes no appends, so it cannot grow, and every record below its sealed end is still needed by its consumers
 * (the order rule lets no child start before every parent is drained). It is then deleted as a whole. Records the
 * active generation's retention removed before the switch stay removed (its consumers resume at the oldest left).
 */
export type GenerationLogOptions = Omit<FileLogOptions, 'dir' | 'partitions' | 'retentionHeld'> & {
  retention?: FileRetentionConfig;
};

function fileLogOptions(options: GenerationLogOptions): Omit<FileLogOptions, 'dir' | 'partitions'> {
  const { retention, ...rest } = options;
  return { ...rest, ...fileRetentionOptions(retention) };
}

/** One open generation and the appends in flight on it. */
export interface OpenGeneration {
  readonly gen: number;
  readonly log: FileLog;
  inflight: number;
  settled: (() => void)[];
}

/** The cell's log across generations. The `FileLog` face is the active generation's. */
export interface GenerationLog extends FileLog {
  /** The manifest as last written. */
  manifest(): GenerationManifest;
  /** The open log of a generation that is not retired. */
  generation(gen: number): OpenGeneration | undefined;
  /** Switches appends to a new generation of `partitions` (steps 1–5 above). Resolves once the old end is recorded. */
  reshard(partitions: number): Promise<GenerationManifest>;
  /**
   * Retires the oldest sealed generation once its consumers committed its sealed end: manifest first (durable),
   * then its log is closed and its directory removed; `manifest()` shows it retired once the directory is gone
   * (until then it reads sealed, its log no longer open).
   */
  retire(gen: number): Promise<void>;
  /**
   * Records the end of a sealed generation whose end is not recorded yet (step 5 failed, e.g. a disk error), once
   * its appends have settled. Nothing to do while a switch runs (it records the end itself).
   */
  recordPendingEnds(): Promise<void>;
}

const generationDirPattern = /^log-g(\d+)$/;

/**
 * Fault-injection hook for tests only: a pause between step 4 and step 5 of the switch (the new generation takes
 * appends, the old end is not recorded yet), so a test can kill the real process exactly there. 0 (off) unless
 * the environment sets it.
 */
const testSealDelayMs = Number(process.env.SHOCK_TEST_RESHARD_SEAL_DELAY_MS ?? 0) || 0;

/**
 * Opens the generations of `dataDir` (a directory without a manifest is generation 0 in `log`, with `partitions`),
 * finishing whatever a crash interrupted: orphan and retired directories are removed, a sealed generation's end is
 * recorded. With a manifest, its active generation's partition count wins over `partitions`.
 */
export async function openGenerationLog(
  dataDir: string,
  partitions: number,
  options: GenerationLogOptions,
): Promise<GenerationLog> {
  options = fileLogOptions(options);
  const onDisk = await readManifest(dataDir);
  let manifest = onDisk ?? initialManifest(partitions);
  await removeUnnamedDirs(dataDir, manifest);
  const open: OpenGeneration[] = [];
  try {
    for (const g of manifest.generations) {
      if (g.state === 'retired') continue;
      const log = await openFileLog({
        ...options,
        dir: join(dataDir, g.dir),
        partitions: g.partitions,
        offsetBase: generationOffsetBase(g.gen),
        // A sealed generation keeps every record until it retires (see GenerationLogOptions).
        retentionHeld: g.state === 'sealed',
      });
      open.push({ gen: g.gen, log, inflight: 0, settled: [] });
    }
    for (const g of manifest.generations) {
      if (g.state !== 'sealed' || g.sealedEnd !== null) continue;
      // Sealed before the crash: nothing appends to it any more, so what recovery found is its end.
      const log = open.find((o) => o.gen === g.gen)!.log;
      manifest = recordSealedEnd(manifest, g.gen, endsOf(log));
      await writeManifest(dataDir, manifest);
    }
  } catch (err) {
    await Promise.all(open.map((o) => o.log.close().catch(() => undefined)));
    throw err;
  }
  return new GenerationLogImpl(dataDir, options, manifest, open);
}

/** Directories `log-g<n>` the manifest does not name (a reshard that crashed before its manifest write), and retired ones. */
async function removeUnnamedDirs(dataDir: string, manifest: GenerationManifest): Promise<void> {
  const live = new Set(manifest.generations.filter((g) => g.state !== 'retired').map((g) => g.dir));
  let names: string[];
  try {
    names = readdirSync(dataDir);
  } catch {
    return;
  }
  const retired = new Set(manifest.generations.filter((g) => g.state === 'retired').map((g) => g.dir));
  for (const name of names) {
    const unnamed = generationDirPattern.test(name) && !live.has(name);
    if (unnamed || retired.has(name)) await removeGenerationDir(dataDir, name);
  }
}

function endsOf(log: FileLog): number[] {
  return Array.from({ length: log.partitions }, (_, p) => log.state(p).offsetEnd);
}

class GenerationLogImpl implements GenerationLog {
  private active: OpenGeneration;
  private readonly open = new Map<number, OpenGeneration>();
  private switching = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly options: GenerationLogOptions,
    private current: GenerationManifest,
    generations: OpenGeneration[],
  ) {
    for (const g of generations) this.open.set(g.gen, g);
    this.active = this.open.get(activeGeneration(current).gen)!;
    assert(this.active !== undefined, 'the active generation is open');
  }

  get partitions(): number {
    return this.active.log.partitions;
  }

  get offsets(): OffsetStore {
    return this.active.log.offsets;
  }

  get dir(): string {
    return this.active.log.dir;
  }

  /** Appends to the active generation; counts the call in flight until it settles (step 4 waits for them). */
  append(partition: number, records: AppendRecord[]): Promise<AppendResult> {
    const g = this.active;
    g.inflight++;
    const promise = g.log.append(partition, records);
    promise.then(
      () => settle(g),
      () => settle(g),
    );
    return promise;
  }

  read(partition: number, offset: number, options?: ReadOptions): Promise<LogRecord[]> {
    return this.active.log.read(partition, offset, options);
  }

  state(partition: number): PartitionState {
    return this.active.log.state(partition);
  }

  waitFor(partition: number, offset: number, timeoutMs: number): Promise<number> {
    return this.active.log.waitFor(partition, offset, timeoutMs);
  }

  stats(): FileLogStats {
    return this.active.log.stats();
  }

  shareState(): SharedArrayBuffer {
    return this.active.log.shareState();
  }

  holdRetention(): Promise<void> {
    return this.active.log.holdRetention();
  }

  /** A retention check of every open generation (a sealed one holds its retention: nothing goes). */
  async applyRetention(): Promise<void> {
    await Promise.all([...this.open.values()].map((g) => g.log.applyRetention()));
  }

  manifest(): GenerationManifest {
    return this.current;
  }

  generation(gen: number): OpenGeneration | undefined {
    return this.open.get(gen);
  }

  async reshard(partitions: number): Promise<GenerationManifest> {
    if (this.closing) throw shockError('SHOCK_LOG_CLOSED', 'the log is closed');
    if (this.switching) {
      throw shockError('SHOCK_CELL_RESHARD_BUSY', 'a reshard is switching generations right now', {
        hint: 'retry in a moment',
      });
    }
    this.switching = true;
    try {
      return await this.switchTo(partitions);
    } finally {
      this.switching = false;
    }
  }

  private async switchTo(partitions: number): Promise<GenerationManifest> {
    const sealing = beginReshard(this.current, partitions);
    const next = activeGeneration(sealing);
    // A directory of this number can only be left over from a reshard that crashed before its manifest write.
    await removeGenerationDir(this.dataDir, next.dir);
    const log = await openFileLog({
      ...this.options,
      dir: join(this.dataDir, next.dir),
      partitions,
      offsetBase: generationOffsetBase(next.gen),
    });
    try {
      await writeManifest(this.dataDir, sealing);
    } catch (err) {
      await log.close().catch(() => undefined);
      await removeGenerationDir(this.dataDir, next.dir).catch(() => undefined);
      throw err;
    }
    // From this turn on, appends go to the new generation; the manifest already names it.
    const old = this.active;
    this.active = { gen: next.gen, log, inflight: 0, settled: [] };
    this.open.set(next.gen, this.active);
    this.current = sealing;
    // Sealed from this turn on: its retention stops before anything more is removed (see GenerationLogOptions).
    const held = old.log.holdRetention();
    await settledAll(old);
    await held;
    if (testSealDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, testSealDelayMs));
    const sealed = recordSealedEnd(this.current, old.gen, endsOf(old.log));
    await writeManifest(this.dataDir, sealed);
    this.current = sealed;
    return sealed;
  }

  async recordPendingEnds(): Promise<void> {
    if (this.switching || this.closing) return;
    for (const g of this.current.generations) {
      if (g.state !== 'sealed' || g.sealedEnd !== null) continue;
      const open = this.open.get(g.gen)!;
      await settledAll(open);
      const sealed = recordSealedEnd(this.current, g.gen, endsOf(open.log));
      await writeManifest(this.dataDir, sealed);
      this.current = sealed;
    }
  }

  async retire(gen: number): Promise<void> {
    const retired = retireGeneration(this.current, gen);
    // Durable first: from here a restart removes the directory (removeUnnamedDirs) whatever happens next.
    await writeManifest(this.dataDir, retired);
    const g = this.open.get(gen);
    this.open.delete(gen);
    try {
      await g?.log.close();
      await removeGenerationDir(this.dataDir, generationOf(retired, gen).dir);
    } finally {
      // The manifest this process shows (the reshard status, the lag) says retired only once the directory is gone,
      // so whoever reads `idle` finds it gone. Should the close or the removal fail, it says retired all the same (it
      // is, on disk): the consumers go on to the next generation and the next start removes the directory.
      this.current = retired;
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const errors: unknown[] = [];
      for (const g of this.open.values()) await g.log.close().catch((err: unknown) => errors.push(err));
      if (errors.length > 0) throw errors[0];
    })();
    return this.closing;
  }
}

function generationOf(m: GenerationManifest, gen: number): Generation {
  return m.generations[gen];
}

function settle(g: OpenGeneration): void {
  g.inflight--;
  if (g.inflight === 0) for (const r of g.settled.splice(0)) r();
}

/** Resolves once every append issued on `g` has settled (it gets no new ones: it is no longer active). */
function settledAll(g: OpenGeneration): Promise<void> {
  if (g.inflight === 0) return Promise.resolve();
  return new Promise((resolve) => g.settled.push(resolve));
}
