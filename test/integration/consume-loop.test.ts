import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli.js';
import { appendEvents, testEvent, waitUntil } from '../helpers/consume-events.js';
import testHandler from '../helpers/consume-handler.js';
import { openFileLog, type FileLog } from '../../src/log/index.js';
import { PartitionConsumer, openSqliteSink, type SqliteSink } from '../../src/consume/index.js';

const quick = { consumeBackoffBaseMs: 1, consumeBackoffMaxMs: 5, consumeRetriesMax: 2, consumeBatchWaitMs: 5 };

async function setup(
  partitions = 2,
): Promise<{ log: FileLog; sink: SqliteSink; sinkPath: string; done: () => Promise<void> }> {
  const tmp = tempDir('shock-consume-');
  const log = await openFileLog({ dir: join(tmp.dir, 'log'), partitions, logger: () => undefined });
  const sinkPath = join(tmp.dir, 'sink.db');
  const sink = openSqliteSink({ path: sinkPath });
  return {
    log,
    sink,
    sinkPath,
    done: async () => {
      await sink.close();
      await log.close();
      tmp.cleanup();
    },
  };
}

test('consume loop - every event lands in the sink once and the offset is committed after it', async () => {
  const { log, sink, done } = await setup();
  try {
    await appendEvents(
      log,
      1,
      Array.from({ length: 2500 }, (_, i) => testEvent(1, i)),
    );
    const c = new PartitionConsumer({ log, sink, handler: testHandler, group: 'g', partition: 1, limits: quick });
    await c.start();
    await waitUntil(() => c.snapshot().offsetCommitted === 2500, 'the consumer to commit 2500');
    // More arrives while it waits: it is picked up without polling.
    await appendEvents(
      log,
      1,
      Array.from({ length: 10 }, (_, i) => testEvent(1, 2500 + i)),
    );
    await waitUntil(() => c.snapshot().offsetCommitted === 2510, 'the consumer to commit 2510');
    assert.deepEqual(await c.stop(), { reason: 'stopped' });
    const s = c.snapshot();
    assert.equal(s.eventsConsumed, 2510);
    assert.equal(s.eventsInserted, 2510);
    assert.equal(s.eventsDuplicate, 0);
    assert.ok(s.batches >= 4, `batches ${s.batches}`);
    assert.equal(log.offsets.get('g', 1), 2510);
    assert.equal(sink.countResults('g').total, 2510);
    assert.deepEqual(sink.result('g', 'acme', testEvent(1, 42).event_id), { n: 42, type: 'click' });
    assert.equal(log.offsets.get('g', 0), 0);
  } finally {
    await done();
  }
});

test('consume loop - failing events are retried, dead-lettered with their error and offset, and the partition moves on', async () => {
  const { log, sink, done } = await setup();
  try {
    const events = Array.from({ length: 40 }, (_, i) =>
      testEvent(0, i, i === 7 ? { failAlways: true } : i === 23 ? { throwAlways: true } : {}),
    );
    await appendEvents(log, 0, events);
    await log.append(0, [{ key: Buffer.alloc(0), value: Buffer.from('not json') }]);
    const c = new PartitionConsumer({ log, sink, handler: testHandler, group: 'g', partition: 0, limits: quick });
    await c.start();
    await waitUntil(() => c.snapshot().offsetCommitted === 41, 'the consumer to move past the failures');
    await c.stop();
    const dl = sink.deadLetters('g');
    assert.deepEqual(
      dl.map((d) => [d.offset, d.eventId ?? null]),
      [
        [7, events[7].event_id],
        [23, events[23].event_id],
        [40, null],
      ],
    );
    assert.match(dl[0].error, /RangeError: bad event/);
    assert.match(dl[1].error, /Error: cannot process/);
    assert.match(dl[2].error, /not an event/);
    assert.equal(dl[2].attempts, 0);
    assert.equal(JSON.parse(dl[0].eventJson).event_id, events[7].event_id);
    assert.equal(sink.countResults('g').total, 38);
    const s = c.snapshot();
    assert.equal(s.deadLetters, 3);
    assert.ok(s.retries >= quick.consumeRetriesMax, `retries ${s.retries}`);
  } finally {
    await done();
  }
});

