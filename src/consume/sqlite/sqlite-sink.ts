/**
 * The embedded `Sink`: one SQLite database file through `better-sqlite3`, in WAL mode.
 *
 * Durability: `synchronous=FULL` by default. In WAL mode FULL fsyncs the WAL at every commit, so a `write` that
 * returned survives a power loss. That is what makes the consumer's order safe: the log offset is committed (and
 * fsynced) only after the sink commit, so a crash anywhere redelivers at most the batch whose offset was not yet
 * committed, and the sink absorbs it by event id. With `synchronous=NORMAL` a power loss (not a process crash) can
 * roll back the last sink commits after their offsets were committed — those events' effects would be lost without
 * redelivery. FULL costs one WAL fsync per batch (up to 1,000 events), so it stays the default; `durability:
 * 'normal'` is the named, opt-in weaker mode for sinks that are caches of the log.
 *
 * Schema (`PRAGMA user_version = 1`):
 * - `results(consumer_group, event_id, log_partition, log_offset, result_json, processed_at_ms)`, primary key
 *   `(consumer_group, event_id)`: the processed event ids and their results, one row per event.
 * - `dead_letters(consumer_group, log_partition, log_offset, event_id, error, event_json, attempts, timestamp_ms,
 *   dead_at_ms)`, primary key `(consumer_group, log_partition, log_offset)`: the dead-letter log.
 * - `owners(consumer_group, log_partition, epoch, offset_next, claimed_at_ms)`: fencing epochs and high-water marks.
 *
 * Several threads or processes may open the same file; SQLite serialises writers (`busy_timeout`), and each write
 * transaction starts `IMMEDIATE` so two writers never deadlock upgrading a read lock.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { assert, isShockError, limits, shockError } from '../../base/index.js';
import type {
  DeadLetterKey,
  DeadLetterQuery,
  DeadLetterRow,
  DeadLetterStore,
  PartitionClaim,
  Sink,
  SinkBatch,
  SinkResultRow,
  SinkWriteResult,
} from '../sink.js';

const SCHEMA_VERSION = 1;
/** Rows per multi-row INSERT: fewer statement calls, well under SQLite's 32,766 parameters. */
const INSERT_CHUNK_ROWS = 128;

const schemaSql = `
CREATE TABLE IF NOT EXISTS results (
  consumer_group TEXT NOT NULL,
  event_id TEXT NOT NULL,
  log_partition INTEGER NOT NULL,
  log_offset INTEGER NOT NULL,
  result_json TEXT NOT NULL,
  processed_at_ms INTEGER NOT NULL,
  PRIMARY KEY (consumer_group, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
  consumer_group TEXT NOT NULL,
  log_partition INTEGER NOT NULL,
  log_offset INTEGER NOT NULL,
  event_id TEXT,
  error TEXT NOT NULL,
  event_json TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  dead_at_ms INTEGER NOT NULL,
  PRIMARY KEY (consumer_group, log_partition, log_offset)
);
CREATE TABLE IF NOT EXISTS owners (
  consumer_group TEXT NOT NULL,
  log_partition INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  offset_next INTEGER NOT NULL,
  claimed_at_ms INTEGER NOT NULL,
  PRIMARY KEY (consumer_group, log_partition)
);
`;

/** Options of `openSqliteSink`. */
export interface SqliteSinkOptions {
  /** The database file; its directory is created if missing. */
  path: string;
  /** `full` (default): a returned `write` survives power loss. `normal`: survives a process crash only. */
  durability?: 'full' | 'normal';
  /** How long a write waits for another writer's lock (default `limits.consumeSinkBusyTimeoutMs`). */
  busyTimeoutMs?: number;
}

/** A stored dead letter, as `deadLetters()` lists it. */
export interface StoredDeadLetter extends DeadLetterRow {
  group: string;
  deadAtMs: number;
}

/** Opens (creating if needed) a SQLite sink. Errors are SHOCK_SINK_IO / SHOCK_SINK_SCHEMA with the path. */
export function openSqliteSink(options: SqliteSinkOptions): SqliteSink {
  const { path } = options;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path, { timeout: options.busyTimeoutMs ?? limits.consumeSinkBusyTimeoutMs });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
      migrate(db, path);
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteSink(db, path);
  } catch (err) {
    throw translateSqliteError(err, 'open', path);
  }
}

