/**
 * Read-only examination of a JetStream log, for `shock log inspect` (the file log's is ../file/inspect.ts): per
 * partition the stream's range, messages, bytes and retention limits as the server reports them; committed offsets
 * and lag per consumer group, with how many records retention removed before a group consumed them; with `verify`,
 * every record read back and its CRC-32C checked. Opens the log with `openJetStreamLogReader`: nothing is created
 * or changed (reads use ephemeral consumers that go away with the connection).
 */
import { isShockError } from '../../base/index.js';
import { openJetStreamLogReader, type JetStreamLog, type JetStreamPartitionInfo } from './jetstream-log.js';
import type { GroupReport } from '../file/inspect.js';
import { jetStreamLogDefaults, type JetStreamLogOptions } from './options.js';

/** A group's offsets, lag and retention gap per partition: the same report as the file log's. */
export type JetStreamGroupReport = GroupReport;

export interface JetStreamProblem {
  kind: 'corrupt';
  partition: number;
  stream: string;
  offset: number;
  detail: string;
}

export interface JetStreamLogReport {
  engine: 'jetstream';
  servers: string[];
  streamPrefix: string;
  partitions: number;
  partitionReports: JetStreamPartitionInfo[];
  groups: JetStreamGroupReport[];
  /** With `verify`: records read back and checked. */
  recordsVerified?: number;
  problems: JetStreamProblem[];
}

export type JetStreamTarget = Pick<
  JetStreamLogOptions,
  'servers' | 'streamPrefix' | 'requestTimeoutMs' | 'connectTimeoutMs'
>;

/** Examines every partition of the JetStream log at `target`; with `verify`, reads and checks every record. */
export async function inspectJetStreamLog(
  target: JetStreamTarget,
  opts: { verify?: boolean } = {},
): Promise<JetStreamLogReport> {
  const log = await openJetStreamLogReader(target);
  try {
    const partitionReports: JetStreamPartitionInfo[] = [];
    for (let p = 0; p < log.partitions; p++) partitionReports.push(await log.partitionInfo(p));
    const groups = Object.entries(log.offsets.list()).map(([group, byPartition]) => {
      const rows = Object.entries(byPartition).map(([ps, committed]) => {
        const { offsetStart, offsetEnd } = partitionReports[Number(ps)] ?? { offsetStart: 0, offsetEnd: 0 };
        return {
          partition: Number(ps),
          committed,
          lag: Math.max(0, offsetEnd - Math.max(committed, offsetStart)),
          behindRetention: committed < offsetStart,
          // Counted at earlier commits that jumped the start, plus what is missing now below the start.
          removedBeforeConsumed:
            log.offsets.removedBeforeConsumed(group, Number(ps)) + Math.max(0, offsetStart - committed),
        };
      });
      rows.sort((a, b) => a.partition - b.partition);
      return { group, partitions: rows, lagTotal: rows.reduce((s, x) => s + x.lag, 0) };
    });
    groups.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
    const problems: JetStreamProblem[] = [];
    let recordsVerified: number | undefined;
    if (opts.verify) {
      recordsVerified = 0;
      for (const info of partitionReports) recordsVerified += await verifyPartition(log, info, problems);
    }
    return {
      engine: 'jetstream',
      servers: typeof target.servers === 'string' ? [target.servers] : [...target.servers],
      streamPrefix: target.streamPrefix ?? jetStreamLogDefaults.streamPrefix,
      partitions: log.partitions,
      partitionReports,
      groups,
      ...(recordsVerified === undefined ? {} : { recordsVerified }),
      problems,
    };
  } finally {
    await log.close();
  }
}

/** Reads every record of one partition (each CRC-checked by the read); a record that fails is a problem. */
async function verifyPartition(log: JetStreamLog, info: JetStreamPartitionInfo, problems: JetStreamProblem[]) {
  let verified = 0;
  let next = info.offsetStart;
  while (next < info.offsetEnd) {
    try {
      const records = await log.read(info.partition, next, { recordsMax: 1000 });
      if (records.length === 0) break;
      verified += records.length;
      next = records[records.length - 1].offset + 1;
    } catch (err) {
      if (isShockError(err) && err.code === 'SHOCK_LOG_OFFSET_OUT_OF_RANGE') {
        // Retention removed records while we read: go on from the new start.
        const start = Number((err.details as { offsetStart?: unknown }).offsetStart);
        if (!(start > next)) throw err;
        next = start;
        continue;
      }
      if (!(isShockError(err) && err.code === 'SHOCK_LOG_CORRUPT_RECORD')) throw err;
      const offset = Number((err.details as { offset?: unknown }).offset ?? next);
      problems.push({ kind: 'corrupt', partition: info.partition, stream: info.stream, offset, detail: err.message });
      next = Math.max(next, offset) + 1;
    }
  }
  return verified;
}
