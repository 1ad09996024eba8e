/**
 * Faults, Jepsen-style, on a real three-node JetStream cluster in network namespaces (scripts/cluster) with
 * PostgreSQL in its own: two gateway processes and two consumer processes, each in a namespace ("machine") of its
 * own, under keyed load from clients that send each key's events one after another. A seeded, bounded schedule
 * kills a NATS node (kill -9) and restarts it, cuts a node off (link down) and heals it, cuts a gateway off, pauses
 * a consumer past its lease (SIGSTOP, then SIGCONT), and kills a gateway and a consumer (kill -9, then restarts
 * them). The checker then proves from what the clients were told and what PostgreSQL holds: every 202 is in the sink
 * exactly once, each key's acknowledged events are stored in send order, no committed offset went backwards, and
 * every partition ended with one owner. The history and the verdict go to $TMPDIR/shock-cluster-faults/seed-N.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mulberry32, type Rng } from '../../src/base/index.js';
import { openJetStreamLog } from '../../src/log/index.js';
import { tempDir } from '../helpers/cli.js';
import { startServe, testKeys, waitUntil, writeConfig, type ServeProcess } from '../helpers/cell-serve.js';
import { clusterMissing, startCluster, type Cluster } from '../helpers/cluster.js';
import { check, keyClient, newHistory, sampleOffsets, writeHistory, type History } from '../helpers/cluster-faults.js';
import { skipUnlessAvailable } from '../helpers/dependency.js';
import { countsOf, groupHandlerPath, sinkRows, type GroupSetup } from '../helpers/group-serve.js';
import { postgresSkipReason } from '../helpers/postgres.js';

const skip = skipUnlessAvailable(clusterMissing() ?? (postgresSkipReason() || undefined));
const partitions = 8;
const leaseMs = 3000;
const keys = 6;
const holdMs = 3000;
const settleMs = 2000;

/** A `shock serve` of one role in its own namespace, restartable on the same data directory. */
interface Member {
  host: string;
  role: 'gateway' | 'consumer';
  address: string;
  proc: ServeProcess;
}

async function startMember(cluster: Cluster, dir: string, config: string, m: Omit<Member, 'proc'>) {
  const args = ['--config', config, '--role', m.role, '--host', m.address];
  return startServe(join(dir, m.host), args, 60_000, {}, cluster.execPrefix(m.host));
}

/**
 * As a process supervisor would: a start while the cluster still elects leaders (a node just came back, or the
 * machine is busy) can fail to open the log in time — shock serve then exits with SHOCK_LOG_IO — and is tried again
 * (at most 5 times).
 */
async function startRetrying(
  cluster: Cluster,
  dir: string,
  config: string,
  m: Omit<Member, 'proc'>,
  failed: (attempt: number) => void = () => undefined,
): Promise<ServeProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startMember(cluster, dir, config, m);
    } catch (err) {
      failed(attempt);
      if (attempt === 5) throw err;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng.next() * items.length)];

/** The faults of the schedule; each applies one, holds it, heals it. */
function faultSteps(cluster: Cluster, members: Member[], dir: string, config: string, history: History, t0: number) {
  const note = (step: string, target: string, phase: 'apply' | 'heal') =>
    history.faults.push({ step, target, phase, atMs: Date.now() - t0 });
  const restart = async (m: Member) => {
    m.proc = await startRetrying(cluster, dir, config, m, (attempt) =>
      note(`start-failed-${attempt}`, m.host, 'apply'),
    );
  };
  const of = (role: Member['role']) => members.filter((m) => m.role === role);
  return {
    'kill-node': async (rng: Rng) => {
      const n = pick(rng, ['n1', 'n2', 'n3']);
      note('kill-node', n, 'apply');
      cluster.run('kill', n);
      await sleep(holdMs);
      cluster.run('start', n);
      note('kill-node', n, 'heal');
    },
    'cut-node': async (rng: Rng) => {
      const n = pick(rng, ['n1', 'n2', 'n3']);
      note('cut-node', n, 'apply');
      cluster.run('cut', n);
      await sleep(holdMs);
      cluster.run('heal', n);
      note('cut-node', n, 'heal');
    },
    'cut-gateway': async (rng: Rng) => {
      const g = pick(rng, of('gateway'));
      note('cut-gateway', g.host, 'apply');
      cluster.run('cut', g.host);
      await sleep(holdMs);
      cluster.run('heal', g.host);
      note('cut-gateway', g.host, 'heal');
    },
    'pause-consumer': async (rng: Rng) => {
      const c = pick(rng, of('consumer'));
      note('pause-consumer', c.host, 'apply');
      c.proc.child.kill('SIGSTOP');
      await sleep(leaseMs + holdMs);
      c.proc.child.kill('SIGCONT');
      note('pause-consumer', c.host, 'heal');
    },
    'kill-gateway': async (rng: Rng) => {
      const g = pick(rng, of('gateway'));
      note('kill-gateway', g.host, 'apply');
      await g.proc.stop('SIGKILL');
      await sleep(holdMs / 3);
      await restart(g);
      note('kill-gateway', g.host, 'heal');
    },
    'kill-consumer': async (rng: Rng) => {
      const c = pick(rng, of('consumer'));
      note('kill-consumer', c.host, 'apply');
      await c.proc.stop('SIGKILL');
      await sleep(holdMs / 3);
      await restart(c);
      note('kill-consumer', c.host, 'heal');
    },
  };
}

