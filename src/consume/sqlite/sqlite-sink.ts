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
 * Schema version 2 (in `sink_meta`, and in `PRAGMA user_version` so that a version that knows only 1 refuses it);
 * docs/consume.md documents it for users who query the sink:
 * - `results(consumer_group, event_id, log_partition, log_offset, result_json, processed_at_ms, tenant)`, primary key
 *   `(consumer_group, tenant, event_id)`: the processed events and their results, one row per event. An event is
 *   `(tenant, event_id)`: two tenants' events with the same id are two rows.
 * - `dead_letters(consumer_group, log_partition, log_offset, event_id, error, event_json, attempts, timestamp_ms,
 *   dead_at_ms, tenant)`, primary key `(consumer_group, log_partition, log_offset)` (one record per position),
 *   index `(consumer_group, tenant, event_id)`: the dead-letter log. `tenant` and `event_id` are NULL for a record
 *   that is not an event.
 * - `owners(consumer_group, log_partition, epoch, offset_next, claimed_at_ms)`: fencing epochs and high-water marks.
 * - `sink_meta(key, value)`: `version` = 2.
 *
 * Version 1 (no tenant column, results keyed by `(consumer_group, event_id)`) is migrated in place at open, in one
 * transaction (`migrateV1`): dead letters take their tenant from their stored event JSON; results get
 * `tenantUnknown` ('') until `adoptTenants` reads their tenant back from the log record at their position.
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
  ProcessedQuery,
  Sink,
  SinkBatch,
  SinkResultRow,
  SinkWriteResult,
  TenantAdoption,
  UnknownTenantRow,
} from '../sink.js';

/** The version this code writes and reads. */
export const SCHEMA_VERSION = 2;
/** Rows per multi-row INSERT: fewer statement calls, well under SQLite's 32,766 parameters. */
const INSERT_CHUNK_ROWS = 128;

/** `results` of version 2 (also the target of the version-1 migration). */
const resultsSql = (table: string) => `
CREATE TABLE ${table} (
  consumer_group TEXT NOT NULL,
  event_id TEXT NOT NULL,
  log_partition INTEGER NOT NULL,
  log_offset INTEGER NOT NULL,
  result_json TEXT NOT NULL,
  processed_at_ms INTEGER NOT NULL,
  tenant TEXT NOT NULL,
  PRIMARY KEY (consumer_group, tenant, event_id)
) WITHOUT ROWID;`;

const metaSql = `
CREATE TABLE sink_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO sink_meta (key, value) VALUES ('version', '${SCHEMA_VERSION}');`;

const deadLetterIndexSql = 'CREATE INDEX dead_letters_event ON dead_letters (consumer_group, tenant, event_id);';
/** Finds the rows migrated without their tenant, by position (empty once `adoptTenants` resolved them). */
const unknownIndexSql = `CREATE INDEX results_tenant_unknown ON results (consumer_group, log_partition, log_offset)
  WHERE tenant = '';`;

/** A fresh sink at version 2. */
const schemaSql = `
${resultsSql('results')}
${unknownIndexSql}
CREATE TABLE dead_letters (
  consumer_group TEXT NOT NULL,
  log_partition INTEGER NOT NULL,
  log_offset INTEGER NOT NULL,
  event_id TEXT,
  error TEXT NOT NULL,
  event_json TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  dead_at_ms INTEGER NOT NULL,
  tenant TEXT,
  PRIMARY KEY (consumer_group, log_partition, log_offset)
);
${deadLetterIndexSql}
CREATE TABLE owners (
  consumer_group TEXT NOT NULL,
  log_partition INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  offset_next INTEGER NOT NULL,
  claimed_at_ms INTEGER NOT NULL,
  PRIMARY KEY (consumer_group, log_partition)
);
${metaSql}
`;

/**
 * Version 1 → 2, in place. `results` is rebuilt (its primary key gains `tenant`; SQLite cannot alter a key), its
 * rows copied with `tenantUnknown`: a result row of version 1 holds nothing the tenant can be read from — only the
 * log record at its `(log_partition, log_offset)` does, and `adoptTenants` reads it from there. Dead letters keep
 * the whole event: their tenant comes from `event_json` (NULL when it is not an event with a string tenant).
 */
