import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '../../../src/log/index.js';

/** Bit-by-bit CRC-32C, the definition the table-driven version must agree with. */
function crc32cBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

test('crc32c - published check values (RFC 3720 B.4, iSCSI)', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  assert.equal(crc32c(Buffer.alloc(32, 0x00)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  assert.equal(crc32c(ascending), 0x46dd794e);
  const descending = Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i));
  assert.equal(crc32c(descending), 0x113fdb5c);
});

test('crc32c - agrees with the bitwise definition on any bytes and any split', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (bytes, cut) => {
      const whole = crc32c(bytes);
      assert.equal(whole, crc32cBitwise(bytes));
      const at = bytes.length === 0 ? 0 : cut % bytes.length;
      assert.equal(crc32c(bytes, at, bytes.length, crc32c(bytes, 0, at)), whole);
    }),
    { numRuns: 300 },
  );
});
