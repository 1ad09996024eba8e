/**
 * The contract every `Sink` backend keeps (guarantees in src/consume/sink.ts), as one suite run against each
 * backend: SQLite and PostgreSQL. A backend gives a fresh, empty store per test; `open()` may be called several times
 * on one store — two connections at once (a zombie and the new owner) or a reopen after close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeadLetterRow, DeadLetterStore, PartitionClaim, Sink, SinkBatch } from '../../src/consume/index.js';

type Maybe<T> = T | Promise<T>;

/** A sink plus the inspection methods both implementations offer (synchronous for SQLite, async for PostgreSQL). */
export interface SinkUnderTest extends Sink, DeadLetterStore {
  owner(group: string, partition: number): Maybe<PartitionClaim | undefined>;
  countResults(group: string): Maybe<{ total: number; byPartition: Record<number, number> }>;
  result(group: string, tenant: string, eventId: string): Maybe<unknown>;
}

/** The tenant of the contract's rows when a test names none. */
export const tenantDefault = 'acme';

/**
 * Which of `ids` (of `tenant`) `processed` says are stored, asked as a redelivery at offsets `offsetBase + i`
 * (partition 0) would ask.
 */
export async function processedIds(
  sink: Sink,
  group: string,
  ids: string[],
  tenant = tenantDefault,
  offsetBase = 1_000_000,
): Promise<string[]> {
  const held = await sink.processed(
    group,
    ids.map((eventId, i) => ({ tenant, eventId, partition: 0, offset: offsetBase + i })),
  );
  assert.equal(held.length, ids.length, 'one answer per event');
  return ids.filter((_, i) => held[i]);
}

/** One fresh store: open connections to it, and remove it. */
export interface SinkStore {
  open(): Promise<SinkUnderTest>;
  cleanup(): Promise<void> | void;
}

/** `ids[i]` at offset `offsetBase + i`; the batch's high-water mark is one past its last offset. */
export function resultBatch(
  epoch: number,
  ids: string[],
  offsetBase = 0,
  partition = 0,
  group = 'g',
  tenant = tenantDefault,
): SinkBatch {
  return {
    group,
    partition,
    epoch,
    results: ids.map((id, i) => ({
      tenant,
      eventId: id,
      partition,
      offset: offsetBase + i,
      resultJson: JSON.stringify({ id }),
    })),
    deadLetters: [],
    offsetNext: offsetBase + ids.length,
  };
}

