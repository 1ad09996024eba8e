/**
 * scripts/cluster: a real three-node JetStream cluster in network namespaces. A stream at replicas 3 keeps taking
 * acknowledged publishes when its leader is cut off (link down) or killed (SIGKILL), the cut node catches up once
 * healed, PostgreSQL answers from its own namespace, a host namespace reaches the nodes but has no route anywhere else, and `down` leaves nothing behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { clusterMissing, startCluster, type Cluster } from '../../helpers/cluster.js';
import { connectPostgres } from '../../helpers/postgres.js';
import { skipUnlessAvailable } from '../../helpers/dependency.js';

const skip = skipUnlessAvailable(clusterMissing());

async function publishEventually(nc: NatsConnection, subject: string, body: string, timeoutMs = 30_000) {
  const js = nc.jetstream();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await js.publish(subject, new TextEncoder().encode(body), { msgID: body, timeout: 2000 });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function streamInfo(jsm: JetStreamManager) {
  for (let i = 0; ; i++) {
    try {
      return await jsm.streams.info('S');
    } catch (err) {
      if (i > 60) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function waitAllCurrent(jsm: JetStreamManager, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await streamInfo(jsm);
    const replicas = info.cluster?.replicas ?? [];
    if (info.cluster?.leader && replicas.length === 2 && replicas.every((r) => r.current)) return info;
    if (Date.now() > deadline) throw new Error(`replicas not current: ${JSON.stringify(info.cluster)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('cluster - three nodes in namespaces keep an R3 stream writable through a cut and a kill', { skip }, async () => {
  let cluster: Cluster | undefined;
  let nc: NatsConnection | undefined;
  try {
    cluster = startCluster({ postgres: true });
    const status = cluster.status();
    assert.equal(status.hosts.length, 4, 'three nats nodes and PostgreSQL');
    assert.ok(status.hosts.every((h) => h.process === 'alive' && h.link === 'up'));
    assert.ok(
      status.hosts.some((h) => h.metaLeader !== null),
      'a meta leader is elected',
    );
    const db = await connectPostgres(cluster.postgresUrl ?? '');
    assert.equal((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0].one, 1, 'PostgreSQL answers');
    await db.end();

    // A link taken down sends no reset: the client learns its server is gone by missed pings, so ping often.
    nc = await connect({
      servers: cluster.natsUrls,
      timeout: 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 200,
      pingInterval: 1000,
      maxPingOut: 2,
    });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'S', subjects: ['s.>'], num_replicas: 3 });
    let sent = 0;
    for (; sent < 10; sent++) await publishEventually(nc, 's.a', `m${sent}`);
    const leader = (await waitAllCurrent(jsm)).cluster?.leader;
    assert.ok(leader);

    // Cut the stream leader off: the other two elect a leader and keep acknowledging.
    cluster.run('cut', leader);
    for (let i = 0; i < 10; i++, sent++) await publishEventually(nc, 's.a', `m${sent}`);
    assert.equal(cluster.status().hosts.find((h) => h.name === leader)?.link, 'down');
    cluster.run('heal', leader);
    let info = await waitAllCurrent(jsm);
    assert.equal(info.state.messages, sent, 'every acknowledged publish is in the stream');

    // Kill -9 the (new) leader, publish, restart it: it catches up.
    const second = info.cluster?.leader;
    assert.ok(second);
    cluster.run('kill', second);
    for (let i = 0; i < 10; i++, sent++) await publishEventually(nc, 's.a', `m${sent}`);
    cluster.run('start', second);
    info = await waitAllCurrent(jsm, 60_000);
    assert.equal(info.state.messages, sent);
    assert.equal(info.state.last_seq, sent, 'no acknowledged publish was duplicated (msg ids dedupe the retries)');

    // A host namespace reaches the nodes, and has no route to anything outside its subnet.
    const address = cluster.host('g1');
    assert.match(address, new RegExp(`^10\\.213\\.${cluster.id}\\.\\d+$`));
    const inside = [...cluster.execPrefix('g1'), 'ip', 'route', 'get'];
    assert.equal(spawnSync(inside[0], [...inside.slice(1), cluster.natsUrls[0].slice(7, -5)]).status, 0);
    const outside = spawnSync(inside[0], [...inside.slice(1), '192.0.2.1'], { encoding: 'utf8' });
    assert.notEqual(outside.status, 0, 'no default route inside the namespace');
  } finally {
    await nc?.close().catch(() => undefined);
    cluster?.down();
  }
  assert.ok(cluster);
  const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  assert.ok(!left.includes(`shk${cluster.id}-`), `namespaces left behind: ${left}`);
  assert.ok(!existsSync(`/tmp/shock-cluster-${cluster.id}`));
});

test('cluster - bad usage is a clear error and creates nothing', { skip }, () => {
  const r = spawnSync('bash', ['scripts/cluster', 'up', '--id', '999'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--id must be 0-250/);
  const help = spawnSync('bash', ['scripts/cluster', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /up \[--nodes 3\] \[--postgres\]/);
});
