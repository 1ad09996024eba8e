/**
 * A cell spread over processes (`shock serve --role`): two gateway processes append to one JetStream log at the same
 * time while two consumer processes share the group's partitions by leases, all writing to one PostgreSQL sink.
 * Every request gets 202 (no append conflict between the gateways: the server orders the records), every 202 is in
 * PostgreSQL exactly once, each partition is consumed by one process, and events of one key sent one after another
 * — each after the previous 202, through either gateway — are stored in that order. Bad settings for a role are
 * refused before anything is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeEvent } from '../../src/base/index.js';
import { openJetStreamLog } from '../../src/log/index.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { fetchStats, startServe, testKeys, writeConfig, type ServeProcess } from '../helpers/cell-serve.js';
import {
  countsOf,
  eventsInJetStream,
  groupConfig,
  sinkRows,
  waitSettled,
  type GroupSetup,
  sharedEngines,
  waitSinkHolds,
} from '../helpers/group-serve.js';
import { assertExactlyOnce, identity, type Ack } from '../helpers/kill-load.js';

const engines = sharedEngines();
const skip = engines.skip;
const partitions = 8;

interface Tally {
  statuses: Map<number, number>;
  acked: Map<string, Ack>;
}

/** One event, with its id, through `url`; records the answer. */
async function send(url: string, eventId: string, key: string, tally: Tally): Promise<void> {
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: eventId, type: 'page.view', key, payload: { url: `/${eventId}` } }),
  });
  tally.statuses.set(res.status, (tally.statuses.get(res.status) ?? 0) + 1);
  const body = (await res.json()) as { partition?: number; offset?: number };
  if (res.status === 202)
    tally.acked.set(identity('acme', eventId), { partition: body.partition!, offset: body.offset! });
}

