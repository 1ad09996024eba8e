/**
 * Durable consumer offsets of the JetStream log, in a JetStream key-value bucket `<streamPrefix>_offsets`
 * (file storage, the log's replicas, history 1). Key `offset.<group, base64url>.<partition>`, value
 * `{"offset": N, "committedAtMs": T, "removedBeforeConsumed": R}`.
 *
 * `get` and `list` answer from a cache loaded at open and kept current by a watch on the bucket (so commits made by
 * other processes, e.g. consumer workers with their own connection, show here too). A commit resolves once
 * the server acknowledged the write (the same durability as an append, docs/log.md). Each write is a
 * compare-and-set on the key's revision, so two processes committing the same (group, partition) cannot move it
 * backwards behind each other's back: on a lost race the store re-reads the key and checks the rule again.
 *
 * `removedBeforeConsumed` counts, per group and partition and for good, the records that retention removed before
 * the group consumed them: a commit that moves a committed offset from below the partition's first offset to at or
 * above it adds the difference (a consumer behind retention resumes at the first offset, as with the file log; this
 * keeps the skip visible after it has caught up: `shock log inspect`). A group's first commit counts nothing.
 */
import { KvWatchInclude, type KV, type KvEntry, type QueuedIterator } from 'nats';
import { shockError } from '../../base/index.js';
import type { OffsetStore } from '../log.js';
import { checkCommitForward, checkCommitRange } from '../offset-rules.js';
import { JsErrCode, jsErrCode, translateNatsError } from './errors.js';

/** A committed offset and the bucket revision that wrote it; `offset` is undefined for a deleted key. */
interface Committed {
  offset: number | undefined;
  revision: number;
  removedBeforeConsumed: number;
}

/** A compare-and-set lost to another writer is retried at most this many times before SHOCK_LOG_APPEND_CONFLICT. */
const COMMIT_ATTEMPTS_MAX = 3;
const OFFSET_KEY_PREFIX = 'offset.';

export class JetStreamOffsetStore implements OffsetStore {
  private readonly cache = new Map<string, Committed>();
  private readonly chains = new Map<string, Promise<void>>();
  private watch: QueuedIterator<KvEntry> | undefined;
  private watching: Promise<void> | undefined;

  private constructor(
    private readonly kv: KV,
    private readonly partitions: number,
    private readonly bounds: (partition: number) => Promise<{ offsetStart: number; offsetEnd: number }>,
    private readonly checkOpen: () => void,
  ) {}

  /** Opens the store and loads every committed offset into the cache. */
  static async load(
    kv: KV,
    partitions: number,
    bounds: (partition: number) => Promise<{ offsetStart: number; offsetEnd: number }>,
    checkOpen: () => void,
  ): Promise<JetStreamOffsetStore> {
    const store = new JetStreamOffsetStore(kv, partitions, bounds, checkOpen);
    try {
      // Watch first, then load: an update that lands in between is seen by one or the other (newest revision wins).
      store.watch = await kv.watch({ key: `${OFFSET_KEY_PREFIX}>`, include: KvWatchInclude.UpdatesOnly });
      store.watching = store.follow(store.watch);
      const keys: string[] = [];
      for await (const key of await kv.keys(`${OFFSET_KEY_PREFIX}>`)) keys.push(key);
      for (const key of keys) await store.reload(key);
    } catch (err) {
      await store.close();
      throw translateNatsError(err, 'load committed offsets', {});
    }
    return store;
  }

  /** Stops the watch. */
  async close(): Promise<void> {
    this.watch?.stop();
    await this.watching;
  }

  private async follow(watch: QueuedIterator<KvEntry>): Promise<void> {
    try {
      for await (const entry of watch) {
        try {
          this.apply(entry);
        } catch {
          // A malformed value written by someone else: `get` keeps the last good one; a reload reports it.
        }
      }
    } catch {
      // The watch ends with the connection; commits and reloads keep the cache from then on.
    }
  }

  get(group: string, partition: number): number {
    this.checkPartition(partition);
    return this.cache.get(offsetKey(group, partition))?.offset ?? 0;
  }

  /** Records of `partition` that retention removed before `group` consumed them (counted at its commits). */
  removedBeforeConsumed(group: string, partition: number): number {
    this.checkPartition(partition);
    return this.cache.get(offsetKey(group, partition))?.removedBeforeConsumed ?? 0;
  }

  list(): Record<string, Record<number, number>> {
    const out: Record<string, Record<number, number>> = {};
    for (const [key, { offset }] of this.cache) {
      if (offset === undefined) continue;
      const { group, partition } = parseOffsetKey(key);
      (out[group] ??= {})[partition] = offset;
    }
    return out;
  }

