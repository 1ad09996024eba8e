/**
 * Partition leases of a consumer group in a JetStream key-value bucket `<streamPrefix>_leases` (the face and the
 * assignment rule: ../leases.ts). The bucket's `max_age` is the lease time, so the server itself forgets a member or
 * a lease that was not written again in time — no clock is compared across machines.
 *
 * Keys (group as base64url, within the key alphabet):
 * - `member.<group>.<memberId>` — a live member, written at every heartbeat, deleted when it leaves.
 * - `lease.<group>.<partition>` — `{"owner": memberId, "atMs": T}`: taken with create (only if absent), renewed with
 *   update at the revision this member wrote last (compare-and-set), released with a delete at that revision.
 *
 * Every heartbeat (lease time / 3) a member writes its member key, lists the live members, computes the target
 * assignment, renews what it keeps, gives up (then releases) what moved to another member, and takes what the
 * target gives it once it is free. A watch on the bucket runs a round at once when a member joins or leaves or a
 * lease is released, so a rebalance takes a round trip, not a heartbeat. A member that cannot renew a lease for a
 * whole lease time (stalled, cut off, SIGSTOP) counts it lost and stops that partition without waiting for NATS;
 * the sink's fencing epoch refuses anything it still tries to write after another member claimed the partition.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { KvWatchInclude, type JetStreamManager, type KV, type KvEntry, type NatsConnection } from 'nats';
import { shockError } from '../../base/index.js';
import { assignPartitions, type GroupMember, type GroupMemberCallbacks, type LeaseView } from '../leases.js';
import type { MembershipStats, RevokeReason } from '../leases.js';
import { translateNatsError } from './errors.js';

export interface JetStreamLeaseOptions {
  nc: NatsConnection;
  /** The log's stream prefix: the bucket is `<streamPrefix>_leases`. */
  streamPrefix: string;
  /** Replicas of the bucket (as the log's streams). */
  replicas: number;
  partitions: number;
  group: string;
  /** Unique in the group; default `<host>-<pid>-<random>`. */
  memberId?: string;
  /** How long a lease and a member live without being written again (the bucket's max_age). */
  leaseMs: number;
  /**
   * Set when this member must be the group's only one (its sink belongs to one process, e.g. an SQLite file): the
   * join is refused with SHOCK_CONFIG_INVALID and this text when another live member is found, before any lease is
   * taken. (Two such processes starting within one heartbeat of each other can both pass: the check is a guard.)
   */
  soleMemberReason?: string;
}

/** A lease this member holds: the revision it wrote last and when (monotonic ms). */
interface Held {
  revision: number;
  renewedAtMs: number;
}

const LEASE_MS_MIN = 1000;

/** Joins `group`: from here on the callbacks start and stop the partitions this member owns. */
export async function joinGroup(options: JetStreamLeaseOptions, callbacks: GroupMemberCallbacks): Promise<GroupMember> {
  if (!Number.isSafeInteger(options.leaseMs) || options.leaseMs < LEASE_MS_MIN) {
    throw shockError('SHOCK_CONFIG_INVALID', `the lease time must be ≥ ${LEASE_MS_MIN} ms, got ${options.leaseMs}`);
  }
  const kv = await openLeaseBucket(options);
  const member = new KvGroupMember(kv, options, callbacks);
  await member.start();
  return member;
}

async function openLeaseBucket(options: JetStreamLeaseOptions): Promise<KV> {
  const bucket = `${options.streamPrefix}_leases`;
  try {
    const js = options.nc.jetstream();
    const kv = await js.views.kv(bucket, { history: 1, ttl: options.leaseMs, replicas: options.replicas });
    const jsm: JetStreamManager = await options.nc.jetstreamManager();
    const info = await jsm.streams.info(`KV_${bucket}`);
    const ttlMs = Math.round(info.config.max_age / 1e6);
    if (ttlMs !== options.leaseMs) {
      throw shockError(
        'SHOCK_CONFIG_INVALID',
        `the lease bucket ${bucket} has a lease time of ${ttlMs} ms, this process asks for ${options.leaseMs} ms: ` +
          'every member of a group must use the same consumers.leaseMs',
        { bucket, leaseMs: options.leaseMs, bucketLeaseMs: ttlMs },
      );
    }
    return kv;
  } catch (err) {
    throw translateNatsError(err, `open the lease bucket ${bucket}`, { bucket });
  }
}

