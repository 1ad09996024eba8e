import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  JOURNAL_HEADER_BYTES,
  decodeJournal,
  encodeJournalEntry,
  type JournalEntry,
} from '../../../src/log/file/journal.js';

const u64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const entry: fc.Arbitrary<JournalEntry> = fc.record({
  partition: fc.integer({ min: 0, max: 4095 }),
  segmentBase: u64,
  position: fc.integer({ min: 0, max: 2 ** 31 }),
  offsetFirst: u64,
  records: fc.integer({ min: 1, max: 10_000 }),
  payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
});

function same(actual: JournalEntry[], expected: JournalEntry[]): void {
  assert.equal(actual.length, expected.length, 'entry count');
  actual.forEach((e, i) => {
    const x = expected[i];
    assert.deepEqual(
      [e.partition, e.segmentBase, e.position, e.offsetFirst, e.records],
      [x.partition, x.segmentBase, x.position, x.offsetFirst, x.records],
    );
    assert.ok(e.payload.equals(x.payload), `payload of entry ${i}`);
  });
}

test('journal format - any sequence of entries round-trips, 64-bit fields included', () => {
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 20 }), (entries) => {
      const buf = Buffer.concat(entries.map(encodeJournalEntry));
      const { entries: got, validBytes } = decodeJournal(buf);
      same(got, entries);
      assert.equal(validBytes, buf.length);
    }),
  );
});

test('journal format - a file cut at any byte decodes to exactly the entries wholly before the cut', () => {
  fc.assert(
    fc.property(fc.array(entry, { minLength: 1, maxLength: 12 }), fc.nat(), (entries, pick) => {
      const encoded = entries.map(encodeJournalEntry);
      const buf = Buffer.concat(encoded);
      const cut = pick % (buf.length + 1);
      let whole = 0;
      for (let end = 0, i = 0; i < encoded.length; i++) {
        end += encoded[i].length;
        if (end <= cut) whole = i + 1;
      }
      const { entries: got, validBytes } = decodeJournal(buf.subarray(0, cut));
      same(got, entries.slice(0, whole));
      assert.ok(validBytes <= cut);
    }),
  );
});

test('journal format - one damaged byte anywhere stops decoding at the damaged entry, never yields it altered', () => {
  fc.assert(
    fc.property(
      fc.array(entry, { minLength: 1, maxLength: 12 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      fc.uint8Array({ maxLength: 64 }),
      (entries, pick, xor, trailing) => {
        const encoded = entries.map(encodeJournalEntry);
        // Bytes after the last entry (a preallocated or torn tail) must never decode as an entry either.
        const buf = Buffer.concat([...encoded, Buffer.from(trailing)]);
        const at = pick % buf.length;
        buf[at] ^= xor;
        let damaged = encoded.length;
        for (let start = 0, i = 0; i < encoded.length; i++) {
          if (at >= start && at < start + encoded[i].length) damaged = i;
          start += encoded[i].length;
        }
        const { entries: got } = decodeJournal(buf);
        same(got, entries.slice(0, damaged));
      },
    ),
  );
});

test('journal format - the header is 44 bytes and the payload follows it unchanged', () => {
  const payload = Buffer.from('frames');
  const buf = encodeJournalEntry({
    partition: 3,
    segmentBase: 2 ** 40,
    position: 7,
    offsetFirst: 2 ** 33 + 1,
    records: 2,
    payload,
  });
  assert.equal(buf.length, JOURNAL_HEADER_BYTES + payload.length);
  assert.equal(buf.readUInt32LE(0), 0x4a4b4853);
  assert.ok(buf.subarray(JOURNAL_HEADER_BYTES).equals(payload));
});
