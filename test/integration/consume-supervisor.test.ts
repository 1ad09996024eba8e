import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { tempDir, repoRoot } from '../helpers/cli.js';
import { appendEvents, testEvent, waitUntil } from '../helpers/consume-events.js';
import { openFileLog, type FileLog } from '../../src/log/index.js';
import { PartitionConsumer, openSqliteSink, startConsumers, type ConsumerSupervisor } from '../../src/consume/index.js';
import testHandler from '../helpers/consume-handler.js';
import { isShockError } from '../../src/base/index.js';

const testHandlerPath = join(repoRoot, 'test/helpers/consume-handler.ts');
const quick = { consumeBackoffBaseMs: 1, consumeBackoffMaxMs: 5, consumeRetriesMax: 1, consumeBatchWaitMs: 5 };

async function withCell(
  partitions: number,
  body: (ctx: { log: FileLog; sinkPath: string; dir: string }) => Promise<void>,
): Promise<void> {
  const tmp = tempDir('shock-consume-sup-');
  const log = await openFileLog({ dir: join(tmp.dir, 'log'), partitions, logger: () => undefined });
  try {
    await body({ log, sinkPath: join(tmp.dir, 'sink.db'), dir: tmp.dir });
  } finally {
    await log.close();
    tmp.cleanup();
  }
}

function countSink(sinkPath: string, group: string) {
  const sink = openSqliteSink({ path: sinkPath });
  try {
    return { results: sink.countResults(group), deadLetters: sink.deadLetters(group) };
  } finally {
    void sink.close();
  }
}

test('consume supervisor - worker threads consume every partition into the sink once, with lag figures', async () => {
  await withCell(4, async ({ log, sinkPath }) => {
    for (let p = 0; p < 4; p++)
      await appendEvents(
        log,
        p,
        Array.from({ length: 700 }, (_, i) => testEvent(p, i)),
      );
    let sup: ConsumerSupervisor | undefined;
    try {
      sup = await startConsumers({
        log,
        group: 'g',
        workers: 2,
        handlerPath: testHandlerPath,
        sinkPath,
        limits: quick,
        paused: true,
      });
      const paused = await sup.stats();
      assert.equal(paused.partitions.length, 4);
      assert.deepEqual(
        paused.partitions.map((p) => [p.partition, p.worker, p.offsetEnd, p.offsetCommitted, p.lagEvents]),
        [
          [0, 0, 700, 0, 700],
          [1, 1, 700, 0, 700],
          [2, 0, 700, 0, 700],
          [3, 1, 700, 0, 700],
        ],
      );
      assert.equal(paused.totals.lagEvents, 2800);
      assert.ok(paused.partitions.every((p) => p.lagSeconds >= 0 && p.state === 'paused'));
      sup.resume(2);
      // Counters arrive in the worker's progress message just after its offset commit: wait for both.
      await waitUntil(async () => {
        const p2 = (await sup!.stats()).partitions[2];
        return p2.lagEvents === 0 && p2.eventsConsumed === 700;
      }, 'partition 2 to catch up');
      const one = await sup.stats();
      assert.equal(one.partitions[2].lagSeconds, 0);
      assert.equal(one.partitions[2].eventsConsumed, 700);
      assert.equal(one.partitions[0].offsetCommitted, 0);
      sup.resume();
      await waitUntil(async () => (await sup!.stats()).totals.eventsConsumed === 2800, 'every partition to catch up');
      const s = await sup.stats();
      assert.equal(s.totals.eventsConsumed, 2800);
      assert.equal(s.totals.eventsInserted, 2800);
      assert.ok(s.partitions.every((p) => p.epoch >= 1 && p.state === 'running'));
      assert.equal(s.workers.length, 2);
      assert.ok(s.workers.every((w) => w.state === 'running' && w.id !== undefined));
    } finally {
      await sup?.stop();
    }
    assert.equal(countSink(sinkPath, 'g').results.total, 2800);
    assert.equal(log.offsets.get('g', 3), 700);
  });
});

