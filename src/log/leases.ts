/**
 * Partition ownership for a consumer group spread over processes and machines: the engine-neutral face.
 *
 * Each partition of a group has at most one owner at a time. A member of the group holds a lease per partition it
 * owns; leases expire unless renewed (a crashed or stalled process loses them after the lease time), and every
 * member computes the same target assignment from the same set of live members (`assignPartitions`), so a
 * rebalance moves only the partitions whose target owner changed — the others keep consuming (cooperative
 * rebalancing, as Kafka's cooperative-sticky assignor). A lease decides who *should* consume; the sink's fencing
 * epochs stay the last line of defence against a former owner that does not know yet that it lost its lease.
 *
 * The JetStream engine keeps leases in a key-value bucket (jetstream/leases.ts). The embedded file log has one
 * process, which owns every partition: it needs no leases.
 */
import { createHash } from 'node:crypto';

/** Why a member gives a partition up. */
export type RevokeReason =
  /** The target assignment moved it to another member: stop, commit, then the lease is released. */
  | 'rebalance'
  /** The lease could not be renewed in time (expired or taken): stop at once; the sink fences a late write. */
  | 'lost'
  /** The member leaves the group (shutdown). */
  | 'leave';

export interface GroupMemberCallbacks {
  /** The member now holds the lease of `partition`: start consuming it. */
  acquired(partition: number): Promise<void> | void;
  /**
   * The member gives `partition` up. For 'rebalance' and 'leave' the lease is released only after this resolves
   * (the consumer has stopped and committed), so the next owner starts after it; for 'lost' it is already gone.
   */
  revoked(partition: number, reason: RevokeReason): Promise<void> | void;
}

/** One partition's lease as a member sees it. */
export interface LeaseView {
  partition: number;
  owner: string;
  /** ms since this member last saw the lease written (acquired or renewed); -1 when unknown. */
  ageMs: number;
}

/** What `/v1/stats` and `/metrics` show of a member. */
export interface MembershipStats {
  group: string;
  memberId: string;
  /** Live members of the group, sorted. */
  members: string[];
  /** Partitions this member holds now. */
  owned: number[];
  leases: LeaseView[];
  /** Times the owned set changed (acquired or revoked). */
  rebalances: number;
  /** Leases this member lost without giving them up (expired, stalled, cut off). */
  leasesLost: number;
}

export interface GroupMember {
  readonly group: string;
  readonly memberId: string;
  owned(): ReadonlySet<number>;
  stats(): MembershipStats;
  /**
   * The consumer of `partition` found itself fenced by a newer owner in the sink (it has stopped): the member
   * counts the lease lost, releases it if it still holds it, and lets the lease protocol decide the owner again.
   * `revoked(partition, 'lost')` is called as for any lost lease. A no-op for a partition not owned.
   */
  surrender(partition: number): Promise<void>;
  /** Revokes every owned partition ('leave'), releases the leases and leaves the group. Idempotent. */
  leave(): Promise<void>;
}

/**
 * The target owner of every partition for a set of live members: balanced (each member gets ⌊P/N⌋ or ⌈P/N⌉
 * partitions, the larger share to the first members in sorted order) and sticky by rendezvous hashing (each
 * partition goes to the highest-ranked member for it that still has room), so adding or removing one member moves
 * about P/N partitions, not all of them. Deterministic: every member computes the same answer from the same set.
 * Returns `owner[partition]`; empty members → every entry undefined.
 */
export function assignPartitions(members: readonly string[], partitions: number): (string | undefined)[] {
  const sorted = [...new Set(members)].sort();
  const owner: (string | undefined)[] = new Array(partitions).fill(undefined);
  if (sorted.length === 0) return owner;
  const base = Math.floor(partitions / sorted.length);
  const room = new Map(sorted.map((m, i) => [m, base + (i < partitions % sorted.length ? 1 : 0)]));
  // Every (partition, member) pair by score, best first: a pair is taken while both are free.
  const pairs: { p: number; m: string; score: number }[] = [];
  for (let p = 0; p < partitions; p++) for (const m of sorted) pairs.push({ p, m, score: rank(m, p) });
  pairs.sort((a, b) => b.score - a.score || a.p - b.p || (a.m < b.m ? -1 : 1));
  for (const { p, m } of pairs) {
    if (owner[p] !== undefined || (room.get(m) ?? 0) === 0) continue;
    owner[p] = m;
    room.set(m, (room.get(m) ?? 0) - 1);
  }
  return owner;
}

/** The rendezvous score of member `m` for partition `p`: a hash, the same in every process. */
function rank(m: string, p: number): number {
  return createHash('sha256').update(`${m}\u0000${p}`).digest().readUInt32BE(0);
}
