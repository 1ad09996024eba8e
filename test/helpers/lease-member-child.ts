/**
 * A consumer-group member in a child process, for lease tests that pause or kill a real process: joins the group
 * given in argv and prints one JSON line per event on stdout (`{"event":"acquired"|"revoked", partition, reason}`).
 * argv: natsUrl streamPrefix partitions group memberId leaseMs
 */
import { connect } from 'nats';
import { joinGroup } from '../../src/log/jetstream/leases.js';

const [url, streamPrefix, partitions, group, memberId, leaseMs] = process.argv.slice(2);
const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
const say = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};
const member = await joinGroup(
  { nc, streamPrefix, replicas: 1, partitions: Number(partitions), group, memberId, leaseMs: Number(leaseMs) },
  {
    acquired: (partition) => say({ event: 'acquired', partition }),
    revoked: (partition, reason) => say({ event: 'revoked', partition, reason }),
  },
);
say({ event: 'joined', memberId: member.memberId });
process.on('SIGTERM', () => {
  void member.leave().then(() => nc.close().then(() => process.exit(0)));
});
