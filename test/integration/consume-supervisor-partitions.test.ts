/**
 * The supervisor's dynamic partition set on a real file log and SQLite sink: `removePartition` finishes the batch
 * in flight, writes and commits it, and stops; `addPartition` claims a newer epoch and resumes at the committed
 * offset; totals never go down. With a membership the set starts empty and follows it, and a consumer fenced by a
 * newer owner hands its partition back to the membership. The membership here is `ScriptedMembership`, a double of
 * the lease engine (the real JetStream leases are tested in jetstream-leases.test.ts and, across shock serve
 * processes, in jetstream-serve-group.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir, repoRoot } from '../helpers/cli.js';
import { appendEvents, testEvent, waitUntil } from '../helpers/consume-events.js';
import { openFileLog, type FileLog, type GroupMember, type GroupMemberCallbacks } from '../../src/log/index.js';
import { PartitionConsumer, openSqliteSink, startConsumers } from '../../src/consume/index.js';
import testHandler from '../helpers/consume-handler.js';

const testHandlerPath = join(repoRoot, 'test/helpers/consume-handler.ts');
const quick = { consumeBackoffBaseMs: 1, consumeBackoffMaxMs: 5, consumeRetriesMax: 1, consumeBatchWaitMs: 5 };

async function withLog(partitions: number, body: (log: FileLog, sinkPath: string) => Promise<void>): Promise<void> {
  const tmp = tempDir('shock-consume-parts-');
  const log = await openFileLog({ dir: join(tmp.dir, 'log'), partitions, logger: () => undefined });
  try {
    await body(log, join(tmp.dir, 'sink.db'));
  } finally {
    await log.close();
    tmp.cleanup();
  }
}

const events = (p: number, from: number, n: number, extra: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => testEvent(p, from + i, extra));

test('consume supervisor partitions - remove stops a partition committed, add resumes it under a newer epoch', async () => {
  await withLog(2, async (log, sinkPath) => {
    await appendEvents(log, 0, events(0, 0, 300));
    await appendEvents(log, 1, events(1, 0, 300));
    const sup = await startConsumers({
      log,
      group: 'g',
      workers: 2,
      handlerPath: testHandlerPath,
      sinkPath,
      limits: quick,
    });
    try {
      await waitUntil(async () => (await sup.stats()).totals.lagEvents === 0, 'both partitions consumed');
      const epochBefore = sup.snapshot().partitions[1].epoch;
      await sup.removePartition(1);
      assert.deepEqual(
        sup.snapshot().partitions.map((p) => p.partition),
        [0],
      );
      assert.equal(log.offsets.get('g', 1), 300);
      await appendEvents(log, 1, events(1, 300, 100));
      await appendEvents(log, 0, events(0, 300, 50));
      await waitUntil(() => log.offsets.get('g', 0) === 350, 'partition 0 to go on');
      assert.equal(log.offsets.get('g', 1), 300, 'nothing consumes partition 1');
      assert.equal(sup.snapshot().totals.eventsConsumed, 650, 'the removed partition still counts');

      await sup.addPartition(1);
      await waitUntil(() => log.offsets.get('g', 1) === 400, 'partition 1 to resume');
      const p1 = sup.snapshot().partitions.find((p) => p.partition === 1)!;
      assert.ok(p1.epoch > epochBefore, `a newer epoch: ${p1.epoch} > ${epochBefore}`);
      assert.equal(p1.eventsConsumed, 100, 'resumed at the committed offset');
      await sup.addPartition(1); // already consumed: nothing happens
      await assert.rejects(sup.addPartition(2), { code: 'SHOCK_CONFIG_INVALID' });
      const sink = openSqliteSink({ path: sinkPath });
      try {
        assert.equal(sink.countResults('g').total, 750);
      } finally {
        await sink.close();
      }
    } finally {
      await sup.stop();
    }
  });
});

test('consume supervisor partitions - remove waits for the batch in flight and commits it', async () => {
  await withLog(1, async (log, sinkPath) => {
    const sup = await startConsumers({
      log,
      group: 'g',
      workers: 1,
      handlerPath: testHandlerPath,
      sinkPath,
      limits: quick,
    });
    const channel = new BroadcastChannel('shock-consume-test');
    try {
      let started = false;
      channel.onmessage = () => (started = true);
      await appendEvents(log, 0, events(0, 0, 10, { announceThenWaitMs: 300 }));
      await waitUntil(() => started, 'the batch to start');
      await sup.removePartition(0);
      assert.equal(log.offsets.get('g', 0), 10, 'the batch in flight was written and committed');
      assert.equal(sup.snapshot().partitions.length, 0);
    } finally {
      channel.close();
      await sup.stop();
    }
  });
});

/** A double of the lease engine: the test says which partitions this member holds; it records what it is told. */
class ScriptedMembership {
  callbacks: GroupMemberCallbacks | undefined;
  readonly surrendered: number[] = [];
  left = false;
  async join(callbacks: GroupMemberCallbacks): Promise<GroupMember> {
    this.callbacks = callbacks;
    return {
      group: 'g',
      memberId: 'scripted',
      owned: () => new Set(),
      stats: () => ({
        group: 'g',
        memberId: 'scripted',
        members: ['scripted'],
        owned: [],
        leases: [],
        rebalances: 0,
        leasesLost: 0,
      }),
      surrender: async (p) => {
        this.surrendered.push(p);
        await callbacks.revoked(p, 'lost');
      },
      leave: async () => {
        this.left = true;
      },
    };
  }
}

test('consume supervisor partitions - with a membership the set follows it, and a fenced partition goes back', async () => {
  await withLog(2, async (log, sinkPath) => {
    await appendEvents(log, 0, events(0, 0, 50));
    const membership = new ScriptedMembership();
    const sup = await startConsumers({
      log,
      group: 'g',
      workers: 2,
      handlerPath: testHandlerPath,
      sinkPath,
      limits: quick,
      membership,
    });
    const sink = openSqliteSink({ path: sinkPath });
    const owner = new PartitionConsumer({ log, sink, handler: testHandler, group: 'g', partition: 0, limits: quick });
    try {
      assert.equal(sup.snapshot().partitions.length, 0, 'nothing owned yet');
      assert.equal(sup.snapshot().membership?.memberId, 'scripted');
      await membership.callbacks!.acquired(0);
      await waitUntil(() => log.offsets.get('g', 0) === 50, 'the acquired partition consumed');

      // Another owner claims partition 0: the supervised consumer is fenced at its next write and gives it back.
      await owner.start();
      await appendEvents(log, 0, events(0, 50, 20));
      await waitUntil(() => membership.surrendered.includes(0), 'the fenced partition to go back to the membership');
      await waitUntil(() => sup.snapshot().partitions.length === 0, 'the partition to leave the books');
      assert.equal(sup.snapshot().totals.fenced, 1);
      await sup.stop();
      assert.ok(membership.left, 'stop leaves the group');
    } finally {
      await owner.stop();
      await sink.close();
      await sup.stop();
    }
  });
});