  commit(group: string, partition: number, offset: number, opts: { force?: boolean } = {}): Promise<void> {
    let key: string;
    try {
      this.checkOpen();
      this.checkPartition(partition);
      key = offsetKey(group, partition);
    } catch (err) {
      return Promise.reject(err);
    }
    const prior = this.chains.get(key) ?? Promise.resolve();
    const next = prior.then(() => this.commitNow(key, group, partition, offset, opts.force === true));
    const settled = next.catch(() => undefined);
    this.chains.set(key, settled);
    void settled.then(() => {
      if (this.chains.get(key) === settled) this.chains.delete(key);
    });
    return next;
  }

  private async commitNow(key: string, group: string, partition: number, offset: number, force: boolean) {
    this.checkOpen();
    const range = await this.bounds(partition);
    const rangeError = checkCommitRange(group, partition, offset, range);
    if (rangeError !== undefined) throw rangeError;
    for (let attempt = 1; ; attempt++) {
      const cached = this.cache.get(key);
      const current = cached?.offset === undefined ? undefined : { offset: cached.offset, revision: cached.revision };
      const backwards = checkCommitForward(group, partition, offset, current?.offset, force);
      if (backwards !== undefined) throw backwards;
      if (current?.offset === offset) return;
      const skipped =
        current !== undefined && current.offset < range.offsetStart && offset >= range.offsetStart
          ? range.offsetStart - current.offset
          : 0;
      const removedBeforeConsumed = (cached?.removedBeforeConsumed ?? 0) + skipped;
      const value = JSON.stringify({
        offset,
        committedAtMs: Date.now(),
        ...(removedBeforeConsumed > 0 ? { removedBeforeConsumed } : {}),
      });
      try {
        const revision =
          current === undefined ? await this.kv.create(key, value) : await this.kv.update(key, value, current.revision);
        this.set(key, { offset, revision, removedBeforeConsumed });
        return;
      } catch (err) {
        if (!isRevisionConflict(err) || attempt >= COMMIT_ATTEMPTS_MAX) {
          throw translateNatsError(err, `commit offset ${group}/${partition}`, { group, partition, offset });
        }
        await this.reload(key).catch((e: unknown) => {
          throw translateNatsError(e, `re-read offset ${group}/${partition}`, { group, partition, offset });
        });
      }
    }
  }

  /** Reads one key from the server into the cache. */
  private async reload(key: string): Promise<void> {
    const entry = await this.kv.get(key);
    if (entry !== null) this.apply(entry);
  }

  /** Takes a bucket entry into the cache unless the cache already holds a newer revision of its key. */
  private apply(entry: KvEntry): void {
    if (entry.operation !== 'PUT') {
      this.set(entry.key, { offset: undefined, revision: entry.revision, removedBeforeConsumed: 0 });
      return;
    }
    const stored = entry.json() as { offset?: unknown; removedBeforeConsumed?: unknown };
    const offset = stored.offset;
    const removed = stored.removedBeforeConsumed;
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
      throw shockError('SHOCK_LOG_CORRUPT_RECORD', `the committed offset under ${entry.key} is not a whole number`, {
        key: entry.key,
        revision: entry.revision,
      });
    }
    const removedBeforeConsumed =
      typeof removed === 'number' && Number.isSafeInteger(removed) && removed > 0 ? removed : 0;
    this.set(entry.key, { offset, revision: entry.revision, removedBeforeConsumed });
  }

  private set(key: string, committed: Committed): void {
    const cached = this.cache.get(key);
    if (cached === undefined || committed.revision >= cached.revision) this.cache.set(key, committed);
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

/** A create over an existing key, or an update with a stale revision. */
function isRevisionConflict(err: unknown): boolean {
  return jsErrCode(err) === JsErrCode.wrongLastSequence || /wrong last sequence|key exists/i.test(String(err));
}

/** `offset.<group as base64url>.<partition>`: any group name, within the key alphabet `[-/_=.A-Za-z0-9]`. */
export function offsetKey(group: string, partition: number): string {
  if (typeof group !== 'string' || group.length === 0 || group.length > 200) {
    throw shockError(
      'SHOCK_CONFIG_INVALID',
      `a consumer group name must have 1 to 200 characters, got ${group?.length}`,
      {
        group,
      },
    );
  }
  return `${OFFSET_KEY_PREFIX}${Buffer.from(group, 'utf8').toString('base64url')}.${partition}`;
}

function parseOffsetKey(key: string): { group: string; partition: number } {
  const [, encoded, p] = key.split('.');
  return { group: Buffer.from(encoded, 'base64url').toString('utf8'), partition: Number(p) };
}
