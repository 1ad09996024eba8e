/**
 * One consumer group across `shock serve` processes on one JetStream log (a real nats-server) and one PostgreSQL
 * sink: the processes share the partitions by leases — each partition consumed by exactly one process, whose
 * union is all of them, as `/v1/stats` and `/metrics` show — and every 202 is in the sink exactly once. A process
 * paused past its lease (SIGSTOP) loses its partitions to the other; resumed (SIGCONT), it writes not a single row
 * under the epochs it held, and the group rebalances back to two owners. Skipped, saying why, without nats-server
 * or PostgreSQL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/cli.js';
import { fetchMetrics, type ServeProcess } from '../helpers/cell-serve.js';
import {
  countsOf,
  eventsInJetStream,
  groupConfig,
  membershipOf,
  sinkRows,
  startMember,
  waitSettled,
  type GroupSetup,
  sharedEngines,
} from '../helpers/group-serve.js';
import { assertExactlyOnce, batchSender, waitDrained, type Ack } from '../helpers/kill-load.js';
import { waitUntil } from '../helpers/cell-serve.js';

const engines = sharedEngines();
const skip = engines.skip;
const partitions = 8;
const leaseMs = 2000;

function setup(name: string, dir: string): GroupSetup {
  return {
    dir,
    natsUrl: engines.nats().url,
    postgresUrl: engines.postgres().url,
    streamPrefix: name,
    schema: name,
    partitions,
    leaseMs,
  };
}

/** Senders on `url` until `stop` is called; resolves when they have all returned. */
function load(url: string, acked: Map<string, Ack>, prefix: string, senders = 4) {
  let stopped = false;
  const done = Promise.all(
    Array.from({ length: senders }, (_, i) => batchSender(url, i, acked, () => stopped, 10, undefined, prefix)),
  );
  return {
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

test(
  'consumer group - two serve processes consume disjoint partitions covering all; every 202 in PostgreSQL once',
  { skip, timeout: 180_000 },
  async () => {
    const t = tempDir('shock-group-');
    const s = setup('grp_a', t.dir);
    const config = groupConfig(s);
    const cells: ServeProcess[] = [];
    try {
      cells.push(await startMember(s, config, 'a'));
      cells.push(await startMember(s, config, 'b'));
      const [a, b] = cells;
      const settled = await waitSettled(cells, partitions);
      assert.deepEqual(
        settled.map((m) => m.owned.length),
        [partitions / 2, partitions / 2],
        'balanced',
      );

      const acked = new Map<string, Ack>();
      const run = load(a.url, acked, 'ga-');
      await waitUntil(() => acked.size >= 1500, 60_000);
      await run.stop();
      await waitDrained(a, partitions);

      // Still the same owners (nothing moved while loaded), and each partition's rows are all its owner's.
      const after = await waitSettled(cells, partitions);
      assert.deepEqual(
        after.map((m) => m.owned),
        settled.map((m) => m.owned),
      );
      const pidOf = new Map<number, number>();
      after.forEach((m, i) => m.owned.forEach((p) => pidOf.set(p, cells[i].child.pid!)));
      const rows = await sinkRows(s);
      const strangers = rows.filter((r) => r.pid !== pidOf.get(r.partition));
      assert.deepEqual(strangers, [], 'every row was written by its partition owner');
      assert.equal(new Set(rows.map((r) => r.pid)).size, 2, 'both processes wrote');
      assertExactlyOnce(countsOf(rows), acked, await eventsInJetStream(s));

      // /metrics: each process owns half; both see two members.
      for (const [i, cell] of [a, b].entries()) {
        const text = await fetchMetrics(cell);
        const owned = new RegExp(
          `^shock_consumer_partitions_owned\\{group="sink",member="${after[i].memberId}"\\} (\\d+)$`,
          'm',
        );
        assert.equal(Number(owned.exec(text)?.[1]), partitions / 2, text);
        assert.match(text, /^shock_consumer_group_members\{group="sink"\} 2$/m);
        assert.match(text, /^shock_consumer_rebalances_total\{group="sink"\} \d+$/m);
        assert.match(text, /^shock_consumer_leases_lost_total\{group="sink"\} 0$/m);
        assert.match(text, /^shock_consumer_lease_age_seconds\{group="sink",partition="7"\} [\d.]+$/m);
      }
      for (const cell of cells.splice(0)) assert.equal((await cell.stop('SIGTERM')).code, 0, cell.output().stderr);
    } finally {
      for (const cell of cells) await cell.stop('SIGKILL');
      t.cleanup();
    }
  },
);

test(
  'consumer group - a process paused past its lease loses its partitions and, resumed, writes nothing under them',
  { skip, timeout: 240_000 },
  async () => {
    const t = tempDir('shock-group-stop-');
    const s = setup('grp_c', t.dir);
    const config = groupConfig(s);
    const cells: ServeProcess[] = [];
    try {
      cells.push(await startMember(s, config, 'a'));
      cells.push(await startMember(s, config, 'b'));
      const [a, b] = cells;
      const settled = await waitSettled(cells, partitions);
      const lost = settled[0].owned;
      const pidA = a.child.pid!;
      const pidB = b.child.pid!;

      // Load on b's gateway; a consumes its partitions until it is paused.
      const acked = new Map<string, Ack>();
      const run = load(b.url, acked, 'gc-');
      await waitUntil(async () => (await sinkRows(s)).some((r) => r.pid === pidA), 60_000);
      const pausedAtMs = Date.now();
      process.kill(pidA, 'SIGSTOP');
      let resumed = false;
      try {
        // b takes every partition over once a's leases expire, and writes rows on each partition a held.
        await waitUntil(async () => (await membershipOf(b)).owned.length === partitions, 60_000, 200).catch(
          async (err: Error) => {
            throw new Error(`b did not take every partition: ${err.message}; ${JSON.stringify(await membershipOf(b))}`);
          },
        );
        await waitUntil(
          async () => {
            const rows = await sinkRows(s);
            return lost.every((p) => rows.some((r) => r.partition === p && r.pid === pidB));
          },
          60_000,
          250,
        );
      } finally {
        process.kill(pidA, 'SIGCONT');
        resumed = true;
      }
      assert.ok(resumed);

      // The group goes back to two owners; a counts the leases it lost.
      const back = await waitSettled(cells, partitions, 90_000);
      assert.deepEqual(
        back.map((m) => m.owned.length),
        [partitions / 2, partitions / 2],
      );
      assert.ok(back[0].leasesLost >= lost.length, `a lost its ${lost.length} leases: ${JSON.stringify(back[0])}`);
      await run.stop();
      await waitDrained(b, partitions);

      // No row of a partition a lost was written by a, after the pause, under an epoch older than b's claim there
      // (a's stale epoch): every such write was fenced. a's rows after it got partitions back carry newer epochs.
      const rows = await sinkRows(s);
      const violations: unknown[] = [];
      for (const p of lost) {
        const epochB = Math.min(...rows.filter((r) => r.partition === p && r.pid === pidB).map((r) => r.epoch));
        for (const r of rows) {
          if (r.partition === p && r.pid === pidA && r.atMs >= pausedAtMs && r.epoch < epochB) violations.push(r);
        }
      }
      assert.deepEqual(violations, [], 'the resumed process wrote no row under its old epochs');
      assertExactlyOnce(countsOf(rows), acked, await eventsInJetStream(s));
      for (const cell of cells.splice(0)) assert.equal((await cell.stop('SIGTERM')).code, 0, cell.output().stderr);
    } finally {
      for (const cell of cells) {
        if (cell.child.pid !== undefined && cell.child.exitCode === null) process.kill(cell.child.pid, 'SIGCONT');
        await cell.stop('SIGKILL');
      }
      t.cleanup();
    }
  },
);
