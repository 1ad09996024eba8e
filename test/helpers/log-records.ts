/**
 * Helpers of the file log tests: deterministic records, reading a whole partition, and comparing records.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AppendRecord, Log, LogRecord } from '../../src/log/index.js';

/** Reads every record of `partition` from its start to its end offset. */
export async function readAll(log: Log, partition: number): Promise<LogRecord[]> {
  const { offsetStart, offsetEnd } = log.state(partition);
  const out: LogRecord[] = [];
  let next = offsetStart;
  for (let guard = 0; next < offsetEnd && guard < 1_000_000; guard++) {
    const batch = await log.read(partition, next, { recordsMax: 1000 });
    assert.ok(batch.length > 0, `read at ${next} below the end ${offsetEnd} returns records`);
    out.push(...batch);
    next = batch[batch.length - 1].offset + 1;
  }
  return out;
}

/** Asserts `actual` equals the appended `expected` records, offset by offset, from `offsetFirst`. */
export function assertSameRecords(
  actual: readonly LogRecord[],
  expected: readonly AppendRecord[],
  offsetFirst = 0,
): void {
  assert.equal(actual.length, expected.length, 'record count');
  actual.forEach((r, i) => {
    assert.equal(r.offset, offsetFirst + i, 'dense offsets');
    assert.ok(r.key.equals(expected[i].key), `key of offset ${r.offset}`);
    assert.ok(r.value.equals(expected[i].value), `value of offset ${r.offset}`);
    if (expected[i].timestampMs !== undefined) assert.equal(r.timestampMs, expected[i].timestampMs);
  });
}

/** Any record: short key and value bytes, a timestamp up to 2^42 ms. */
export const arbitraryRecord: fc.Arbitrary<AppendRecord> = fc.record({
  key: fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)),
  value: fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)),
  timestampMs: fc.integer({ min: 0, max: 2 ** 42 }),
});

/** Append calls over 3 partitions: (partition, records, issued together with the next call). */
export const arbitraryAppends = fc.array(
  fc.tuple(fc.nat(2), fc.array(arbitraryRecord, { minLength: 1, maxLength: 4 }), fc.boolean()),
  { maxLength: 25 },
);
