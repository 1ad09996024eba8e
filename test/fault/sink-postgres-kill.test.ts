/**
 * The PostgreSQL sink under faults, against a private PostgreSQL 15 (fsync on, synchronous_commit on):
 * - kill -9 of the server while a `write` is inside its transaction → the write rejects with a clear error (no hang);
 *   after the restart the batch is absent — all of it, high-water mark included — and writing it again stores every
 *   row exactly once;
 * - kill -9 while batches stream → every batch whose write resolved survived, the one in flight is all there or
 *   all absent, and the high-water mark agrees with the rows;
 * - a zombie with an old epoch, on its own connection, cannot write a single row while the new owner holds the
 *   partition; a claim waits for the batch in flight and then sees it.
 * Skipped, saying why, without the PostgreSQL binaries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { openPostgresSink, type SinkBatch } from '../../src/consume/index.js';
import { resultBatch } from '../helpers/sink-contract.js';
import { connectPostgres, privatePostgres } from '../helpers/postgres.js';

const { skip, server } = privatePostgres();

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** A client for the test itself; an error on it (the server was killed) is expected, not a crash. */
async function client(): Promise<pg.Client> {
  const c = await connectPostgres(server().url);
  c.on('error', () => undefined);
  return c;
}

/** Holds an uncommitted row with `eventId`: a sink INSERT of the same key waits for this transaction. */
async function blockOn(schema: string, eventId: string): Promise<pg.Client> {
  const c = await client();
  await c.query('BEGIN');
  await c.query(
    `INSERT INTO ${schema}.results (consumer_group, tenant, event_id, log_partition, log_offset, result_json,
       processed_at_ms) VALUES ('g', 'acme', $1, 0, 0, 'null', 0)`,
    [eventId],
  );
  return c;
}

