/**
 * kill -9 of one `shock serve` of a consumer group under load (JetStream log on a real nats-server, PostgreSQL
 * sink): the surviving process takes the dead one's partitions over once their leases expire, the lag drains, and
 * every 202 is in PostgreSQL exactly once. Skipped, saying why, without nats-server or PostgreSQL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/cli.js';
import { waitUntil, type ServeProcess } from '../helpers/cell-serve.js';
import {
  countsOf,
  eventsInJetStream,
  groupConfig,
  membershipOf,
  sinkRows,
  startMember,
  waitSettled,
  sharedEngines,
} from '../helpers/group-serve.js';
import { assertExactlyOnce, batchSender, waitDrained, type Ack } from '../helpers/kill-load.js';

const engines = sharedEngines();
const skip = engines.skip;
const partitions = 8;
const leaseMs = 2000;

test(
  'consumer group kill - kill -9 of one process under load: the other takes its partitions over, every 202 once',
  { skip, timeout: 240_000 },
  async (t) => {
    const dir = tempDir('shock-group-kill-');
    const s = {
      dir: dir.dir,
      natsUrl: engines.nats().url,
      postgresUrl: engines.postgres().url,
      streamPrefix: 'grp_kill',
      schema: 'grp_kill',
      partitions,
      leaseMs,
    };
    const config = groupConfig(s);
    const cells: ServeProcess[] = [];
    try {
      cells.push(await startMember(s, config, 'a'));
      cells.push(await startMember(s, config, 'b'));
      const [a, b] = cells;
      const settled = await waitSettled(cells, partitions);
      const pidB = b.child.pid!;

      // Load on a's gateway; kill b once it is writing its partitions' rows.
      const acked = new Map<string, Ack>();
      let stopped = false;
      const senders = Promise.all(
        Array.from({ length: 4 }, (_, i) => batchSender(a.url, i, acked, () => stopped, 10, undefined, 'gk-')),
      );
      try {
        await waitUntil(async () => (await sinkRows(s)).some((r) => r.pid === pidB), 60_000, 200);
        const killedAtMs = Date.now();
        b.child.kill('SIGKILL');
        await b.stop('SIGKILL');
        cells.splice(1, 1);
        // a owns every partition once b's leases expired (about the lease time), and keeps consuming.
        await waitUntil(async () => (await membershipOf(a)).owned.length === partitions, 60_000, 100);
        t.diagnostic(`takeover after ${Date.now() - killedAtMs} ms (lease ${leaseMs} ms)`);
        const m = await membershipOf(a);
        assert.deepEqual(m.members, [settled[0].memberId], 'b is no longer a member');
        const ackedAtTakeover = acked.size;
        await waitUntil(() => acked.size >= ackedAtTakeover + 500, 60_000);
      } finally {
        stopped = true;
        await senders;
      }
      await waitDrained(a, partitions);

      const rows = await sinkRows(s);
      assertExactlyOnce(countsOf(rows), acked, await eventsInJetStream(s));
      // b's former partitions were written by a after the kill.
      const fromB = settled[1].owned;
      const pidA = a.child.pid!;
      for (const p of fromB)
        assert.ok(
          rows.some((r) => r.partition === p && r.pid === pidA),
          `a consumed ${p}`,
        );
      assert.equal((await a.stop('SIGTERM')).code, 0, a.output().stderr);
      cells.length = 0;
    } finally {
      for (const cell of cells) await cell.stop('SIGKILL');
      dir.cleanup();
    }
  },
);
