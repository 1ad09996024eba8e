/**
 * The contract every `Log` backend keeps (guarantees in src/log/log.ts), as one suite run against each backend:
 * the file log now, NATS JetStream when it lands. `open(partitions)` gives a fresh, empty log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Log } from '../../src/log/index.js';

export interface ContractSubject {
  log: Log;
  cleanup: () => Promise<void> | void;
}

const rec = (v: string) => ({ key: Buffer.from('key'), value: Buffer.from(v) });

export function runLogContract(backend: string, open: (partitions: number) => Promise<ContractSubject>): void {
  const withLog = (name: string, body: (log: Log) => Promise<void>) =>
    test(`${backend} contract - ${name}`, { timeout: 30_000 }, async () => {
      const { log, cleanup } = await open(3);
      try {
        await body(log);
      } finally {
        await log.close();
        await cleanup();
      }
    });

  withLog('offsets are dense per partition, in call order, and read back with timestamps', async (log) => {
    const a = log.append(2, [rec('a0'), rec('a1')]);
    const b = log.append(2, [{ ...rec('b0'), timestampMs: 1_700_000_000_123 }]);
    const c = log.append(0, [rec('c0')]);
    assert.deepEqual(await a, { baseOffset: 0, count: 2 });
    assert.deepEqual(await b, { baseOffset: 2, count: 1 });
    assert.deepEqual(await c, { baseOffset: 0, count: 1 });
    const got = await log.read(2, 0);
    assert.deepEqual(
      got.map((r) => [r.offset, r.key.toString(), r.value.toString()]),
      [
        [0, 'key', 'a0'],
        [1, 'key', 'a1'],
        [2, 'key', 'b0'],
      ],
    );
    assert.equal(got[2].timestampMs, 1_700_000_000_123);
    assert.ok(Number.isSafeInteger(got[0].timestampMs) && got[0].timestampMs > 1_600_000_000_000);
    assert.deepEqual(log.state(2), { partition: 2, offsetStart: 0, offsetEnd: 3 });
    assert.deepEqual(log.state(1), { partition: 1, offsetStart: 0, offsetEnd: 0 });
  });

  withLog('reads from the end are empty; outside the partition they are errors', async (log) => {
    await log.append(1, [rec('x')]);
    assert.deepEqual(await log.read(1, 1), []);
    await assert.rejects(log.read(1, 2), { code: 'SHOCK_LOG_OFFSET_OUT_OF_RANGE' });
    await assert.rejects(log.read(3, 0), { code: 'SHOCK_LOG_BAD_PARTITION' });
    await assert.rejects(log.append(-1, [rec('x')]), { code: 'SHOCK_LOG_BAD_PARTITION' });
  });

  withLog('waitFor resolves when the end passes the offset, or with the end at the timeout', async (log) => {
    const waiting = log.waitFor(0, 0, 20_000);
    await log.append(0, [rec('x')]);
    assert.equal(await waiting, 1);
    assert.equal(await log.waitFor(0, 1, 10), 1);
  });

  withLog('committed offsets start at 0, move forward, and a reset needs force', async (log) => {
    await log.append(0, [rec('x'), rec('y')]);
    assert.equal(log.offsets.get('g', 0), 0);
    await log.offsets.commit('g', 0, 2);
    assert.equal(log.offsets.get('g', 0), 2);
    await assert.rejects(log.offsets.commit('g', 0, 1), { code: 'SHOCK_LOG_OFFSET_OUT_OF_RANGE' });
    await log.offsets.commit('g', 0, 0, { force: true });
    assert.deepEqual(log.offsets.list(), { g: { 0: 0 } });
  });

  withLog('after close, appends are refused and close is idempotent', async (log) => {
    await log.close();
    await log.close();
    await assert.rejects(log.append(0, [rec('x')]), { code: 'SHOCK_LOG_CLOSED' });
  });
}
