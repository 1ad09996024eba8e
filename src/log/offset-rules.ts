/**
 * The rules of `OffsetStore.commit` (src/log/log.ts) that every backend enforces the same way, with the same codes
 * and words: an offset within [0, end of the partition], and offsets only move forward unless `force` is set.
 */
import { assertSafeInteger, shockError, type ShockError } from '../base/index.js';

/** The commit's range rule: SHOCK_LOG_OFFSET_OUT_OF_RANGE when `offset` is outside [0, offsetEnd], else undefined. */
export function checkCommitRange(
  group: string,
  partition: number,
  offset: number,
  bounds: { offsetStart: number; offsetEnd: number },
): ShockError | undefined {
  assertSafeInteger(offset, 'offset');
  if (offset >= 0 && offset <= bounds.offsetEnd) return undefined;
  return shockError(
    'SHOCK_LOG_OFFSET_OUT_OF_RANGE',
    `cannot commit offset ${offset}: partition ${partition} ends at ${bounds.offsetEnd}`,
    {
      group,
      partition,
      offset,
      offsetStart: bounds.offsetStart,
      offsetEnd: bounds.offsetEnd,
      hint: 'commit the offset after the last record processed (at most the end offset)',
    },
  );
}

/** The forward-only rule: SHOCK_LOG_OFFSET_OUT_OF_RANGE when `offset` is below the committed one without `force`. */
export function checkCommitForward(
  group: string,
  partition: number,
  offset: number,
  committed: number | undefined,
  force: boolean,
): ShockError | undefined {
  if (force || committed === undefined || offset >= committed) return undefined;
  return shockError(
    'SHOCK_LOG_OFFSET_OUT_OF_RANGE',
    `offsets only move forward: ${group}/${partition} is at ${committed}, got ${offset}`,
    { group, partition, offset, committed, hint: 'pass { force: true } to reset a group on purpose' },
  );
}
