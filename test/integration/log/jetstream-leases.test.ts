/**
 * Partition leases of a consumer group in a real nats-server's key-value bucket: members share the partitions one
 * owner at a time, balanced; a member that joins or leaves moves only the partitions whose target changed; a member
 * that crashes or is paused past its lease (SIGSTOP) loses its partitions to the others, and learns it on SIGCONT.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { connect, type NatsConnection } from 'nats';
import { joinGroup } from '../../../src/log/jetstream/leases.js';
import type { GroupMember, RevokeReason } from '../../../src/log/leases.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../../helpers/nats.js';
import { skipUnlessAvailable } from '../../helpers/dependency.js';
import { tsxArgs } from '../../helpers/cli.js';
import { waitUntil } from '../../helpers/cell-serve.js';

const skip = skipUnlessAvailable(natsSkipReason() || undefined);
const PARTITIONS = 8;
const LEASE_MS = 1500;
let server: NatsServer | undefined;

before(async () => {
  if (!skip) server = await startNatsServer();
});
after(async () => {
  await server?.cleanup();
});

/** Who owns what, as the members' callbacks report it; an acquire of a partition someone holds is recorded. */
class Ownership {
  readonly owner = new Map<number, string>();
  readonly overlaps: string[] = [];
  readonly revokes: { member: string; partition: number; reason: RevokeReason }[] = [];
  callbacks(member: string) {
    return {
      acquired: (p: number) => {
        const prior = this.owner.get(p);
        if (prior !== undefined) this.overlaps.push(`${member} acquired ${p} held by ${prior}`);
        this.owner.set(p, member);
      },
      revoked: (p: number, reason: RevokeReason) => {
        this.revokes.push({ member, partition: p, reason });
        if (this.owner.get(p) === member) this.owner.delete(p);
      },
    };
  }
  countOf(member: string): number {
    return [...this.owner.values()].filter((m) => m === member).length;
  }
}

async function member(nc: NatsConnection, prefix: string, id: string, ownership: Ownership): Promise<GroupMember> {
  return joinGroup(
    { nc, streamPrefix: prefix, replicas: 1, partitions: PARTITIONS, group: 'g', memberId: id, leaseMs: LEASE_MS },
    ownership.callbacks(id),
  );
}

const balanced = (o: Ownership, ids: string[]) =>
  o.owner.size === PARTITIONS &&
  ids.every(
    (id) => o.countOf(id) >= Math.floor(PARTITIONS / ids.length) && o.countOf(id) <= Math.ceil(PARTITIONS / ids.length),
  );

test(
  'leases - members share the partitions one owner at a time; join and leave move only what changes',
  { skip },
  async () => {
    const conns = await Promise.all([1, 2, 3].map(() => connect({ servers: server!.url })));
    const o = new Ownership();
    try {
      const a = await member(conns[0], 'lt1', 'a', o);
      await waitUntil(() => o.countOf('a') === PARTITIONS, 10_000);
      const b = await member(conns[1], 'lt1', 'b', o);
      await waitUntil(() => balanced(o, ['a', 'b']), 10_000);
      const c = await member(conns[2], 'lt1', 'c', o);
      await waitUntil(() => balanced(o, ['a', 'b', 'c']), 10_000);
      assert.deepEqual(o.overlaps, [], 'no partition had two owners');
      assert.ok(o.revokes.every((r) => r.reason === 'rebalance'));
      const before = o.revokes.length;
      // The stats name the same owners.
      assert.deepEqual(
        c.stats().owned,
        [...o.owner]
          .filter(([, m]) => m === 'c')
          .map(([p]) => p)
          .sort((x, y) => x - y),
      );
      assert.deepEqual(c.stats().members, ['a', 'b', 'c']);

      await b.leave();
      await waitUntil(() => balanced(o, ['a', 'c']), 10_000);
      const moved = o.revokes.slice(before);
      assert.ok(moved.every((r) => r.member === 'b' || r.reason === 'rebalance'));
      assert.ok(
        moved.filter((r) => r.member !== 'b').length <= 2,
        `a leaving member moves about its own share, not every partition: ${JSON.stringify(moved)}`,
      );
      assert.deepEqual(o.overlaps, []);
      await a.leave();
      await c.leave();
      assert.equal(o.owner.size, 0, 'every partition was given up at leave');
    } finally {
      await Promise.all(conns.map((nc) => nc.close()));
    }
  },
);

test(
  'leases - a crashed member (no leave) loses its partitions to the others after the lease time',
  { skip },
  async () => {
    const conns = await Promise.all([1, 2].map(() => connect({ servers: server!.url })));
    const o = new Ownership();
    try {
      const a = await member(conns[0], 'lt2', 'a', o);
      await member(conns[1], 'lt2', 'b', o);
      await waitUntil(() => balanced(o, ['a', 'b']), 10_000);
      const started = Date.now();
      await conns[1].close(); // b dies: no heartbeat, no release
      await waitUntil(() => o.countOf('a') === PARTITIONS, 15_000);
      assert.ok(Date.now() - started >= LEASE_MS * 0.5, 'taken over only once the leases expired');
      await a.leave();
    } finally {
      await Promise.all(conns.map((nc) => (nc.isClosed() ? undefined : nc.close())));
    }
  },
);

interface ChildMember {
  child: ChildProcess;
  events: { event: string; partition?: number; reason?: string }[];
}

function childMember(prefix: string, id: string): ChildMember {
  const args = tsxArgs('test/helpers/lease-member-child.ts', [
    server!.url,
    prefix,
    String(PARTITIONS),
    'g',
    id,
    String(LEASE_MS),
  ]);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const m: ChildMember = { child, events: [] };
  createInterface({ input: child.stdout! }).on('line', (line) => m.events.push(JSON.parse(line)));
  return m;
}

test(
  'leases - a member paused past its lease (SIGSTOP) loses them, and on SIGCONT it is told so',
  { skip },
  async () => {
    const nc = await connect({ servers: server!.url });
    const o = new Ownership();
    const paused = childMember('lt3', 'p');
    try {
      await waitUntil(() => paused.events.some((e) => e.event === 'joined'), 20_000);
      const a = await member(nc, 'lt3', 'a', o);
      await waitUntil(() => o.countOf('a') === PARTITIONS / 2, 10_000);
      const held = () => {
        const set = new Set<number>();
        for (const e of paused.events) {
          if (e.event === 'acquired') set.add(e.partition!);
          if (e.event === 'revoked') set.delete(e.partition!);
        }
        return set;
      };
      await waitUntil(() => held().size === PARTITIONS / 2, 10_000);
      paused.child.kill('SIGSTOP');
      await waitUntil(() => o.countOf('a') === PARTITIONS, 15_000);
      paused.child.kill('SIGCONT');
      await waitUntil(() => held().size === 0 || paused.events.some((e) => e.reason === 'lost'), 10_000);
      assert.ok(
        paused.events.some((e) => e.event === 'revoked' && e.reason === 'lost'),
        'the paused member learns it lost its leases',
      );
      // Then the group rebalances back to two members, each partition still with one owner.
      await waitUntil(() => held().size === PARTITIONS / 2 && o.countOf('a') === PARTITIONS / 2, 15_000);
      for (const p of held()) assert.notEqual(o.owner.get(p), 'a', `partition ${p} has two owners`);
      await a.leave();
    } finally {
      paused.child.kill('SIGCONT');
      paused.child.kill('SIGKILL');
      await nc.close();
    }
  },
);