export function defaultMemberId(): string {
  const host = hostname()
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, 40);
  return `${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function groupToken(group: string): string {
  return Buffer.from(group, 'utf8').toString('base64url');
}

class KvGroupMember implements GroupMember {
  readonly group: string;
  readonly memberId: string;
  private readonly held = new Map<number, Held>();
  private readonly prefix: { member: string; lease: string };
  private readonly heartbeatMs: number;
  private timer: NodeJS.Timeout | undefined;
  private watch: Awaited<ReturnType<KV['watch']>> | undefined;
  private round: Promise<void> | undefined;
  private again = false;
  private leaving: Promise<void> | undefined;
  private members: string[] = [];
  private leases: LeaseView[] = [];
  private rebalances = 0;
  private leasesLost = 0;

  constructor(
    private readonly kv: KV,
    private readonly options: JetStreamLeaseOptions,
    private readonly callbacks: GroupMemberCallbacks,
  ) {
    this.group = options.group;
    this.memberId = options.memberId ?? defaultMemberId();
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(this.memberId)) {
      throw shockError('SHOCK_CONFIG_INVALID', `a member id must be 1-100 of [A-Za-z0-9_-], got "${this.memberId}"`);
    }
    const g = groupToken(options.group);
    this.prefix = { member: `member.${g}.`, lease: `lease.${g}.` };
    this.heartbeatMs = Math.max(250, Math.floor(options.leaseMs / 3));
  }

  async start(): Promise<void> {
    if (this.options.soleMemberReason !== undefined) {
      const others = (await this.liveMembers()).filter((m) => m !== this.memberId);
      if (others.length > 0) {
        throw shockError('SHOCK_CONFIG_INVALID', this.options.soleMemberReason, {
          group: this.group,
          members: others,
        });
      }
    }
    this.watch = await this.kv.watch({ key: '>', include: KvWatchInclude.UpdatesOnly });
    void this.follow();
    await this.runRound();
    this.timer = setInterval(() => void this.runRound(), this.heartbeatMs);
    this.timer.unref();
  }

  owned(): ReadonlySet<number> {
    return new Set(this.held.keys());
  }

  stats(): MembershipStats {
    return {
      group: this.group,
      memberId: this.memberId,
      members: [...this.members],
      owned: [...this.held.keys()].sort((a, b) => a - b),
      leases: this.leases.map((l) => ({ ...l })),
      rebalances: this.rebalances,
      leasesLost: this.leasesLost,
    };
  }

  leave(): Promise<void> {
    this.leaving ??= this.leaveNow();
    return this.leaving;
  }

  private async leaveNow(): Promise<void> {
    clearInterval(this.timer);
    this.watch?.stop();
    await this.round;
    for (const p of [...this.held.keys()]) await this.release(p, 'leave');
    await this.kv.delete(`${this.prefix.member}${this.memberId}`).catch(() => undefined);
  }

  /** Runs a round at once when anything of this group changes (a member or a lease came or went). */
  private async follow(): Promise<void> {
    try {
      for await (const entry of this.watch ?? []) if (this.changesTarget(entry)) void this.runRound();
    } catch {
      // The watch ends with the connection or at leave; the heartbeat keeps the rounds going.
    }
  }

  /**
   * Whether a bucket change calls for a round now: a member came or went, or a lease was released. Heartbeats and
   * renewals (this member's and the others') change nothing and wait for the next heartbeat.
   */
  private changesTarget(entry: KvEntry): boolean {
    const gone = entry.operation !== 'PUT';
    if (entry.key.startsWith(this.prefix.lease)) return gone;
    if (!entry.key.startsWith(this.prefix.member)) return false;
    const id = entry.key.slice(this.prefix.member.length);
    return id !== this.memberId && (gone || !this.members.includes(id));
  }

  /** One round at a time; a request during a round runs one more round after it. */
  private runRound(): Promise<void> {
    if (this.leaving) return Promise.resolve();
    if (this.round) {
      this.again = true;
      return this.round;
    }
    this.round = (async () => {
      do {
        this.again = false;
        await this.roundOnce().catch(() => undefined);
      } while (this.again && !this.leaving);
      this.round = undefined;
    })();
    return this.round;
  }

  private async roundOnce(): Promise<void> {
    this.expireLocally();
    await this.kv.put(`${this.prefix.member}${this.memberId}`, JSON.stringify({ atMs: Date.now() }));
    this.members = await this.liveMembers();
    const target = assignPartitions(this.members, this.options.partitions);
    for (const p of [...this.held.keys()]) {
      if (target[p] === this.memberId) await this.renew(p);
      else await this.release(p, 'rebalance');
    }
    for (let p = 0; p < target.length; p++) {
      if (target[p] === this.memberId && !this.held.has(p) && !this.leaving) await this.take(p);
    }
    this.leases = await this.readLeases();
  }

  /** A lease not renewed for a whole lease time is gone on the server too: stop without asking NATS. */
  private expireLocally(): void {
    const now = performance.now();
    for (const [p, h] of this.held) {
      if (now - h.renewedAtMs >= this.options.leaseMs) void this.lose(p);
    }
  }

  /** The live members, each once (a key listing can name a key twice while it is being rewritten). */
  private async liveMembers(): Promise<string[]> {
    const out = new Set<string>([this.memberId]);
    for await (const key of await this.kv.keys(`${this.prefix.member}*`)) out.add(key.slice(this.prefix.member.length));
    return [...out].sort();
  }

  private leaseValue(): string {
    return JSON.stringify({ owner: this.memberId, atMs: Date.now() });
  }

  private async take(p: number): Promise<void> {
    let revision: number;
    try {
      revision = await this.kv.create(`${this.prefix.lease}${p}`, this.leaseValue());
    } catch {
      return; // held by another member: it releases it when it sees the same target
    }
    this.held.set(p, { revision, renewedAtMs: performance.now() });
    this.rebalances++;
    try {
      await this.callbacks.acquired(p);
    } catch {
      await this.release(p, 'rebalance');
    }
  }

  private async renew(p: number): Promise<void> {
    const h = this.held.get(p);
    if (!h) return;
    const startedMs = performance.now();
    try {
      h.revision = await this.kv.update(`${this.prefix.lease}${p}`, this.leaseValue(), h.revision);
      h.renewedAtMs = startedMs;
    } catch (err) {
      // Wrong revision: the lease expired and someone else may hold it. A timeout: try again next round, unless
      // the lease time has run out meanwhile (expireLocally).
      if (isWrongRevision(err)) await this.lose(p);
    }
  }

  async surrender(p: number): Promise<void> {
    const h = this.held.get(p);
    if (!h) return;
    await this.lose(p);
    // Still this member's lease (a writer outside the group fenced it): free it for the next round's owner.
    await this.kv.delete(`${this.prefix.lease}${p}`, { previousSeq: h.revision }).catch(() => undefined);
    void this.runRound();
  }

  private async lose(p: number): Promise<void> {
    if (!this.held.delete(p)) return;
    this.leasesLost++;
    this.rebalances++;
    await Promise.resolve(this.callbacks.revoked(p, 'lost')).catch(() => undefined);
  }

  /** Stops the partition first, then deletes the lease at this member's revision (never someone else's). */
  private async release(p: number, reason: RevokeReason): Promise<void> {
    const h = this.held.get(p);
    if (!h) return;
    this.held.delete(p);
    this.rebalances++;
    await Promise.resolve(this.callbacks.revoked(p, reason)).catch(() => undefined);
    await this.kv.delete(`${this.prefix.lease}${p}`, { previousSeq: h.revision }).catch(() => undefined);
  }

  private async readLeases(): Promise<LeaseView[]> {
    const out: LeaseView[] = [];
    for (let p = 0; p < this.options.partitions; p++) {
      const e = await this.kv.get(`${this.prefix.lease}${p}`).catch(() => null);
      const view = leaseOf(p, e);
      if (view) out.push(view);
    }
    return out;
  }
}

function leaseOf(partition: number, e: KvEntry | null): LeaseView | undefined {
  if (!e || e.operation !== 'PUT') return undefined;
  try {
    const v = JSON.parse(e.string()) as { owner?: unknown };
    if (typeof v.owner !== 'string') return undefined;
    return { partition, owner: v.owner, ageMs: Math.max(0, Date.now() - e.created.getTime()) };
  } catch {
    return undefined;
  }
}

function isWrongRevision(err: unknown): boolean {
  const text = String((err as { message?: unknown })?.message ?? err);
  return /wrong last sequence|10071|key exists|not found/i.test(text);
}
