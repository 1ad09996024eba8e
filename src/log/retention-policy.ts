/**
 * The retention policy both log engines share (docs/log.md, "Retention"), named as JetStream names its own:
 *
 * - `interest` (the default): a record is **consumed** once every known consumer group has committed an offset past
 *   it. Only consumed records may be removed; `maxAge`/`maxBytes` bound how long and how much consumed history stays.
 *   Unconsumed records are never removed: when they reach `maxBytes` (or the disk's free-space floor) the log is
 *   full and refuses appends with SHOCK_LOG_FULL until the consumers catch up.
 * - `limits`: `maxAge`/`maxBytes` remove the oldest records whoever is behind (Kafka's retention, NATS's limits
 *   retention); a group behind resumes at the oldest record left and the skip is counted
 *   (`removedBeforeConsumed`, `shock_consumer_removed_before_consumed_total`).
 */
import { shockError, type ShockError } from '../base/index.js';

/** `interest`: keep every record until every known group has consumed it. `limits`: age and size alone decide. */
export type RetentionPolicy = 'interest' | 'limits';
export const RETENTION_POLICIES: readonly RetentionPolicy[] = ['interest', 'limits'];
/** The policy when none is configured: nothing acknowledged is removed before it is consumed. */
export const RETENTION_POLICY_DEFAULT: RetentionPolicy = 'interest';

/** Problems of a configured policy (empty when valid). */
export function retentionPolicyProblems(policy: unknown): { option: string; problem: string }[] {
  if (policy === undefined || RETENTION_POLICIES.includes(policy as RetentionPolicy)) return [];
  return [
    {
      option: 'policy',
      problem: `must be "interest" (keep every record until every consumer group has consumed it; the default) or "limits" (maxAge/maxBytes remove records whoever is behind), got ${JSON.stringify(policy)}`,
    },
  ];
}

/** Why a partition is full (the details of SHOCK_LOG_FULL). */
export interface LogFullState {
  partition: number;
  /** Bytes not yet consumed by every known group (an estimate for JetStream, from its mean record size). */
  unconsumedBytes: number;
  /** The configured `maxBytes`, or null when the disk floor is the reason. */
  retentionBytesMax: number | null;
  /** The disk's free bytes when they are below the floor, else null. */
  diskFreeBytes: number | null;
  diskFreeBytesMin: number | null;
}

/** SHOCK_LOG_FULL for one partition: retriable, the ingress answers 503 with Retry-After. */
export function logFullError(s: LogFullState): ShockError {
  const why =
    s.diskFreeBytes !== null
      ? `the disk holding the log has ${s.diskFreeBytes} bytes free, below its floor of ${s.diskFreeBytesMin}`
      : `its unconsumed records take ${s.unconsumedBytes} bytes, the limit is ${s.retentionBytesMax} (maxBytes)`;
  return shockError('SHOCK_LOG_FULL', `partition ${s.partition} of the log is full: ${why}`, {
    ...s,
    hint: 'the consumers are behind: it clears by itself once they commit; check their lag (/v1/stats), add consumers, or raise maxBytes',
  });
}