test('consume supervisor - time lag is the age of the oldest unconsumed event', async () => {
  await withCell(1, async ({ log, sinkPath }) => {
    const oldMs = Date.now() - 120_000;
    await appendEvents(log, 0, [testEvent(0, 0)], oldMs);
    await appendEvents(log, 0, [testEvent(0, 1)]);
    const sup = await startConsumers({
      log,
      group: 'g',
      workers: 1,
      handlerPath: testHandlerPath,
      sinkPath,
      limits: quick,
      paused: true,
    });
    try {
      const s = await sup.stats();
      assert.equal(s.partitions[0].lagEvents, 2);
      assert.ok(
        s.partitions[0].lagSeconds >= 120 && s.partitions[0].lagSeconds < 600,
        `lag ${s.partitions[0].lagSeconds}`,
      );
      assert.equal(s.totals.lagSecondsMax, s.partitions[0].lagSeconds);
    } finally {
      await sup.stop();
    }
  });
});

test('consume supervisor - a handler module that cannot be used is SHOCK_CONSUME_HANDLER_INVALID', async () => {
  await withCell(1, async ({ log, sinkPath, dir }) => {
    await assert.rejects(
      startConsumers({ log, group: 'g', handlerPath: join(dir, 'missing.js'), sinkPath }),
      (err: unknown) =>
        isShockError(err) && err.code === 'SHOCK_CONSUME_HANDLER_INVALID' && /no handler module/.test(err.message),
    );
    await assert.rejects(
      startConsumers({ log, group: 'g', handlerPath: join(repoRoot, 'test/helpers/consume-events.ts'), sinkPath }),
      (err: unknown) =>
        isShockError(err) &&
        err.code === 'SHOCK_CONSUME_HANDLER_INVALID' &&
        /no default-exported function/.test(err.message),
    );
    assert.ok(!existsSync(sinkPath), 'nothing was started');
  });
});

test('consume supervisor - the built-in example handler is used when none is named', async () => {
  await withCell(1, async ({ log, sinkPath }) => {
    await appendEvents(
      log,
      0,
      Array.from({ length: 5 }, (_, i) => testEvent(0, i)),
    );
    const sup = await startConsumers({ log, group: 'g', sinkPath, limits: quick });
    try {
      await waitUntil(async () => (await sup.stats()).totals.lagEvents === 0, 'the example handler to consume');
    } finally {
      await sup.stop();
    }
    const sink = openSqliteSink({ path: sinkPath });
    try {
      assert.deepEqual(sink.result('g', 'acme', testEvent(0, 3).event_id), {
        type: 'click',
        tenant: 'acme',
        key: 'k3',
        payloadFields: 1,
      });
    } finally {
      await sink.close();
    }
  });
});

test('consume supervisor - child-process workers consume, and a SIGKILLed one is restarted and resumes', async () => {
  await withCell(2, async ({ log, sinkPath }) => {
    for (let p = 0; p < 2; p++)
      await appendEvents(
        log,
        p,
        Array.from({ length: 300 }, (_, i) => testEvent(p, i)),
      );
    const sup = await startConsumers({
      log,
      group: 'g',
      workers: 2,
      mode: 'process',
      handlerPath: testHandlerPath,
      sinkPath,
      limits: quick,
    });
    try {
      await waitUntil(async () => (await sup.stats()).totals.lagEvents === 0, 'the child processes to catch up');
      const first = await sup.stats();
      assert.equal(first.mode, 'process');
      const pid = first.workers[0].id!;
      assert.notEqual(pid, process.pid);
      await sup.kill(0);
      await waitUntil(() => sup.snapshot().workers[0].state === 'running', 'worker 0 to be restarted');
      // New events reach the restarted child through the relayed end offsets.
      await appendEvents(
        log,
        0,
        Array.from({ length: 50 }, (_, i) => testEvent(0, 300 + i)),
      );
      await waitUntil(
        async () => (await sup.stats()).totals.lagEvents === 0,
        'the restarted child to consume new events',
      );
      const s = await sup.stats();
      assert.equal(s.workers[0].restarts, 1);
      assert.notEqual(s.workers[0].id, pid);
      assert.equal(s.partitions[0].offsetCommitted, 350);
    } finally {
      await sup.stop();
    }
    assert.equal(countSink(sinkPath, 'g').results.total, 650);
  });
});