/** The order of the faults for a seed: every kind once, shuffled. */
function schedule(rng: Rng, kinds: string[]): string[] {
  const order = [...kinds];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

async function ownedBy(m: Member): Promise<number[] | null> {
  try {
    const res = await fetch(`${m.proc.url}/v1/stats`, { signal: AbortSignal.timeout(2000) });
    const s = (await res.json()) as { consumers: { membership: { owned: number[]; members: string[] } | null } };
    return s.consumers.membership?.owned ?? null;
  } catch {
    return null;
  }
}

async function runSeed(seed: number): Promise<void> {
  const t = tempDir('shock-faults-');
  const cluster = startCluster({ postgres: true });
  const members: Member[] = [];
  const history = newHistory(seed);
  const rng = mulberry32(seed);
  const setup: GroupSetup = {
    dir: t.dir,
    natsUrl: cluster.natsUrls.join(','),
    postgresUrl: cluster.postgresUrl!,
    streamPrefix: 'faults',
    schema: 'faults',
    partitions,
    leaseMs,
  };
  const config = writeConfig(t.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 1_000_000, burst: 1_000_000 }],
    http: { observabilityPublic: true },
    log: {
      partitions,
      engine: 'jetstream',
      jetstream: { servers: cluster.natsUrls, streamPrefix: setup.streamPrefix, replicas: 3 },
    },
    consumers: { workers: 2, leaseMs, handler: groupHandlerPath },
    sink: { engine: 'postgres', postgres: { url: setup.postgresUrl, schema: setup.schema } },
  });
  const offsetsLog = { close: async () => undefined } as { close(): Promise<void> };
  try {
    for (const [host, role] of [
      ['g1', 'gateway'],
      ['g2', 'gateway'],
      ['c1', 'consumer'],
      ['c2', 'consumer'],
    ] as const) {
      const address = cluster.host(host);
      const m = { host, role, address };
      members.push({ ...m, proc: await startRetrying(cluster, t.dir, config, m) });
    }
    const gateways = members.filter((m) => m.role === 'gateway');
    const consumers = members.filter((m) => m.role === 'consumer');
    const reader = await openJetStreamLog({
      servers: cluster.natsUrls,
      partitions,
      streamPrefix: setup.streamPrefix,
      readOnly: true,
    });
    offsetsLog.close = () => reader.close();
    const t0 = Date.now();
    const sampler = sampleOffsets(reader, 'sink', history, t0);
    let stopped = false;
    const clients = Array.from({ length: keys }, (_, k) =>
      keyClient(
        `key${k}`,
        () => gateways.map((g) => g.proc.url),
        mulberry32(seed * 100 + k),
        history,
        () => stopped,
        t0,
      ),
    );
    await sleep(settleMs);
    const steps = faultSteps(cluster, members, t.dir, config, history, t0);
    for (const kind of schedule(rng, Object.keys(steps))) {
      await steps[kind as keyof typeof steps](rng);
      await sleep(settleMs);
    }
    stopped = true;
    await Promise.all(clients);

    // Healed: the consumers drain everything acknowledged, and the group settles on its two members.
    const acked = new Set(history.acked.map((a) => a.id));
    await waitUntil(
      async () => {
        const rows = await sinkRows(setup);
        return [...acked].every((id) => rows.some((r) => r.id === `acme/${id}`));
      },
      120_000,
      1000,
    ).catch(() => undefined); // the checker below names what is missing
    let owned: number[][] = [];
    await waitUntil(
      async () => {
        owned = (await Promise.all(consumers.map(ownedBy))).map((o) => o ?? []);
        return owned.flat().length === partitions;
      },
      60_000,
      500,
    ).catch(() => undefined);
    await sleep(500);
    sampler.stop();
    const verdict = check(history, countsOf(await sinkRows(setup)), owned, partitions);
    const file = writeHistory(history, verdict);
    assert.ok(history.acked.length >= 100, `the clients got answers through the faults (${history.acked.length})`);
    assert.ok(
      verdict.valid,
      `seed ${seed}: ${JSON.stringify({ ...verdict, lost: verdict.lost.slice(0, 20) })} (${file})`,
    );
    for (const m of members.splice(0)) await m.proc.stop('SIGTERM');
  } finally {
    for (const m of members) await m.proc.stop('SIGKILL');
    await offsetsLog.close().catch(() => undefined);
    cluster.down();
    t.cleanup();
  }
}

for (const seed of [1, 2, 3]) {
  test(
    `cluster faults - seed ${seed}: every 202 once, per-key order, offsets forward, one owner each`,
    { skip, timeout: 420_000 },
    () => runSeed(seed),
  );
}
