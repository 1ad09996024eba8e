/**
 * The distributed `Sink`: PostgreSQL through `pg`, for cells whose sink outgrows one machine. Same tables, same
 * guarantees as the SQLite sink (see `../sink.ts`), so a consumer cannot tell them apart.
 *
 * - `claim` is one statement: `INSERT INTO owners … ON CONFLICT (consumer_group, log_partition) DO UPDATE SET epoch =
 *   owners.epoch + 1 RETURNING epoch, offset_next` — atomic, and it waits for a batch in flight (row lock).
 * - `write` is one transaction on one connection: first the fencing `UPDATE owners SET offset_next =
 *   GREATEST(offset_next, $) … WHERE epoch = $` (zero rows → ROLLBACK and SHOCK_CONSUME_FENCED; the row lock it takes
 *   makes a concurrent `claim` wait until this batch commits), then one `INSERT … SELECT FROM unnest($arrays) ON
 *   CONFLICT DO NOTHING` for all results and one for all dead letters — one statement per batch whatever its
 *   length, parameters bound as arrays — then COMMIT.
 * - Durability: `synchronous_commit = on` (`durability: 'full'`, the default) makes COMMIT wait for the WAL flush,
 *   so a `write` that resolved survives a server crash or power loss. `'normal'` sets `synchronous_commit = off`: a
 *   crash of the PostgreSQL server (not of the consumer) may lose the last commits — for sinks that are caches.
 * - Bounded: connecting waits at most `connectTimeoutMs`; every statement at most `statementTimeoutMs` (server
 *   side) and a little more on the client (`query_timeout`), so a server that vanishes mid-write — kill -9, a cut
 *   network — turns into SHOCK_SINK_UNREACHABLE, never a hang. A connection that failed is destroyed, not reused.
 *   The other way round, a writer that stalls inside a transaction is ended by the server after the same time
 *   (`idle_in_transaction_session_timeout`): its row lock then frees the partition for the next owner's `claim`.
 *
 * Text that PostgreSQL cannot hold (a NUL character in a dead letter's `error` or `event_json` — a record that is not
 * an event may contain anything) is stored with each NUL replaced by U+FFFD, so it cannot poison the partition.
 */
import pg from 'pg';
import { assert, assertSafeInteger, limits, shockError } from '../../base/index.js';
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
import { describeUrl, translatePostgresError } from './errors.js';
import { migrate, quoteSchema } from './schema.js';

/** Options of `openPostgresSink`. */
export interface PostgresSinkOptions {
  /** Connection URL, `postgres://user:password@host:5432/database` (libpq's URI form; `?host=/socket/dir` works). */
  url: string;
  /** The schema holding the sink's tables, created if missing (default `shock`). */
  schema?: string;
  /** Connections this sink opens at most (default 2: a consumer worker writes one batch per partition at a time). */
  poolMax?: number;
  /** `full` (default): a resolved `write` survives a server crash. `normal`: `synchronous_commit = off`. */
  durability?: 'full' | 'normal';
  /** Connecting gives up after this long (default `limits.consumeSinkBusyTimeoutMs`). */
  connectTimeoutMs?: number;
  /** A statement (or a wait for a lock) gives up after this long (default `limits.consumeSinkBusyTimeoutMs`). */
  statementTimeoutMs?: number;
}

/** The schema used when none is named. */
export const postgresSinkSchemaDefault = 'shock';
/** Connections per sink when `poolMax` is not given. */
export const postgresSinkPoolMaxDefault = 2;
/** The client-side timeout exceeds the server-side one by this much, so the server's clearer error usually wins. */
const clientTimeoutSlackMs = 1000;

/** A stored dead letter, as `deadLetters()` lists it (the same shape as the SQLite sink's). */
export interface PostgresStoredDeadLetter extends DeadLetterRow {
  group: string;
  deadAtMs: number;
}

/**
 * Opens the PostgreSQL sink: connects, creates the schema if needed (idempotent, safe when several workers open at
 * once). Errors: SHOCK_SINK_UNREACHABLE (cannot connect), SHOCK_SINK_SCHEMA (a newer schema), SHOCK_SINK_IO,
 * SHOCK_CONFIG_INVALID (a bad schema name or option).
 */