test('consume supervisor - graceful stop finishes the batch in flight and commits it', async () => {
  await withCell(1, async ({ log, sinkPath }) => {
    await appendEvents(
      log,
      0,
      Array.from({ length: 50 }, (_, i) => testEvent(0, i, i === 10 ? { announceThenWaitMs: 300 } : {})),
    );
    const channel = new BroadcastChannel('shock-consume-test');
    const started = new Promise((resolve) => (channel.onmessage = resolve));
    try {
      const sup = await startConsumers({
        log,
        group: 'g',
        workers: 1,
        handlerPath: testHandlerPath,
        sinkPath,
        limits: quick,
      });
      await started;
      // The batch is in the handler now; stop must let it finish, write it and commit it.
      await sup.stop();
      assert.equal(sup.snapshot().state, 'stopped');
      assert.equal(log.offsets.get('g', 0), 50);
      assert.equal(countSink(sinkPath, 'g').results.total, 50);
    } finally {
      channel.close();
    }
  });
});

test('consume supervisor - retries and dead letters of failing events show in the stats and the sink', async () => {
  await withCell(2, async ({ log, sinkPath }) => {
    await appendEvents(
      log,
      1,
      Array.from({ length: 30 }, (_, i) =>
        testEvent(1, i, i === 4 ? { failAlways: true } : i === 20 ? { throwAlways: true } : {}),
      ),
    );
    const sup = await startConsumers({
      log,
      group: 'g',
      workers: 2,
      handlerPath: testHandlerPath,
      sinkPath,
      limits: quick,
    });
    try {
      await waitUntil(() => sup.snapshot().totals.eventsConsumed === 30, 'partition 1 to move past its failing events');
      const s = await sup.stats();
      const p1 = s.partitions[1];
      assert.equal(p1.deadLetters, 2);
      assert.ok(p1.retries >= quick.consumeRetriesMax, `retries ${p1.retries}`);
      assert.equal(p1.eventsInserted, 28);
      assert.equal(s.totals.deadLetters, 2);
    } finally {
      await sup.stop();
    }
    const { deadLetters } = countSink(sinkPath, 'g');
    assert.deepEqual(
      deadLetters.map((d) => [d.partition, d.offset]),
      [
        [1, 4],
        [1, 20],
      ],
    );
  });
});

test('consume supervisor - a newer owner of a partition fences the supervised consumer out of the sink', async () => {
  await withCell(1, async ({ log, sinkPath }) => {
    const sup = await startConsumers({
      log,
      group: 'g',
      workers: 1,
      handlerPath: testHandlerPath,
      sinkPath,
      limits: quick,
    });
    const sink = openSqliteSink({ path: sinkPath });
    const owner = new PartitionConsumer({ log, sink, handler: testHandler, group: 'g', partition: 0, limits: quick });
    try {
      await owner.start();
      await appendEvents(
        log,
        0,
        Array.from({ length: 20 }, (_, i) => testEvent(0, i)),
      );
      await waitUntil(() => sup.snapshot().partitions[0].state === 'fenced', 'the supervised consumer to be fenced');
      await waitUntil(() => owner.snapshot().offsetCommitted === 20, 'the new owner to commit');
      assert.equal(sup.snapshot().partitions[0].eventsInserted, 0);
      assert.equal(owner.snapshot().eventsInserted, 20);
      assert.equal(sink.countResults('g').total, 20);
    } finally {
      await owner.stop();
      await sink.close();
      await sup.stop();
    }
  });
});