test('consume loop - a batch whose offset commit never happened is redelivered and stored once', async () => {
  const { log, sink, done } = await setup();
  try {
    await appendEvents(
      log,
      0,
      Array.from({ length: 300 }, (_, i) => testEvent(0, i)),
    );
    const crashing = new PartitionConsumer({
      log,
      sink,
      handler: testHandler,
      group: 'g',
      partition: 0,
      limits: quick,
      onSinkCommitted: () => {
        throw new Error('crash between the sink commit and the offset commit');
      },
    });
    await crashing.start();
    const exit = await crashing.done;
    assert.equal(exit.reason, 'failed');
    assert.equal(log.offsets.get('g', 0), 0);
    assert.equal(sink.countResults('g').total, 300);

    const calls: number[] = [];
    const next = new PartitionConsumer({
      log,
      sink,
      handler: (evs, ctx) => {
        calls.push(evs.length);
        return testHandler(evs, ctx);
      },
      group: 'g',
      partition: 0,
      limits: quick,
    });
    await next.start();
    await appendEvents(log, 0, [testEvent(0, 300)]);
    await waitUntil(() => next.snapshot().offsetCommitted === 301, 'the redelivered batch and one more');
    await next.stop();
    assert.equal(sink.countResults('g').total, 301);
    const s = next.snapshot();
    assert.equal(s.eventsSkipped, 300, 'the redelivered events were recognised in the sink');
    assert.ok(calls.reduce((a, b) => a + b, 0) === 1, `handler saw only the new event, calls ${calls}`);
  } finally {
    await done();
  }
});

test('consume loop - a consumer fenced by a newer owner stops without writing or committing', async () => {
  const { log, sink, sinkPath, done } = await setup();
  const sink2 = openSqliteSink({ path: sinkPath });
  try {
    await appendEvents(
      log,
      0,
      Array.from({ length: 5 }, (_, i) => testEvent(0, i)),
    );
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const zombie = new PartitionConsumer({
      log,
      sink,
      handler: async (evs, ctx) => {
        await gate;
        return testHandler(evs, ctx);
      },
      group: 'g',
      partition: 0,
      limits: quick,
    });
    await zombie.start();
    await new Promise((r) => setTimeout(r, 50));
    const owner = new PartitionConsumer({
      log,
      sink: sink2,
      handler: testHandler,
      group: 'g',
      partition: 0,
      limits: quick,
    });
    await owner.start();
    await waitUntil(() => owner.snapshot().offsetCommitted === 5, 'the new owner to commit');
    release();
    const exit = await zombie.done;
    assert.equal(exit.reason, 'fenced');
    assert.equal((exit as { error: { code: string } }).error.code, 'SHOCK_CONSUME_FENCED');
    assert.equal(zombie.snapshot().eventsInserted, 0);
    assert.ok(zombie.snapshot().epoch < owner.snapshot().epoch);
    await owner.stop();
    assert.equal(sink.countResults('g').total, 5);
    assert.equal(log.offsets.get('g', 0), 5);
  } finally {
    await sink2.close();
    await done();
  }
});

test('consume loop - pause stops fetching and resume continues', async () => {
  const { log, sink, done } = await setup();
  try {
    const c = new PartitionConsumer({ log, sink, handler: testHandler, group: 'g', partition: 0, limits: quick });
    await c.start();
    c.pause();
    await appendEvents(
      log,
      0,
      Array.from({ length: 20 }, (_, i) => testEvent(0, i)),
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(c.snapshot().state, 'paused');
    assert.equal(c.snapshot().offsetCommitted, 0);
    c.resume();
    await waitUntil(() => c.snapshot().offsetCommitted === 20, 'the resumed consumer to commit');
    await c.stop();
  } finally {
    await done();
  }
});