export async function openPostgresSink(options: PostgresSinkOptions): Promise<PostgresSink> {
  const schema = options.schema ?? postgresSinkSchemaDefault;
  const quoted = quoteSchema(schema);
  const poolMax = options.poolMax ?? postgresSinkPoolMaxDefault;
  if (!Number.isInteger(poolMax) || poolMax < 1) {
    throw shockError('SHOCK_CONFIG_INVALID', `the PostgreSQL sink poolMax must be a whole number ≥ 1, got ${poolMax}`, {
      poolMax,
    });
  }
  const where = describeUrl(options.url);
  const statementTimeoutMs = options.statementTimeoutMs ?? limits.consumeSinkBusyTimeoutMs;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: poolMax,
    connectionTimeoutMillis: options.connectTimeoutMs ?? limits.consumeSinkBusyTimeoutMs,
    statement_timeout: statementTimeoutMs,
    lock_timeout: statementTimeoutMs,
    // A writer stalled inside a batch's transaction (SIGSTOP, a frozen VM) holds the owners row lock that the next
    // owner's `claim` waits for: the server ends such a session after this long, so a stalled process cannot keep
    // its partition from being taken over (and its late COMMIT fails: nothing of it is written).
    idle_in_transaction_session_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + clientTimeoutSlackMs,
    keepAlive: true,
    options: `-c synchronous_commit=${options.durability === 'normal' ? 'off' : 'on'}`,
    application_name: 'shockabsorber-sink',
  });
  const sink = new PostgresSink(pool, schema, quoted, where);
  try {
    const client = await pool.connect();
    client.on('error', ignoreError); // as in `write`: a broken connection fails the query in flight
    try {
      await migrate(client, schema);
      client.off('error', ignoreError);
      client.release();
    } catch (err) {
      client.off('error', ignoreError);
      client.release(true); // it may be broken or mid-transaction: destroy it
      throw err;
    }
  } catch (err) {
    await sink.close();
    throw translatePostgresError(err, 'open', where);
  }
  return sink;
}

interface OwnerRow {
  epoch: string;
  offset_next: string;
}

/** The PostgreSQL sink. Create with `openPostgresSink`. */
export class PostgresSink implements Sink, DeadLetterStore, TenantAdoption {
  private closed = false;
  /** The last error of an idle connection (the pool drops that connection; kept for inspection only). */
  lastIdleError: unknown;
  private readonly sql: ReturnType<typeof statements>;

  constructor(
    private readonly pool: pg.Pool,
    /** The schema name (unquoted). */
    readonly schema: string,
    private readonly quoted: string,
    /** `host:port/database`, for messages. */
    readonly where: string,
  ) {
    // An idle connection that breaks (the server restarted) emits 'error' on the pool; without a listener that
    // would end the process. The pool already discards it; the next checkout connects anew.
    pool.on('error', (err) => {
      this.lastIdleError = err;
    });
    this.sql = statements(quoted, schema);
  }

  async claim(group: string, partition: number): Promise<PartitionClaim> {
    this.checkOpen();
    try {
      const res = await this.pool.query<OwnerRow>({
        name: this.sql.claim.name,
        text: this.sql.claim.text,
        values: [group, partition, Date.now()],
      });
      return ownerClaim(res.rows[0]);
    } catch (err) {
      throw translatePostgresError(err, 'claim', this.where);
    }
  }

