/**
 * Joining a consumer group of a JetStream log from the log's own options: the membership opens a connection of its
 * own (so its heartbeats never queue behind appends or fetches), keeps its leases in `<streamPrefix>_leases`
 * (leases.ts) and closes the connection when it leaves.
 */
import { connect, type NatsConnection } from 'nats';
import type { GroupMember, GroupMemberCallbacks } from '../leases.js';
import { translateNatsError } from './errors.js';
import { joinGroup } from './leases.js';
import { resolveJetStreamOptions, type JetStreamLogOptions } from './options.js';

/** Who joins: the group, this member's id (default `<host>-<pid>-<random>`) and the lease time. */
export interface JetStreamGroupOptions {
  group: string;
  memberId?: string;
  leaseMs: number;
  /** Refuse to join when another member is live, saying this (leases.ts `soleMemberReason`). */
  soleMemberReason?: string;
}

/** Joins `group.group` on the servers of `log`; the callbacks start and stop the partitions this member owns. */
export async function joinJetStreamGroup(
  log: JetStreamLogOptions,
  group: JetStreamGroupOptions,
  callbacks: GroupMemberCallbacks,
): Promise<GroupMember> {
  const config = resolveJetStreamOptions(log);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: config.servers,
      name: `${config.connectionName}-group`,
      timeout: config.connectTimeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
  } catch (err) {
    throw translateNatsError(err, `connect to NATS at ${config.servers.join(', ')}`, { servers: config.servers });
  }
  try {
    const member = await joinGroup(
      {
        nc,
        streamPrefix: config.streamPrefix,
        replicas: config.replicas,
        partitions: config.partitions,
        group: group.group,
        memberId: group.memberId,
        leaseMs: group.leaseMs,
        soleMemberReason: group.soleMemberReason,
      },
      callbacks,
    );
    return withConnection(member, nc);
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw err;
  }
}

/** The member, whose `leave` also closes its connection. */
function withConnection(member: GroupMember, nc: NatsConnection): GroupMember {
  let leaving: Promise<void> | undefined;
  return {
    group: member.group,
    memberId: member.memberId,
    owned: () => member.owned(),
    stats: () => member.stats(),
    surrender: (p) => member.surrender(p),
    leave: () => {
      leaving ??= member.leave().finally(() => nc.close().catch(() => undefined));
      return leaving;
    },
  };
}
