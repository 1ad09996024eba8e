/**
 * The JetStream log against a real nats-server (started per file on a loopback port): the shared Log contract,
 * then what is particular to JetStream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendedOffset, openJetStreamLog } from '../../../src/log/index.js';
import { readAll } from '../../helpers/log-records.js';
import { runLogContract } from '../../helpers/log-contract.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../../helpers/nats.js';

const skip = natsSkipReason();
let server: NatsServer | undefined;
let prefixes = 0;
/** Each log gets its own streams: a fresh, empty log per test on the one server. */
const nextPrefix = () => `t${process.pid}_${++prefixes}`;

describe('jetstream log', { skip }, () => {
  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await server?.cleanup();
  });

  runLogContract('jetstream log', async (partitions) => ({
    log: await openJetStreamLog({ servers: server!.url, partitions, streamPrefix: nextPrefix() }),
    cleanup: () => undefined,
  }));

  const rec = (v: string, key = 'k') => ({ key: Buffer.from(key), value: Buffer.from(v) });

  test('jetstream log - two logs append to the same streams with no conflict: the server orders, ids dedupe retries', async () => {
    const streamPrefix = nextPrefix();
    const a = await openJetStreamLog({ servers: server!.url, partitions: 1, streamPrefix });
    const b = await openJetStreamLog({ servers: server!.url, partitions: 1, streamPrefix });
    const idRec = (v: string) => ({ ...rec(v), id: `t\u0000${v}` });
    try {
      assert.deepEqual(await b.append(0, [idRec('b0')]), { baseOffset: 0, count: 1 });
      // a has not seen b's record: no expectation on the end, so nothing to conflict with; it lands after it.
      assert.deepEqual(await a.append(0, [idRec('a0'), idRec('a1')]), { baseOffset: 1, count: 2 });
      // A retry of a call already stored (its PubAck lost, say) — from either log — answers the same offsets.
      assert.deepEqual(await b.append(0, [idRec('a0'), idRec('a1')]), { baseOffset: 1, count: 2 });
      // A call mixing a retried record and a new one: not one run, so the offsets come one by one.
      const mixed = await a.append(0, [idRec('b0'), idRec('a2')]);
      assert.deepEqual(mixed, { baseOffset: 0, count: 2, offsets: [0, 3] });
      assert.deepEqual([appendedOffset(mixed, 0), appendedOffset(mixed, 1)], [0, 3]);
      // b learns of a's records through its watcher (a push, not a poll) when it waits.
      assert.equal(await b.waitFor(0, 3, 10_000), 4);
      assert.deepEqual(
        (await b.read(0, 0)).map((r) => [r.offset, r.value.toString()]),
        [
          [0, 'b0'],
          [1, 'a0'],
          [2, 'a1'],
          [3, 'a2'],
        ],
      );
      // Records without an id are not deduplicated (tools, DLQ replays: a replay is meant to be stored again).
      assert.deepEqual(await a.append(0, [rec('a0')]), { baseOffset: 4, count: 1 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('jetstream log - many concurrent appends from two logs: every call resolves, offsets dense, calls in order', async () => {
    const streamPrefix = nextPrefix();
    const logs = [
      await openJetStreamLog({ servers: server!.url, partitions: 1, streamPrefix }),
      await openJetStreamLog({ servers: server!.url, partitions: 1, streamPrefix }),
    ];
    try {
      const calls = Array.from({ length: 60 }, (_, c) =>
        Array.from({ length: 1 + (c % 4) }, (_, j) => ({ ...rec(`c${c}.${j}`), id: `t\u0000c${c}.${j}` })),
      );
      const results = await Promise.all(calls.map((records, c) => logs[c % 2].append(0, records)));
      const total = calls.reduce((n, c) => n + c.length, 0);
      await logs[0].waitFor(0, total - 1, 10_000); // it learns of the other log's records by its watcher
      const all = (await readAll(logs[0], 0)).map((r) => r.value.toString());
      assert.equal(
        all.length,
        calls.reduce((n, c) => n + c.length, 0),
        'each record stored once',
      );
      results.forEach((r, c) => {
        const offsets = calls[c].map((_, j) => appendedOffset(r, j));
        assert.deepEqual(
          offsets.map((o) => all[o]),
          calls[c].map((x) => x.value.toString()),
          `call ${c} at its offsets`,
        );
        for (let j = 1; j < offsets.length; j++)
          assert.ok(offsets[j] > offsets[j - 1], 'a call is stored in call order');
      });
    } finally {
      for (const l of logs) await l.close();
    }
  });

  test('jetstream log - committed offsets are shared between logs: forward-only across processes, and seen by get', async () => {
    const streamPrefix = nextPrefix();
    const a = await openJetStreamLog({ servers: server!.url, partitions: 1, streamPrefix });
    const b = await openJetStreamLog({ servers: server!.url, partitions: 1, streamPrefix });
    try {
      await a.append(0, [rec('x'), rec('y'), rec('z')]);
      await b.offsets.commit('g', 0, 1);
      await a.offsets.commit('g', 0, 2);
      // b's cache may still say 1; its compare-and-set fails, it re-reads 2, and refuses to move backwards.
      await assert.rejects(b.offsets.commit('g', 0, 1), { code: 'SHOCK_LOG_OFFSET_OUT_OF_RANGE' });
      assert.equal(b.offsets.get('g', 0), 2);
      await b.offsets.commit('g', 0, 3);
      // a sees b's commit through its watch on the bucket (bounded wait, no timing assertion).
      for (let i = 0; i < 100 && a.offsets.get('g', 0) !== 3; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(a.offsets.get('g', 0), 3);
      assert.deepEqual(a.offsets.list(), { g: { 0: 3 } });
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('jetstream log - reopening finds the records, the end and the committed offsets', async () => {
    const streamPrefix = nextPrefix();
    const first = await openJetStreamLog({ servers: server!.url, partitions: 2, streamPrefix });
    await first.append(1, [rec('x', ''), { key: Buffer.from([0, 255, 10]), value: Buffer.alloc(0), timestampMs: 7 }]);
    await first.offsets.commit('group with spaces/and.dots', 1, 2);
    await first.close();
    const again = await openJetStreamLog({ servers: server!.url, partitions: 2, streamPrefix });
    try {
      assert.deepEqual(again.state(1), { partition: 1, offsetStart: 0, offsetEnd: 2 });
      const got = await again.read(1, 0);
      assert.deepEqual(got[0].key, Buffer.alloc(0));
      assert.deepEqual(got[1], { offset: 1, timestampMs: 7, key: Buffer.from([0, 255, 10]), value: Buffer.alloc(0) });
      assert.equal(again.offsets.get('group with spaces/and.dots', 1), 2);
      assert.deepEqual(again.offsets.list(), { 'group with spaces/and.dots': { 1: 2 } });
      assert.deepEqual(await again.append(1, [rec('y')]), { baseOffset: 2, count: 1 });
    } finally {
      await again.close();
    }
  });

  test('jetstream log - a different partition count for the same streams is refused', async () => {
    const streamPrefix = nextPrefix();
    await (await openJetStreamLog({ servers: server!.url, partitions: 2, streamPrefix })).close();
    await assert.rejects(openJetStreamLog({ servers: server!.url, partitions: 3, streamPrefix }), {
      code: 'SHOCK_CONFIG_INVALID',
    });
  });

  test('jetstream log - reads honour recordsMax and bytesMax, and commits past the end are refused', async () => {
    const log = await openJetStreamLog({ servers: server!.url, partitions: 1, streamPrefix: nextPrefix() });
    try {
      await log.append(
        0,
        Array.from({ length: 300 }, (_, i) => rec(`v${i}`.padEnd(10, '.'))),
      );
      assert.equal((await log.read(0, 0)).length, 300);
      assert.deepEqual(
        (await log.read(0, 295, { recordsMax: 3 })).map((r) => r.offset),
        [295, 296, 297],
      );
      assert.equal((await log.read(0, 0, { bytesMax: 25 })).length, 2);
      assert.equal((await log.read(0, 0, { bytesMax: 1 })).length, 1);
      await assert.rejects(log.offsets.commit('g', 0, 301), { code: 'SHOCK_LOG_OFFSET_OUT_OF_RANGE' });
      await log.offsets.commit('g', 0, 300);
    } finally {
      await log.close();
    }
  });

  test('jetstream log - records too large for the server or invalid are refused before publishing', async () => {
    const log = await openJetStreamLog({ servers: server!.url, partitions: 1, streamPrefix: nextPrefix() });
    try {
      await assert.rejects(log.append(0, [{ key: Buffer.alloc(0), value: Buffer.alloc(2 * 1024 * 1024) }]), {
        code: 'SHOCK_LOG_RECORD_TOO_LARGE',
      });
      await assert.rejects(log.append(0, [{ key: 'k', value: Buffer.alloc(1) } as never]), {
        code: 'SHOCK_LOG_RECORD_INVALID',
      });
      assert.deepEqual(log.state(0), { partition: 0, offsetStart: 0, offsetEnd: 0 });
      assert.deepEqual(await log.append(0, [rec('ok')]), { baseOffset: 0, count: 1 });
    } finally {
      await log.close();
    }
  });

  test('jetstream log - after close, reads and commits are refused, waiters are answered', async () => {
    const log = await openJetStreamLog({ servers: server!.url, partitions: 1, streamPrefix: nextPrefix() });
    await log.append(0, [rec('x')]);
    const waiting = log.waitFor(0, 1, 20_000);
    await log.close();
    assert.equal(await waiting, 1);
    await assert.rejects(log.read(0, 0), { code: 'SHOCK_LOG_CLOSED' });
    await assert.rejects(log.offsets.commit('g', 0, 1), { code: 'SHOCK_LOG_CLOSED' });
    assert.deepEqual(log.state(0), { partition: 0, offsetStart: 0, offsetEnd: 1 });
  });

  test('jetstream log - an unreachable server is SHOCK_LOG_IO at open, within the connect timeout', async () => {
    await assert.rejects(openJetStreamLog({ servers: 'nats://127.0.0.1:1', partitions: 1, connectTimeoutMs: 1000 }), {
      code: 'SHOCK_LOG_IO',
    });
  });
});