function deadLetter(offset: number, eventId: string | undefined, partition = 0, tenant = tenantDefault): DeadLetterRow {
  return {
    partition,
    offset,
    tenant: eventId === undefined ? undefined : tenant,
    eventId,
    error: `Error [E_TEST]: event at ${offset} failed`,
    eventJson: JSON.stringify({ event_id: eventId ?? null, tenant: eventId === undefined ? null : tenant, offset }),
    attempts: 3,
    timestampMs: 1_700_000_000_000 + offset,
  };
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Runs the suite; `skip` (a reason, or false) marks every test skipped, e.g. when the backend's server is not installed. */
export function runSinkContract(
  backend: string,
  create: () => Promise<SinkStore>,
  options: { skip?: string | false; timeoutMs?: number } = {},
): void {
  const withStore = (name: string, body: (store: SinkStore) => Promise<void>) =>
    test(
      `${backend} sink contract - ${name}`,
      { timeout: options.timeoutMs ?? 60_000, skip: options.skip },
      async () => {
        const store = await create();
        const opened: SinkUnderTest[] = [];
        const tracked: SinkStore = {
          open: async () => {
            const s = await store.open();
            opened.push(s);
            return s;
          },
          cleanup: store.cleanup,
        };
        try {
          await body(tracked);
        } finally {
          for (const s of opened) await s.close();
          await store.cleanup();
        }
      },
    );

  withStore('claims give growing epochs per (group, partition), starting at the high-water mark 0', async (store) => {
    const sink = await store.open();
    assert.deepEqual(await sink.claim('g', 0), { epoch: 1, offsetNext: 0 });
    assert.deepEqual(await sink.claim('g', 0), { epoch: 2, offsetNext: 0 });
    assert.deepEqual(await sink.claim('g', 1), { epoch: 1, offsetNext: 0 });
    assert.deepEqual(await sink.claim('other', 0), { epoch: 1, offsetNext: 0 });
    assert.deepEqual(await sink.owner('g', 0), { epoch: 2, offsetNext: 0 });
    assert.equal(await sink.owner('g', 7), undefined);
  });

  withStore('redelivering a batch changes nothing: every row is a duplicate', async (store) => {
    const sink = await store.open();
    const { epoch } = await sink.claim('g', 0);
    const batch = resultBatch(epoch, ids('e', 300));
    batch.deadLetters = [deadLetter(300, 'd300'), deadLetter(301, undefined)];
    batch.offsetNext = 302;
    assert.deepEqual(await sink.write(batch), { inserted: 300, duplicates: 0, deadLettered: 2 });
    assert.deepEqual(await sink.write(batch), { inserted: 0, duplicates: 300, deadLettered: 0 });
    const overlap = resultBatch(epoch, [...ids('e', 300).slice(250), 'new1', 'new2'], 250);
    assert.deepEqual(await sink.write(overlap), { inserted: 2, duplicates: 50, deadLettered: 0 });
    assert.deepEqual(await sink.countResults('g'), { total: 302, byPartition: { 0: 302 } });
    assert.equal((await sink.deadLetters('g')).length, 2);
    assert.deepEqual(await sink.result('g', tenantDefault, 'e7'), { id: 'e7' });
    assert.equal(await sink.result('g', tenantDefault, 'nope'), undefined);
    assert.deepEqual(await processedIds(sink, 'g', ['e1', 'nope', 'new2']), ['e1', 'new2']);
    assert.deepEqual(await sink.processed('g', []), []);
  });

  withStore('idempotency is per group, and an id twice in one batch is stored once', async (store) => {
    const sink = await store.open();
    const a = await sink.claim('a', 0);
    const b = await sink.claim('b', 0);
    assert.deepEqual(await sink.write(resultBatch(a.epoch, ['x', 'y', 'x'], 0, 0, 'a')), {
      inserted: 2,
      duplicates: 1,
      deadLettered: 0,
    });
    assert.deepEqual(await sink.write(resultBatch(b.epoch, ['x'], 0, 0, 'b')), {
      inserted: 1,
      duplicates: 0,
      deadLettered: 0,
    });
    assert.equal((await sink.countResults('a')).total, 2);
    assert.equal((await sink.countResults('b')).total, 1);
    assert.deepEqual(await processedIds(sink, 'b', ['x', 'y']), ['x']);
  });

  withStore('an event is (tenant, event id): two tenants with the same event id are two rows', async (store) => {
    const sink = await store.open();
    const { epoch } = await sink.claim('g', 0);
    // Tenants acme and globex both send "order-1" (offsets 0 and 1), then acme's is redelivered.
    const both: SinkBatch = {
      ...resultBatch(epoch, ['order-1'], 0, 0, 'g', 'acme'),
      results: [
        ...resultBatch(epoch, ['order-1'], 0, 0, 'g', 'acme').results,
        ...resultBatch(epoch, ['order-1'], 1, 0, 'g', 'globex').results.map((r) => ({ ...r, resultJson: '"B"' })),
      ],
      offsetNext: 2,
    };
    assert.deepEqual(await sink.write(both), { inserted: 2, duplicates: 0, deadLettered: 0 });
    assert.deepEqual(await sink.write(resultBatch(epoch, ['order-1'], 0, 0, 'g', 'acme')), {
      inserted: 0,
      duplicates: 1,
      deadLettered: 0,
    });
    assert.deepEqual(await sink.countResults('g'), { total: 2, byPartition: { 0: 2 } });
    assert.deepEqual(await sink.result('g', 'acme', 'order-1'), { id: 'order-1' });
    assert.deepEqual(await sink.result('g', 'globex', 'order-1'), 'B');
    assert.equal(await sink.result('g', 'initech', 'order-1'), undefined);
    // "Already processed" asks per tenant: initech's order-1 is a new event.
    const held = await sink.processed('g', [
      { tenant: 'acme', eventId: 'order-1', partition: 0, offset: 0 },
      { tenant: 'initech', eventId: 'order-1', partition: 0, offset: 2 },
      { tenant: 'globex', eventId: 'order-1', partition: 0, offset: 1 },
    ]);
    assert.deepEqual(held, [true, false, true]);
    // Dead letters keep their tenant.
    const dead: SinkBatch = {
      ...resultBatch(epoch, [], 2),
      deadLetters: [deadLetter(2, 'order-2', 0, 'acme'), deadLetter(3, 'order-2', 0, 'globex')],
      offsetNext: 4,
    };
    assert.equal((await sink.write(dead)).deadLettered, 2);
    assert.deepEqual(
      (await sink.deadLetters('g')).map((d) => [d.offset, d.tenant, d.eventId]),
      [
        [2, 'acme', 'order-2'],
        [3, 'globex', 'order-2'],
      ],
    );
  });

  withStore(
    'one transaction per batch: a row that fails rolls back every row and the high-water mark',
    async (store) => {
      const sink = await store.open();
      const { epoch } = await sink.claim('g', 0);
      await sink.write(resultBatch(epoch, ['before'], 0));
      // Row 200 of 300 breaks a NOT NULL constraint: rows before it were already sent in the same transaction.
      const broken = resultBatch(epoch, ids('t', 300), 1);
      broken.results[200].eventId = null as unknown as string;
      await assert.rejects(sink.write(broken), { code: 'SHOCK_SINK_IO' });
      // A dead letter that fails after the results of its batch were inserted.
      const brokenDead = resultBatch(epoch, ids('u', 50), 1);
      brokenDead.deadLetters = [deadLetter(60, 'd60'), { ...deadLetter(61, 'd61'), error: null as unknown as string }];
      brokenDead.offsetNext = 62;
      await assert.rejects(sink.write(brokenDead), { code: 'SHOCK_SINK_IO' });
      assert.deepEqual(await sink.countResults('g'), { total: 1, byPartition: { 0: 1 } });
      assert.deepEqual(await sink.deadLetters('g'), []);
      assert.deepEqual(await sink.owner('g', 0), { epoch, offsetNext: 1 });
      // The sink is still usable, and the same batch, repaired, is stored whole.
      broken.results[200].eventId = 't200';
      assert.deepEqual(await sink.write(broken), { inserted: 300, duplicates: 0, deadLettered: 0 });
      assert.deepEqual(await sink.owner('g', 0), { epoch, offsetNext: 301 });
    },
  );

  withStore('a stale epoch is fenced: not one row, not the high-water mark, from another connection', async (store) => {
    const zombie = await store.open();
    const owner = await store.open();
    const old = await zombie.claim('g', 0);
    await zombie.write(resultBatch(old.epoch, ['z0', 'z1']));
    const fresh = await owner.claim('g', 0);
    assert.deepEqual(fresh, { epoch: old.epoch + 1, offsetNext: 2 });
    const stale = resultBatch(old.epoch, ['z2', 'z3'], 2);
    stale.deadLetters = [deadLetter(4, 'z4')];
    stale.offsetNext = 5;
    await assert.rejects(zombie.write(stale), (err: { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(err.code, 'SHOCK_CONSUME_FENCED');
      assert.equal(err.details?.epoch, old.epoch);
      assert.equal(err.details?.ownerEpoch, fresh.epoch);
      return true;
    });
    assert.deepEqual(await owner.countResults('g'), { total: 2, byPartition: { 0: 2 } });
    assert.deepEqual(await owner.deadLetters('g'), []);
    assert.deepEqual(await owner.owner('g', 0), { epoch: fresh.epoch, offsetNext: 2 });
    // The zombie's connection still works for reads, and an unknown partition is fenced too.
    assert.deepEqual(await processedIds(zombie, 'g', ['z0', 'z2']), ['z0']);
    await assert.rejects(zombie.write(resultBatch(1, ['q'], 0, 9)), { code: 'SHOCK_CONSUME_FENCED' });
    assert.deepEqual(await owner.write(resultBatch(fresh.epoch, ['z2', 'z3'], 2)), {
      inserted: 2,
      duplicates: 0,
      deadLettered: 0,
    });
  });

  withStore('dead letters are keyed by (group, partition, offset) and keep every field', async (store) => {
    const sink = await store.open();
    const p0 = await sink.claim('g', 0);
    const p1 = await sink.claim('g', 1);
    const h = await sink.claim('h', 0);
    const batch = (epoch: number, partition: number, group: string, rows: DeadLetterRow[]): SinkBatch => ({
      group,
      partition,
      epoch,
      results: [],
      deadLetters: rows,
      offsetNext: 10,
    });
    const a = deadLetter(5, 'a5');
    const undecodable = { ...deadLetter(3, undefined), attempts: 0, eventJson: 'not an event' };
    assert.equal((await sink.write(batch(p0.epoch, 0, 'g', [a, undecodable]))).deadLettered, 2);
    // The same offset again (a redelivered dead letter, even with another error text) is not counted twice.
    assert.equal((await sink.write(batch(p0.epoch, 0, 'g', [{ ...a, error: 'again' }]))).deadLettered, 0);
    assert.equal((await sink.write(batch(p1.epoch, 1, 'g', [deadLetter(5, 'b5', 1)]))).deadLettered, 1);
    assert.equal((await sink.write(batch(h.epoch, 0, 'h', [a]))).deadLettered, 1);
    const listed = await sink.deadLetters('g');
    assert.deepEqual(
      listed.map((d) => [d.partition, d.offset, d.eventId]),
      [
        [0, 3, undefined],
        [0, 5, 'a5'],
        [1, 5, 'b5'],
      ],
    );
    const { deadAtMs, group, ...stored } = listed[1];
    assert.deepEqual(stored, a);
    assert.equal(group, 'g');
    assert.ok(Number.isSafeInteger(deadAtMs) && deadAtMs > 1_600_000_000_000);
    assert.equal(listed[0].eventJson, 'not an event');
    assert.equal(listed[0].attempts, 0);
    assert.equal((await sink.deadLetters('g', 1)).length, 1);
    assert.equal((await sink.deadLetters('h')).length, 1);
  });

  withStore('dead letters for operators: one partition, cursor paging, counts, removal in one go', async (store) => {
    const sink = await store.open();
    const claims = [await sink.claim('g', 0), await sink.claim('g', 1), await sink.claim('g', 2)];
    for (const [p, offsets] of [
      [0, [1, 4, 9]],
      [1, [2]],
      [2, [0, 7]],
    ] as const) {
      await sink.write({
        group: 'g',
        partition: p,
        epoch: claims[p].epoch,
        results: [],
        deadLetters: offsets.map((o) => deadLetter(o, `e${p}-${o}`, p)),
        offsetNext: 10,
      });
    }
    const keys = async (limit: number, query = {}) =>
      (await sink.deadLetters('g', limit, query)).map((d) => `${d.partition}:${d.offset}`);
    assert.deepEqual(await keys(100), ['0:1', '0:4', '0:9', '1:2', '2:0', '2:7']);
    assert.deepEqual(await keys(100, { partition: 2 }), ['2:0', '2:7']);
    // Paging: each page starts after the last row of the previous one, across partitions.
    assert.deepEqual(await keys(2, { after: { partition: 0, offset: 4 } }), ['0:9', '1:2']);
    assert.deepEqual(await keys(2, { after: { partition: 1, offset: 2 } }), ['2:0', '2:7']);
    assert.deepEqual(await keys(2, { after: { partition: 2, offset: 7 } }), []);
    assert.deepEqual(await keys(5, { partition: 0, after: { partition: 0, offset: 1 } }), ['0:4', '0:9']);
    assert.equal(await sink.countDeadLetters('g'), 6);
    assert.equal(await sink.countDeadLetters('g', 0), 3);
    assert.equal(await sink.countDeadLetters('other'), 0);
    const gone = [
      { partition: 0, offset: 4 },
      { partition: 2, offset: 0 },
      { partition: 2, offset: 99 }, // not there: not counted
    ];
    assert.equal(await sink.removeDeadLetters('g', gone), 2);
    assert.equal(await sink.removeDeadLetters('g', []), 0);
    assert.deepEqual(await keys(100), ['0:1', '0:9', '1:2', '2:7']);
  });

  withStore('the high-water mark only moves forward', async (store) => {
    const sink = await store.open();
    const { epoch } = await sink.claim('g', 0);
    await sink.write(resultBatch(epoch, ids('a', 100)));
    const behind = resultBatch(epoch, ids('a', 10)); // a redelivered older batch
    assert.deepEqual(await sink.write(behind), { inserted: 0, duplicates: 10, deadLettered: 0 });
    assert.deepEqual(await sink.owner('g', 0), { epoch, offsetNext: 100 });
    // Large offsets survive the round trip exactly (bigint columns in PostgreSQL).
    const far = 2 ** 40;
    await sink.write(resultBatch(epoch, ['far'], far));
    assert.deepEqual(await sink.claim('g', 0), { epoch: epoch + 1, offsetNext: far + 1 });
  });

  withStore('durable across close and reopen; a closed sink refuses work, close is idempotent', async (store) => {
    const first = await store.open();
    const { epoch } = await first.claim('g', 2);
    const batch = resultBatch(epoch, ids('k', 1000), 0, 2);
    batch.deadLetters = [deadLetter(1000, 'k1000', 2)];
    batch.offsetNext = 1001;
    assert.deepEqual(await first.write(batch), { inserted: 1000, duplicates: 0, deadLettered: 1 });
    await first.close();
    await first.close();
    await assert.rejects(first.write(batch), { code: 'SHOCK_SINK_IO' });
    await assert.rejects(first.claim('g', 2), { code: 'SHOCK_SINK_IO' });

    const again = await store.open();
    assert.deepEqual(await again.countResults('g'), { total: 1000, byPartition: { 2: 1000 } });
    assert.equal((await again.deadLetters('g')).length, 1);
    assert.deepEqual(await again.owner('g', 2), { epoch, offsetNext: 1001 });
    assert.equal((await processedIds(again, 'g', ids('k', 1000))).length, 1000);
    assert.deepEqual(await again.claim('g', 2), { epoch: epoch + 1, offsetNext: 1001 });
    await assert.rejects(again.write(batch), { code: 'SHOCK_CONSUME_FENCED' });
  });
}