/** Resolves once `n` sink connections wait on a lock (bounded). */
async function lockWaiters(observer: pg.Client, n: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const r = await observer.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE application_name = 'shockabsorber-sink' AND wait_event_type = 'Lock'`,
    );
    if (r.rows[0].n >= n) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`fewer than ${n} sink connections ever waited on a lock`);
}

async function facts(schema: string, prefix: string): Promise<{ rows: number; distinct: number; hwm: number }> {
  const c = await client();
  try {
    const r = await c.query<{ rows: number; distinct: number }>(
      `SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS distinct FROM ${schema}.results
       WHERE consumer_group = 'g' AND event_id LIKE $1`,
      [`${prefix}%`],
    );
    const o = await c.query<{ offset_next: string }>(
      `SELECT offset_next FROM ${schema}.owners WHERE consumer_group = 'g' AND log_partition = 0`,
    );
    return { ...r.rows[0], hwm: Number(o.rows[0].offset_next) };
  } finally {
    await c.end();
  }
}

test(
  'postgres sink kill - kill -9 mid-write rejects, the batch is absent after restart, and rewriting it stores it once',
  {
    skip,
    timeout: 120_000,
  },
  async () => {
    const schema = 'kill_mid';
    const sink = await openPostgresSink({ url: server().url, schema });
    try {
      const { epoch } = await sink.claim('g', 0);
      assert.deepEqual(await sink.write(resultBatch(epoch, ids('a', 100))), {
        inserted: 100,
        duplicates: 0,
        deadLettered: 0,
      });
      const batch = resultBatch(epoch, ids('b', 500), 100);
      const blocker = await blockOn(schema, 'b250');
      const observer = await client();
      const writing = sink.write(batch).then(
        (r) => ({ ok: true as const, r }),
        (err: { code?: string; message: string }) => ({ ok: false as const, err }),
      );
      await lockWaiters(observer, 1); // the write has fenced and sent its INSERT; it waits inside its transaction
      await server().kill9();
      const outcome = await writing;
      assert.equal(outcome.ok, false, 'a write whose server died cannot have succeeded');
      if (!outcome.ok) {
        assert.equal(outcome.err.code, 'SHOCK_SINK_UNREACHABLE', outcome.err.message);
        assert.match(outcome.err.message, /PostgreSQL at 127\.0\.0\.1:\d+\/postgres/);
      }
      await Promise.all([blocker.end().catch(() => undefined), observer.end().catch(() => undefined)]);

      await server().restart();
      assert.deepEqual(
        await facts(schema, 'b'),
        { rows: 0, distinct: 0, hwm: 100 },
        'nothing of the batch, not its mark',
      );
      assert.deepEqual(await facts(schema, 'a'), { rows: 100, distinct: 100, hwm: 100 }, 'earlier batches survived');
      // The consumer's answer to a failed write: write the same batch again (the same sink object reconnects).
      assert.deepEqual(await sink.write(batch), { inserted: 500, duplicates: 0, deadLettered: 0 });
      assert.deepEqual(await sink.write(batch), { inserted: 0, duplicates: 500, deadLettered: 0 });
      assert.deepEqual(await facts(schema, 'b'), { rows: 500, distinct: 500, hwm: 600 });
    } finally {
      await sink.close();
    }
  },
);

test(
  'postgres sink kill - kill -9 while batches stream: resolved batches survive, the one in flight is all or nothing',
  {
    skip,
    timeout: 120_000,
  },
  async () => {
    const schema = 'kill_stream';
    const sink = await openPostgresSink({ url: server().url, schema });
    try {
      const { epoch } = await sink.claim('g', 0);
      const batches: SinkBatch[] = Array.from({ length: 40 }, (_, k) =>
        resultBatch(epoch, ids(`s${k}-`, 500), k * 500),
      );
      const resolved: number[] = [];
      let failed: number | undefined;
      let killing: Promise<void> | undefined;
      for (let k = 0; k < batches.length && failed === undefined; k++) {
        const writing = sink.write(batches[k]);
        // Kill while the fourth batch is on its way: somewhere between its BEGIN and its COMMIT's answer.
        if (k === 3) killing = server().kill9();
        try {
          await writing;
          resolved.push(k);
        } catch (err) {
          assert.equal((err as { code?: string }).code, 'SHOCK_SINK_UNREACHABLE', String(err));
          failed = k;
        }
      }
      await killing;
      assert.notEqual(failed, undefined, 'a write after the kill fails');
      await server().restart();
      for (const k of resolved) {
        assert.deepEqual((await facts(schema, `s${k}-`)).rows, 500, `batch ${k} resolved, so it is durable`);
      }
      const inFlight = (await facts(schema, `s${failed}-`)).rows;
      assert.ok(inFlight === 0 || inFlight === 500, `the batch in flight is whole or absent, found ${inFlight} rows`);
      const hwm = (await facts(schema, 's')).hwm;
      const stored = resolved.length + (inFlight === 500 ? 1 : 0);
      assert.equal(hwm, stored * 500, 'the high-water mark covers exactly the stored batches');
      // Redelivery from the mark on: the sink absorbs whatever was already there.
      const redo = await sink.write(batches[failed!]);
      assert.equal(redo.inserted + redo.duplicates, 500);
      assert.equal(redo.inserted, 500 - inFlight);
      const all = await facts(schema, 's');
      assert.equal(all.rows, (stored + (inFlight === 500 ? 0 : 1)) * 500);
      assert.equal(all.rows, all.distinct);
    } finally {
      await sink.close();
    }
  },
);

test(
  'postgres sink kill - a zombie cannot write a row while the new owner holds the partition',
  {
    skip,
    timeout: 120_000,
  },
  async () => {
    const schema = 'zombie';
    const zombie = await openPostgresSink({ url: server().url, schema });
    const owner = await openPostgresSink({ url: server().url, schema });
    let blocker: pg.Client | undefined;
    const observer = await client();
    try {
      const old = await zombie.claim('g', 0);
      await zombie.write(resultBatch(old.epoch, ids('z', 10)));
      // The zombie's next batch is inside its transaction (fenced, owner row locked) when the new owner claims.
      blocker = await blockOn(schema, 'z15');
      const inFlight = zombie.write(
        resultBatch(
          old.epoch,
          ids('z', 10).map((_, i) => `z${10 + i}`),
          10,
        ),
      );
      await lockWaiters(observer, 1);
      const claiming = owner.claim('g', 0);
      await lockWaiters(observer, 2); // the claim waits for the zombie's batch
      await blocker.query('ROLLBACK');
      assert.deepEqual(await inFlight, { inserted: 10, duplicates: 0, deadLettered: 0 });
      const fresh = await claiming;
      assert.deepEqual(fresh, { epoch: old.epoch + 1, offsetNext: 20 }, 'the claim saw the batch it waited for');

      // From now on the zombie is fenced, also racing the owner's writes on its own connection.
      const attempts: Promise<unknown>[] = [];
      for (let k = 0; k < 20; k++) {
        const base = 20 + k * 10;
        attempts.push(
          zombie.write(resultBatch(old.epoch, ids(`zz${k}-`, 10), base)).then(
            () => 'written',
            (err: { code?: string }) => err.code,
          ),
        );
        attempts.push(owner.write(resultBatch(fresh.epoch, ids(`o${k}-`, 10), base)).then(() => 'written'));
      }
      const outcomes = await Promise.all(attempts);
      assert.deepEqual(
        outcomes.filter((_, i) => i % 2 === 0),
        Array(20).fill('SHOCK_CONSUME_FENCED'),
      );
      assert.deepEqual(
        outcomes.filter((_, i) => i % 2 === 1),
        Array(20).fill('written'),
      );
      assert.equal((await facts(schema, 'zz')).rows, 0, 'not a single zombie row');
      assert.equal((await facts(schema, 'o')).rows, 200);
      assert.equal((await owner.owner('g', 0))?.offsetNext, 220);
      assert.equal((await owner.owner('g', 0))?.epoch, fresh.epoch);
    } finally {
      await blocker?.end().catch(() => undefined);
      await observer.end();
      await zombie.close();
      await owner.close();
    }
  },
);