function migrate(db: Database.Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) {
    throw shockError('SHOCK_SINK_SCHEMA', `the sink ${path} has schema version ${version}; this version knows 1`, {
      path,
      version,
      hint: 'run a newer shockabsorber, or point the sink at another file',
    });
  }
  db.transaction(() => {
    db.exec(schemaSql);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** The SQLite sink. Create with `openSqliteSink`. */
export class SqliteSink implements Sink, DeadLetterStore {
  private closed = false;
  private readonly insertChunk: Database.Statement;
  private readonly insertOne: Database.Statement;
  private readonly insertDeadLetter: Database.Statement;
  private readonly fence: Database.Statement;
  private readonly selectEpoch: Database.Statement;
  private readonly selectProcessed: Database.Statement;
  private readonly claimTx: (group: string, partition: number, nowMs: number) => PartitionClaim;
  private readonly writeTx: (batch: SinkBatch, nowMs: number) => SinkWriteResult;

  constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {
    const cols = '(consumer_group, event_id, log_partition, log_offset, result_json, processed_at_ms)';
    const tuple = '(?, ?, ?, ?, ?, ?)';
    const chunkValues = Array.from({ length: INSERT_CHUNK_ROWS }, () => tuple).join(', ');
    this.insertChunk = db.prepare(`INSERT INTO results ${cols} VALUES ${chunkValues} ON CONFLICT DO NOTHING`);
    this.insertOne = db.prepare(`INSERT INTO results ${cols} VALUES ${tuple} ON CONFLICT DO NOTHING`);
    this.insertDeadLetter = db.prepare(
      `INSERT INTO dead_letters (consumer_group, log_partition, log_offset, event_id, error, event_json, attempts,
         timestamp_ms, dead_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    this.fence = db.prepare(
      `UPDATE owners SET offset_next = max(offset_next, ?) WHERE consumer_group = ? AND log_partition = ? AND epoch = ?`,
    );
    this.selectEpoch = db.prepare(
      `SELECT epoch, offset_next FROM owners WHERE consumer_group = ? AND log_partition = ?`,
    );
    this.selectProcessed = db.prepare('SELECT 1 FROM results WHERE consumer_group = ? AND event_id = ?').pluck();
    const upsertOwner = db.prepare(
      `INSERT INTO owners (consumer_group, log_partition, epoch, offset_next, claimed_at_ms) VALUES (?, ?, 1, 0, ?)
       ON CONFLICT (consumer_group, log_partition) DO UPDATE SET epoch = epoch + 1, claimed_at_ms = excluded.claimed_at_ms`,
    );
    const claimTx = db.transaction((group: string, partition: number, nowMs: number): PartitionClaim => {
      upsertOwner.run(group, partition, nowMs);
      const row = this.selectEpoch.get(group, partition) as { epoch: number; offset_next: number };
      return { epoch: row.epoch, offsetNext: row.offset_next };
    });
    this.claimTx = (g, p, now) => claimTx.immediate(g, p, now);
    const writeTx = db.transaction((batch: SinkBatch, nowMs: number) => this.writeNow(batch, nowMs));
    this.writeTx = (b, now) => writeTx.immediate(b, now);
  }

  async claim(group: string, partition: number): Promise<PartitionClaim> {
    this.checkOpen();
    try {
      return this.claimTx(group, partition, Date.now());
    } catch (err) {
      throw translateSqliteError(err, 'claim', this.path);
    }
  }

  async write(batch: SinkBatch): Promise<SinkWriteResult> {
    this.checkOpen();
    try {
      return this.writeTx(batch, Date.now());
    } catch (err) {
      throw translateSqliteError(err, 'write', this.path);
    }
  }

  async processed(group: string, eventIds: readonly string[]): Promise<Set<string>> {
    this.checkOpen();
    const found = new Set<string>();
    try {
      for (const id of eventIds) if (this.selectProcessed.get(group, id) !== undefined) found.add(id);
    } catch (err) {
      throw translateSqliteError(err, 'read', this.path);
    }
    return found;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  /** The current owner of a partition (for inspection and tests). */
  owner(group: string, partition: number): PartitionClaim | undefined {
    const row = this.selectEpoch.get(group, partition) as { epoch: number; offset_next: number } | undefined;
    return row === undefined ? undefined : { epoch: row.epoch, offsetNext: row.offset_next };
  }

  /** Stored results of a group: how many, and how many per partition. */
  countResults(group: string): { total: number; byPartition: Record<number, number> } {
    const rows = this.db
      .prepare('SELECT log_partition AS p, count(*) AS n FROM results WHERE consumer_group = ? GROUP BY log_partition')
      .all(group) as { p: number; n: number }[];
    const byPartition: Record<number, number> = {};
    let total = 0;
    for (const r of rows) {
      byPartition[r.p] = r.n;
      total += r.n;
    }
    return { total, byPartition };
  }

  /** The stored result of one event (parsed JSON), or undefined. */
  result(group: string, eventId: string): unknown {
    const row = this.db
      .prepare('SELECT result_json FROM results WHERE consumer_group = ? AND event_id = ?')
      .pluck()
      .get(group, eventId) as string | undefined;
    return row === undefined ? undefined : JSON.parse(row);
  }

  /** Dead letters of a group in partition/offset order (at most `limit`), optionally one partition / after a cursor. */
  deadLetters(group: string, limit = 1000, query: DeadLetterQuery = {}): StoredDeadLetter[] {
    const where = ['consumer_group = ?'];
    const args: unknown[] = [group];
    if (query.partition !== undefined) {
      where.push('log_partition = ?');
      args.push(query.partition);
    }
    if (query.after !== undefined) {
      where.push('(log_partition, log_offset) > (?, ?)');
      args.push(query.after.partition, query.after.offset);
    }
    const rows = this.db
      .prepare(`SELECT * FROM dead_letters WHERE ${where.join(' AND ')} ORDER BY log_partition, log_offset LIMIT ?`)
      .all(...args, limit) as Record<string, unknown>[];
    return rows.map((r) => ({
      group: r.consumer_group as string,
      partition: r.log_partition as number,
      offset: r.log_offset as number,
      eventId: (r.event_id as string | null) ?? undefined,
      error: r.error as string,
      eventJson: r.event_json as string,
      attempts: r.attempts as number,
      timestampMs: r.timestamp_ms as number,
      deadAtMs: r.dead_at_ms as number,
    }));
  }

  /** Dead letters of a group (of one partition). */
  countDeadLetters(group: string, partition?: number): number {
    return partition === undefined
      ? (this.db.prepare('SELECT count(*) FROM dead_letters WHERE consumer_group = ?').pluck().get(group) as number)
      : (this.db
          .prepare('SELECT count(*) FROM dead_letters WHERE consumer_group = ? AND log_partition = ?')
          .pluck()
          .get(group, partition) as number);
  }

  /** Removes dead letters (replayed events) in one transaction; returns how many existed. */
  removeDeadLetters(group: string, keys: readonly DeadLetterKey[]): number {
    const del = this.db.prepare(
      'DELETE FROM dead_letters WHERE consumer_group = ? AND log_partition = ? AND log_offset = ?',
    );
    return this.db.transaction(() => {
      let removed = 0;
      for (const k of keys) removed += del.run(group, k.partition, k.offset).changes;
      return removed;
    })();
  }

  private writeNow(batch: SinkBatch, nowMs: number): SinkWriteResult {
    const fenced = this.fence.run(batch.offsetNext, batch.group, batch.partition, batch.epoch);
    if (fenced.changes === 0) {
      const owner = this.selectEpoch.get(batch.group, batch.partition) as { epoch: number } | undefined;
      throw shockError(
        'SHOCK_CONSUME_FENCED',
        `partition ${batch.partition} of group ${batch.group} is owned by epoch ${owner?.epoch ?? 'none'}; this writer has epoch ${batch.epoch}`,
        { group: batch.group, partition: batch.partition, epoch: batch.epoch, ownerEpoch: owner?.epoch },
      );
    }
    const inserted = this.insertResults(batch.group, batch.results, nowMs);
    let deadLettered = 0;
    for (const d of batch.deadLetters) {
      deadLettered += this.insertDeadLetter.run(
        batch.group,
        d.partition,
        d.offset,
        d.eventId ?? null,
        d.error,
        d.eventJson,
        d.attempts,
        d.timestampMs,
        nowMs,
      ).changes;
    }
    assert(inserted <= batch.results.length, 'sink inserted at most the rows it was given', { inserted });
    return { inserted, duplicates: batch.results.length - inserted, deadLettered };
  }

  private insertResults(group: string, rows: readonly SinkResultRow[], nowMs: number): number {
    let inserted = 0;
    let i = 0;
    const params: unknown[] = new Array(INSERT_CHUNK_ROWS * 6);
    for (; i + INSERT_CHUNK_ROWS <= rows.length; i += INSERT_CHUNK_ROWS) {
      for (let j = 0; j < INSERT_CHUNK_ROWS; j++) {
        const r = rows[i + j];
        const k = j * 6;
        params[k] = group;
        params[k + 1] = r.eventId;
        params[k + 2] = r.partition;
        params[k + 3] = r.offset;
        params[k + 4] = r.resultJson;
        params[k + 5] = nowMs;
      }
      inserted += this.insertChunk.run(params).changes;
    }
    for (; i < rows.length; i++) {
      const r = rows[i];
      inserted += this.insertOne.run(group, r.eventId, r.partition, r.offset, r.resultJson, nowMs).changes;
    }
    return inserted;
  }

  private checkOpen(): void {
    if (this.closed) throw shockError('SHOCK_SINK_IO', `the sink ${this.path} is closed`, { path: this.path });
  }
}

/** Every SQLite failure becomes SHOCK_SINK_IO with the path and SQLite's code; our own errors pass through. */
export function translateSqliteError(err: unknown, op: string, path: string): unknown {
  if (isShockError(err)) return err;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  return shockError(
    'SHOCK_SINK_IO',
    `sink ${op} failed on ${path}: ${message}`,
    {
      path,
      op,
      sqliteCode: typeof code === 'string' ? code : undefined,
      hint: 'check that the directory is writable and the disk has space; the consumer retries and redelivers',
    },
    err,
  );
}