  async write(batch: SinkBatch): Promise<SinkWriteResult> {
    this.checkOpen();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw translatePostgresError(err, 'write', this.where);
    }
    // A checked-out connection that breaks (the server died) emits 'error' besides failing the query in flight;
    // with no listener that event would end the process. The query's own rejection is what we act on.
    client.on('error', ignoreError);
    try {
      const result = await this.writeOn(client, batch, Date.now());
      client.off('error', ignoreError);
      client.release();
      return result;
    } catch (err) {
      // A fenced batch rolled back cleanly and its connection is fine; any other failure may have left the
      // connection mid-transaction or dead: destroy it rather than hand it to the next batch.
      client.off('error', ignoreError);
      client.release(fencedAndRolledBack(err) ? undefined : true);
      throw translatePostgresError(err, 'write', this.where);
    }
  }

  async processed(group: string, events: readonly ProcessedQuery[]): Promise<boolean[]> {
    this.checkOpen();
    if (events.length === 0) return [];
    let rows: { tenant: string; event_id: string; log_partition: number; log_offset: string }[];
    try {
      const res = await this.pool.query<(typeof rows)[number]>({
        name: this.sql.processed.name,
        text: this.sql.processed.text,
        values: [group, events.map((e) => e.tenant), events.map((e) => e.eventId)],
      });
      rows = res.rows;
    } catch (err) {
      throw translatePostgresError(err, 'read', this.where);
    }
    // A row of the event's own tenant, or one migrated without a tenant from the very same record.
    const held = new Set<string>();
    for (const r of rows) {
      held.add(
        r.tenant === ''
          ? `\u0000${r.event_id}\u0000${r.log_partition}:${r.log_offset}`
          : `${r.tenant}\u0000${r.event_id}`,
      );
    }
    return events.map(
      (e) =>
        held.has(`${e.tenant}\u0000${e.eventId}`) || held.has(`\u0000${e.eventId}\u0000${e.partition}:${e.offset}`),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** The current owner of a partition (for inspection and tests). */
  async owner(group: string, partition: number): Promise<PartitionClaim | undefined> {
    const res = await this.read<OwnerRow>(this.sql.owner.text, [group, partition]);
    return res.length === 0 ? undefined : ownerClaim(res[0]);
  }

  /** Stored results of a group: how many, and how many per partition. */
  async countResults(group: string): Promise<{ total: number; byPartition: Record<number, number> }> {
    const rows = await this.read<{ p: number; n: string }>(this.sql.countResults.text, [group]);
    const byPartition: Record<number, number> = {};
    let total = 0;
    for (const r of rows) {
      const n = Number(r.n);
      byPartition[r.p] = n;
      total += n;
    }
    return { total, byPartition };
  }

  /** The stored result of one event `(tenant, eventId)` (parsed JSON), or undefined. */
  async result(group: string, tenant: string, eventId: string): Promise<unknown> {
    const rows = await this.read<{ result_json: string }>(this.sql.result.text, [group, tenant, eventId]);
    return rows.length === 0 ? undefined : JSON.parse(rows[0].result_json);
  }

  /** Dead letters of a group in partition/offset order (at most `limit`), optionally one partition / after a cursor. */
  async deadLetters(group: string, limit = 1000, query: DeadLetterQuery = {}): Promise<PostgresStoredDeadLetter[]> {
    const where = ['consumer_group = $1'];
    const args: unknown[] = [group];
    if (query.partition !== undefined) {
      args.push(query.partition);
      where.push(`log_partition = $${args.length}`);
    }
    if (query.after !== undefined) {
      args.push(query.after.partition, query.after.offset);
      where.push(`(log_partition, log_offset) > ($${args.length - 1}, $${args.length})`);
    }
    args.push(limit);
    const rows = await this.read<Record<string, unknown>>(
      `SELECT * FROM ${this.quoted}.dead_letters WHERE ${where.join(' AND ')} ORDER BY log_partition, log_offset LIMIT $${args.length}`,
      args,
    );
    return rows.map((r) => ({
      group: r.consumer_group as string,
      partition: r.log_partition as number,
      offset: Number(r.log_offset),
      tenant: (r.tenant as string | null) ?? undefined,
      eventId: (r.event_id as string | null) ?? undefined,
      error: r.error as string,
      eventJson: r.event_json as string,
      attempts: r.attempts as number,
      timestampMs: Number(r.timestamp_ms),
      deadAtMs: Number(r.dead_at_ms),
    }));
  }

  /** Dead letters of a group (of one partition). */
  async countDeadLetters(group: string, partition?: number): Promise<number> {
    const rows =
      partition === undefined
        ? await this.read<{ n: string }>(
            `SELECT count(*) AS n FROM ${this.quoted}.dead_letters WHERE consumer_group = $1`,
            [group],
          )
        : await this.read<{ n: string }>(
            `SELECT count(*) AS n FROM ${this.quoted}.dead_letters WHERE consumer_group = $1 AND log_partition = $2`,
            [group, partition],
          );
    return Number(rows[0].n);
  }

  /** Removes dead letters (replayed events) in one statement; returns how many existed. */
  async removeDeadLetters(group: string, keys: readonly DeadLetterKey[]): Promise<number> {
    if (keys.length === 0) return 0;
    const rows = await this.read<{ n: string }>(
      `WITH gone AS (DELETE FROM ${this.quoted}.dead_letters d USING unnest($2::int[], $3::bigint[]) AS k(p, o)
         WHERE d.consumer_group = $1 AND d.log_partition = k.p AND d.log_offset = k.o RETURNING 1)
       SELECT count(*) AS n FROM gone`,
      [group, keys.map((k) => k.partition), keys.map((k) => k.offset)],
    );
    return Number(rows[0].n);
  }

  async unknownTenantRows(
    group: string,
    partition: number,
    offsetFrom: number,
    limit: number,
  ): Promise<UnknownTenantRow[]> {
    const rows = await this.read<{ event_id: string; log_offset: string }>(
      `SELECT event_id, log_offset FROM ${this.quoted}.results
       WHERE consumer_group = $1 AND tenant = '' AND log_partition = $2 AND log_offset >= $3
       ORDER BY log_offset LIMIT $4`,
      [group, partition, offsetFrom, limit],
    );
    return rows.map((r) => ({ eventId: r.event_id, offset: Number(r.log_offset) }));
  }

  async adoptTenants(group: string, rows: readonly { eventId: string; tenant: string }[]): Promise<number> {
    if (rows.length === 0) return 0;
    const res = await this.read<{ n: string }>(
      `WITH changed AS (
         UPDATE ${this.quoted}.results r SET tenant = q.tenant
         FROM unnest($2::text[], $3::text[]) AS q(event_id, tenant)
         WHERE r.consumer_group = $1 AND r.tenant = '' AND r.event_id = q.event_id
           AND NOT EXISTS (SELECT 1 FROM ${this.quoted}.results o
                           WHERE o.consumer_group = $1 AND o.tenant = q.tenant AND o.event_id = q.event_id)
         RETURNING 1)
       SELECT count(*) AS n FROM changed`,
      [group, rows.map((r) => r.eventId), rows.map((r) => r.tenant)],
    );
    return Number(res[0].n);
  }

  /** The fenced transaction of one batch on one connection (see the header). */
  private async writeOn(client: pg.PoolClient, batch: SinkBatch, nowMs: number): Promise<SinkWriteResult> {
    assertSafeInteger(batch.offsetNext, 'offsetNext');
    await client.query('BEGIN');
    const fence = await client.query({
      name: this.sql.fence.name,
      text: this.sql.fence.text,
      values: [batch.offsetNext, batch.group, batch.partition, batch.epoch],
    });
    if (fence.rowCount === 0) {
      const owner = await client.query<OwnerRow>(this.sql.owner.text, [batch.group, batch.partition]);
      await client.query('ROLLBACK');
      const ownerEpoch = owner.rows.length === 0 ? undefined : Number(owner.rows[0].epoch);
      throw Object.assign(
        shockError(
          'SHOCK_CONSUME_FENCED',
          `partition ${batch.partition} of group ${batch.group} is owned by epoch ${ownerEpoch ?? 'none'}; this writer has epoch ${batch.epoch}`,
          { group: batch.group, partition: batch.partition, epoch: batch.epoch, ownerEpoch },
        ),
        { [rolledBack]: true },
      );
    }
    const inserted =
      batch.results.length === 0 ? 0 : await this.insertResults(client, batch.group, batch.results, nowMs);
    const deadLettered =
      batch.deadLetters.length === 0 ? 0 : await this.insertDeadLetters(client, batch.group, batch.deadLetters, nowMs);
    await client.query('COMMIT');
    assert(inserted <= batch.results.length, 'sink inserted at most the rows it was given', { inserted });
    return { inserted, duplicates: batch.results.length - inserted, deadLettered };
  }

  private async insertResults(
    client: pg.PoolClient,
    group: string,
    rows: readonly SinkResultRow[],
    nowMs: number,
  ): Promise<number> {
    const n = rows.length;
    const tenants = new Array<string>(n);
    const ids = new Array<string>(n);
    const partitions = new Array<number>(n);
    const offsets = new Array<number>(n);
    const results = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      tenants[i] = r.tenant;
      ids[i] = r.eventId;
      partitions[i] = r.partition;
      offsets[i] = r.offset;
      results[i] = r.resultJson;
    }
    const res = await client.query({
      name: this.sql.insertResults.name,
      text: this.sql.insertResults.text,
      values: [group, nowMs, tenants, ids, partitions, offsets, results],
    });
    return res.rowCount ?? 0;
  }

  private async insertDeadLetters(
    client: pg.PoolClient,
    group: string,
    rows: readonly DeadLetterRow[],
    nowMs: number,
  ): Promise<number> {
    const res = await client.query({
      name: this.sql.insertDeadLetters.name,
      text: this.sql.insertDeadLetters.text,
      values: [
        group,
        nowMs,
        rows.map((d) => d.partition),
        rows.map((d) => d.offset),
        rows.map((d) => d.tenant ?? null),
        rows.map((d) => d.eventId ?? null),
        rows.map((d) => pgText(d.error)),
        rows.map((d) => pgText(d.eventJson)),
        rows.map((d) => d.attempts),
        rows.map((d) => d.timestampMs),
      ],
    });
    return res.rowCount ?? 0;
  }

  private async read<T extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<T[]> {
    this.checkOpen();
    try {
      return (await this.pool.query<T>(text, values)).rows;
    } catch (err) {
      throw translatePostgresError(err, 'read', this.where);
    }
  }

  private checkOpen(): void {
    if (this.closed) {
      throw shockError('SHOCK_SINK_IO', `the PostgreSQL sink at ${this.where} is closed`, { where: this.where });
    }
  }
}