/** `ratePerSec` events a second through `url` for `seconds`, paced by a 20 ms tick (bounded: count and time). */
async function paced(url: string, prefix: string, ratePerSec: number, seconds: number, tally: Tally): Promise<void> {
  const perTick = Math.max(1, Math.round(ratePerSec / 50));
  const inflight: Promise<void>[] = [];
  for (let tick = 0; tick < seconds * 50; tick++) {
    for (let j = 0; j < perTick; j++) {
      const n = tick * perTick + j;
      inflight.push(send(url, `${prefix}${n}`, `user-${n % 53}`, tally));
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.all(inflight);
}

function roleArgs(config: string, role: string): string[] {
  return ['--config', config, '--role', role];
}

test(
  'roles - two gateways append to one log with no conflict; two consumers share it; every 202 once in PostgreSQL',
  { skip, timeout: 240_000 },
  async () => {
    const t = tempDir('shock-roles-');
    const s: GroupSetup = {
      dir: t.dir,
      natsUrl: engines.nats().url,
      postgresUrl: engines.postgres().url,
      streamPrefix: 'roles_a',
      schema: 'roles_a',
      partitions,
      leaseMs: 3000,
    };
    const config = groupConfig(s);
    const procs: ServeProcess[] = [];
    try {
      const gateways = [
        await startServe(join(t.dir, 'g1'), roleArgs(config, 'gateway')),
        await startServe(join(t.dir, 'g2'), roleArgs(config, 'gateway')),
      ];
      procs.push(...gateways);
      const consumers = [
        await startServe(join(t.dir, 'c1'), roleArgs(config, 'consumer')),
        await startServe(join(t.dir, 'c2'), roleArgs(config, 'consumer')),
      ];
      procs.push(...consumers);
      const settled = await waitSettled(consumers, partitions);

      // Both gateways at once, each with its own ids: no answer but 202.
      const tally: Tally = { statuses: new Map(), acked: new Map() };
      await Promise.all([paced(gateways[0].url, 'g1-', 300, 6, tally), paced(gateways[1].url, 'g2-', 300, 6, tally)]);
      assert.deepEqual([...tally.statuses.keys()], [202], `answers: ${JSON.stringify([...tally.statuses])}`);

      // Per key, one after another through alternating gateways, each after the previous 202: stored in that order.
      const ordered: Tally = { statuses: new Map(), acked: new Map() };
      for (let i = 0; i < 40; i++) await send(gateways[i % 2].url, `ord-${i}`, 'the-one-key', ordered);
      assert.deepEqual([...ordered.statuses.keys()], [202]);
      const offsets = Array.from({ length: 40 }, (_, i) => ordered.acked.get(identity('acme', `ord-${i}`))!);
      assert.equal(new Set(offsets.map((o) => o.partition)).size, 1, 'one key, one partition');
      for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i].offset > offsets[i - 1].offset, `order at ${i}`);
      const log = await openJetStreamLog({ servers: engines.nats().url, partitions, streamPrefix: s.streamPrefix });
      try {
        const stored = await log.read(offsets[0].partition, offsets[0].offset, { recordsMax: 10_000 });
        const ids = stored.map((r) => decodeEvent(r.value)).filter((e) => e.key === 'the-one-key');
        assert.deepEqual(
          ids.map((e) => e.event_id),
          Array.from({ length: 40 }, (_, i) => `ord-${i}`),
        );
      } finally {
        await log.close();
      }

      // The consumers drain the log (the sink holds every 202); each partition's rows are written by its one owner; each 202 once.
      for (const [k, v] of ordered.acked) tally.acked.set(k, v);
      await waitSinkHolds(s, tally.acked);
      const pidOf = new Map<number, number>();
      settled.forEach((m, i) => m.owned.forEach((p) => pidOf.set(p, consumers[i].child.pid!)));
      const rows = await sinkRows(s);
      assert.deepEqual(
        rows.filter((r) => r.pid !== pidOf.get(r.partition)),
        [],
        'each partition consumed by one process',
      );
      assertExactlyOnce(countsOf(rows), tally.acked, await eventsInJetStream(s));

      // A gateway has no consumers; a consumer takes no events and says where to send them.
      const gatewayStats = (await fetchStats(gateways[0])) as { consumers: { membership: unknown } };
      assert.equal(gatewayStats.consumers.membership, null);
      const refused = await fetch(`${consumers[0].url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'page.view', payload: { url: '/x' } }),
      });
      assert.equal(refused.status, 404);
      const err = (await refused.json()) as { error: { code: string; message: string } };
      assert.equal(err.error.code, 'SHOCK_INGRESS_NOT_FOUND');
      assert.match(err.error.message, /role consumer.*gateway/);
      for (const p of procs.splice(0)) assert.equal((await p.stop('SIGTERM')).code, 0, p.output().stderr);
    } finally {
      for (const p of procs) await p.stop('SIGKILL');
      t.cleanup();
    }
  },
);

test(
  'roles - settings a role cannot run on are refused before anything is written',
  { skip, timeout: 120_000 },
  async () => {
    const t = tempDir('shock-roles-bad-');
    try {
      const tenants = [{ id: 'acme', keyHashes: [testKeys.acme.hash] }];
      const jetstream = (servers: string[], streamPrefix = 'roles_bad') => ({
        engine: 'jetstream',
        partitions,
        jetstream: { servers, streamPrefix },
      });
      const postgresSink = { engine: 'postgres', postgres: { url: engines.postgres().url, schema: 'roles_bad' } };
      const cases: { name: string; config: unknown; role: string; code: number; message: RegExp }[] = [
        { name: 'gateway-file', config: { tenants }, role: 'gateway', code: 64, message: /log\.engine: jetstream/ },
        {
          name: 'consumer-sqlite',
          config: { tenants, log: jetstream([engines.nats().url]) },
          role: 'consumer',
          code: 64,
          message: /sink\.engine: postgres/,
        },
        {
          name: 'unreachable',
          config: { tenants, log: jetstream(['nats://127.0.0.1:1']), sink: postgresSink },
          role: 'gateway',
          code: 74,
          message: /SHOCK_LOG_IO/,
        },
      ];
      for (const c of cases) {
        const config = writeConfig(t.dir, c.config, `${c.name}.json`);
        const dataDir = join(t.dir, `data-${c.name}`);
        const r = await runCli(['serve', '--config', config, '--role', c.role, '--data-dir', dataDir, '--port', '0'], {
          timeoutMs: 60_000,
        });
        assert.equal(r.code, c.code, `${c.name}: ${r.stderr}`);
        assert.match(r.stderr, c.message, c.name);
        assert.ok(!existsSync(dataDir), `${c.name}: nothing written`);
      }
      const unknown = await runCli(['serve', '--role', 'router', '--data-dir', join(t.dir, 'x')]);
      assert.equal(unknown.code, 64);
      assert.match(unknown.stderr, /--role must be one of all, gateway, consumer/);
    } finally {
      t.cleanup();
    }
  },
);

test(
  'roles - a partition count the shared log disagrees with is refused before anything is written',
  { skip },
  async () => {
    const t = tempDir('shock-roles-parts-');
    try {
      const made = await openJetStreamLog({ servers: engines.nats().url, partitions: 4, streamPrefix: 'roles_parts' });
      await made.close();
      const config = writeConfig(t.dir, {
        tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash] }],
        log: {
          engine: 'jetstream',
          partitions: 8,
          jetstream: { servers: [engines.nats().url], streamPrefix: 'roles_parts' },
        },
        sink: { engine: 'postgres', postgres: { url: engines.postgres().url, schema: 'roles_parts' } },
      });
      const dataDir = join(t.dir, 'data');
      const r = await runCli(['serve', '--config', config, '--role', 'gateway', '--data-dir', dataDir, '--port', '0'], {
        timeoutMs: 60_000,
      });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /partition/);
      assert.match(r.stderr, /SHOCK_CONFIG_INVALID/);
      assert.ok(!existsSync(dataDir), 'nothing written');
    } finally {
      t.cleanup();
    }
  },
);

test('roles - a second process of a group with an SQLite sink is refused, naming sink.engine', { skip }, async () => {
  const t = tempDir('shock-roles-sqlite-');
  let first: ServeProcess | undefined;
  try {
    const config = writeConfig(t.dir, {
      tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash] }],
      log: { engine: 'jetstream', partitions, jetstream: { servers: [engines.nats().url], streamPrefix: 'roles_sq' } },
    });
    first = await startServe(join(t.dir, 'a'), ['--config', config]);
    const r = await runCli(
      ['serve', '--config', config, '--data-dir', join(t.dir, 'b'), '--port', '0', '--admin-port', '0'],
      {
        timeoutMs: 60_000,
      },
    );
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /SQLite sink belongs to one process.*sink\.engine: postgres/);
    // The first process goes on alone with every partition.
    const stats = (await fetchStats(first)) as { consumers: { membership: { owned: number[]; members: string[] } } };
    assert.equal(stats.consumers.membership.owned.length, partitions);
    assert.equal((await first.stop('SIGTERM')).code, 0);
    first = undefined;
  } finally {
    await first?.stop('SIGKILL');
    t.cleanup();
  }
});