const migrateV1Sql = `
${resultsSql('results_v2')}
INSERT INTO results_v2 (consumer_group, event_id, log_partition, log_offset, result_json, processed_at_ms, tenant)
  SELECT consumer_group, event_id, log_partition, log_offset, result_json, processed_at_ms, '' FROM results;
DROP TABLE results;
ALTER TABLE results_v2 RENAME TO results;
${unknownIndexSql}
ALTER TABLE dead_letters ADD COLUMN tenant TEXT;
UPDATE dead_letters SET tenant = CASE
  WHEN json_valid(event_json) AND json_type(event_json, '$.tenant') = 'text' THEN json_extract(event_json, '$.tenant')
END;
${deadLetterIndexSql}
${metaSql}
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

/** The stored version: `sink_meta` when it is there, else `user_version` (0 for a new file, 1 for version 1). */
function storedVersion(db: Database.Database): number {
  const meta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sink_meta'").get();
  const userVersion = db.pragma('user_version', { simple: true }) as number;
  if (meta === undefined) return userVersion;
  const value = db.prepare("SELECT value FROM sink_meta WHERE key = 'version'").pluck().get() as string | undefined;
  return Math.max(userVersion, value === undefined ? 0 : Number(value));
}

function migrate(db: Database.Database, path: string): void {
  const check = (version: number) => {
    if (!(version > SCHEMA_VERSION) && Number.isInteger(version)) return;
    throw shockError(
      'SHOCK_SINK_SCHEMA',
      `the sink ${path} has schema version ${version}; this version knows ${SCHEMA_VERSION}`,
      { path, version, hint: 'run a newer shockabsorber, or point the sink at another file' },
    );
  };
  const seen = storedVersion(db);
  check(seen);
  if (seen === SCHEMA_VERSION) return;
  db.transaction(() => {
    const version = storedVersion(db); // again, under the write lock: another process may have migrated meanwhile
    check(version);
    if (version === SCHEMA_VERSION) return;
    db.exec(version === 0 ? schemaSql : migrateV1Sql);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** The SQLite sink. Create with `openSqliteSink`. */
export class SqliteSink implements Sink, DeadLetterStore, TenantAdoption {
  private closed = false;
  private readonly insertChunk: Database.Statement;
  private readonly insertOne: Database.Statement;
  private readonly insertDeadLetter: Database.Statement;
  private readonly fence: Database.Statement;
  private readonly selectEpoch: Database.Statement;
  private readonly selectProcessed: Database.Statement;
  private readonly selectProcessedUnknown: Database.Statement;
  private readonly claimTx: (group: string, partition: number, nowMs: number) => PartitionClaim;
  private readonly writeTx: (batch: SinkBatch, nowMs: number) => SinkWriteResult;

  constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {
    const cols = '(consumer_group, tenant, event_id, log_partition, log_offset, result_json, processed_at_ms)';
    const tuple = '(?, ?, ?, ?, ?, ?, ?)';
    const chunkValues = Array.from({ length: INSERT_CHUNK_ROWS }, () => tuple).join(', ');
    this.insertChunk = db.prepare(`INSERT INTO results ${cols} VALUES ${chunkValues} ON CONFLICT DO NOTHING`);
    this.insertOne = db.prepare(`INSERT INTO results ${cols} VALUES ${tuple} ON CONFLICT DO NOTHING`);
    this.insertDeadLetter = db.prepare(
      `INSERT INTO dead_letters (consumer_group, log_partition, log_offset, tenant, event_id, error, event_json,
         attempts, timestamp_ms, dead_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    this.fence = db.prepare(
      `UPDATE owners SET offset_next = max(offset_next, ?) WHERE consumer_group = ? AND log_partition = ? AND epoch = ?`,
    );
    this.selectEpoch = db.prepare(
      `SELECT epoch, offset_next FROM owners WHERE consumer_group = ? AND log_partition = ?`,
    );
    this.selectProcessed = db
      .prepare('SELECT 1 FROM results WHERE consumer_group = ? AND tenant = ? AND event_id = ?')
      .pluck();
    this.selectProcessedUnknown = db
      .prepare(
        `SELECT 1 FROM results WHERE consumer_group = ? AND tenant = '' AND event_id = ?
           AND log_partition = ? AND log_offset = ?`,
      )
      .pluck();
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

  async processed(group: string, events: readonly ProcessedQuery[]): Promise<boolean[]> {
    this.checkOpen();
    try {
      return events.map(
        (e) =>
          this.selectProcessed.get(group, e.tenant, e.eventId) !== undefined ||
          this.selectProcessedUnknown.get(group, e.eventId, e.partition, e.offset) !== undefined,
      );
    } catch (err) {
      throw translateSqliteError(err, 'read', this.path);
    }
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

  /** The stored result of one event `(tenant, eventId)` (parsed JSON), or undefined. */
  result(group: string, tenant: string, eventId: string): unknown {
    const row = this.db
      .prepare('SELECT result_json FROM results WHERE consumer_group = ? AND tenant = ? AND event_id = ?')
      .pluck()
      .get(group, tenant, eventId) as string | undefined;
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
      tenant: (r.tenant as string | null) ?? undefined,
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

  unknownTenantRows(group: string, partition: number, offsetFrom: number, limit: number): UnknownTenantRow[] {
    return this.db
      .prepare(
        `SELECT event_id AS eventId, log_offset AS offset FROM results
         WHERE consumer_group = ? AND tenant = '' AND log_partition = ? AND log_offset >= ?
         ORDER BY log_offset LIMIT ?`,
      )
      .all(group, partition, offsetFrom, limit) as UnknownTenantRow[];
  }

  adoptTenants(group: string, rows: readonly { eventId: string; tenant: string }[]): number {
    const set = this.db.prepare(
      "UPDATE OR IGNORE results SET tenant = ? WHERE consumer_group = ? AND tenant = '' AND event_id = ?",
    );
    return this.db.transaction(() => {
      let changed = 0;
      for (const r of rows) changed += set.run(r.tenant, group, r.eventId).changes;
      return changed;
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
        d.tenant ?? null,
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
    const params: unknown[] = new Array(INSERT_CHUNK_ROWS * 7);
    for (; i + INSERT_CHUNK_ROWS <= rows.length; i += INSERT_CHUNK_ROWS) {
      for (let j = 0; j < INSERT_CHUNK_ROWS; j++) {
        const r = rows[i + j];
        const k = j * 7;
        params[k] = group;
        params[k + 1] = r.tenant;
        params[k + 2] = r.eventId;
        params[k + 3] = r.partition;
        params[k + 4] = r.offset;
        params[k + 5] = r.resultJson;
        params[k + 6] = nowMs;
      }
      inserted += this.insertChunk.run(params).changes;
    }
    for (; i < rows.length; i++) {
      const r = rows[i];
      inserted += this.insertOne.run(group, r.tenant, r.eventId, r.partition, r.offset, r.resultJson, nowMs).changes;
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