function ignoreError(): void {}

/** Marks a fencing error whose transaction was rolled back on a healthy connection. */
const rolledBack = Symbol('rolledBack');

function fencedAndRolledBack(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[rolledBack] === true;
}

function ownerClaim(row: OwnerRow): PartitionClaim {
  const epoch = Number(row.epoch);
  const offsetNext = Number(row.offset_next);
  assertSafeInteger(epoch, 'epoch');
  assertSafeInteger(offsetNext, 'offsetNext');
  return { epoch, offsetNext };
}

/** PostgreSQL text cannot hold NUL: replace it (see the header). */
function pgText(s: string): string {
  return typeof s === 'string' && s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}

/**
 * The statements, schema-qualified. Prepared statements are named per schema (a connection prepares each once);
 * the names stay under PostgreSQL's 63-byte identifier limit.
 */
function statements(s: string, schema: string) {
  const named = (what: string, text: string) => ({ name: `shock_${what}_${schema}`.slice(0, 63), text });
  return {
    claim: named(
      'claim',
      `INSERT INTO ${s}.owners AS o (consumer_group, log_partition, epoch, offset_next, claimed_at_ms)
       VALUES ($1, $2, 1, 0, $3)
       ON CONFLICT (consumer_group, log_partition)
       DO UPDATE SET epoch = o.epoch + 1, claimed_at_ms = excluded.claimed_at_ms
       RETURNING epoch, offset_next`,
    ),
    fence: named(
      'fence',
      `UPDATE ${s}.owners SET offset_next = GREATEST(offset_next, $1::bigint)
       WHERE consumer_group = $2 AND log_partition = $3 AND epoch = $4`,
    ),
    insertResults: named(
      'results',
      `INSERT INTO ${s}.results (consumer_group, tenant, event_id, log_partition, log_offset, result_json,
         processed_at_ms)
       SELECT $1, t.tenant, t.event_id, t.log_partition, t.log_offset, t.result_json, $2
       FROM unnest($3::text[], $4::text[], $5::integer[], $6::bigint[], $7::text[])
         AS t(tenant, event_id, log_partition, log_offset, result_json)
       ON CONFLICT DO NOTHING`,
    ),
    insertDeadLetters: named(
      'dead',
      `INSERT INTO ${s}.dead_letters (consumer_group, log_partition, log_offset, tenant, event_id, error, event_json,
         attempts, timestamp_ms, dead_at_ms)
       SELECT $1, t.log_partition, t.log_offset, t.tenant, t.event_id, t.error, t.event_json, t.attempts,
         t.timestamp_ms, $2
       FROM unnest($3::integer[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::integer[],
         $10::bigint[])
         AS t(log_partition, log_offset, tenant, event_id, error, event_json, attempts, timestamp_ms)
       ON CONFLICT DO NOTHING`,
    ),
    processed: named(
      'processed',
      `SELECT r.tenant, r.event_id, r.log_partition, r.log_offset
       FROM unnest($2::text[], $3::text[]) AS q(tenant, event_id)
       JOIN ${s}.results r
         ON r.consumer_group = $1 AND r.tenant = ANY(ARRAY[q.tenant, '']) AND r.event_id = q.event_id`,
    ),
    owner: named(
      'owner',
      `SELECT epoch, offset_next FROM ${s}.owners WHERE consumer_group = $1 AND log_partition = $2`,
    ),
    countResults: named(
      'count',
      `SELECT log_partition AS p, count(*) AS n FROM ${s}.results WHERE consumer_group = $1 GROUP BY log_partition`,
    ),
    result: named(
      'result',
      `SELECT result_json FROM ${s}.results WHERE consumer_group = $1 AND tenant = $2 AND event_id = $3`,
    ),
    deadLetters: named(
      'dead_list',
      `SELECT * FROM ${s}.dead_letters WHERE consumer_group = $1 ORDER BY log_partition, log_offset LIMIT $2`,
    ),
  };
}
