/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 metadata, Kafka record
 * batches and LevelDB. Hand-written and table-driven ("slicing-by-8": eight 256-entry tables, eight bytes per
 * step) because Node has no built-in CRC-32C. Check value: crc32c("123456789") = 0xE3069283 (RFC 3720 B.4).
 */

const POLY_REFLECTED = 0x82f63b78;

/** tables[k][b] = CRC of byte b followed by k zero bytes. */
const tables: Int32Array[] = buildTables();

function buildTables(): Int32Array[] {
  const t0 = new Int32Array(256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    t0[b] = c;
  }
  const out = [t0];
  for (let k = 1; k < 8; k++) {
    const prev = out[k - 1];
    const next = new Int32Array(256);
    for (let b = 0; b < 256; b++) next[b] = (prev[b] >>> 8) ^ t0[prev[b] & 0xff];
    out.push(next);
  }
  return out;
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = tables;

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
      T7[lo & 0xff] ^
      T6[(lo >>> 8) & 0xff] ^
      T5[(lo >>> 16) & 0xff] ^
      T4[lo >>> 24] ^
      T3[bytes[i + 4]] ^
      T2[bytes[i + 5]] ^
      T1[bytes[i + 6]] ^
      T0[bytes[i + 7]];
    i += 8;
  }
  while (i < end) {
    c = (c >>> 8) ^ T0[(c ^ bytes[i]) & 0xff];
    i++;
  }
  return ~c >>> 0;
}
