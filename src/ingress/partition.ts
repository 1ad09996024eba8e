/**
 * Kafka's default partitioner for keyed records, so that a key lands on the partition number a Kafka producer
 * would choose (`BuiltInPartitioner.partitionForKey`: `toPositive(Utils.murmur2(keyBytes)) % numPartitions`).
 * murmur2 is Austin Appleby's MurmurHash2, 32-bit, with Kafka's seed `0x9747b28c`; Java's signed 32-bit
 * arithmetic is reproduced with `Math.imul` and `| 0`. See docs/adr/002-murmur2-partitioner.md.
 */

const seed = 0x9747b28c;
const m = 0x5bd1e995;
const r = 24;

/** Kafka's `Utils.murmur2`: the signed 32-bit hash of `bytes` (the value Java returns). */
export function murmur2(bytes: Uint8Array): number {
  const length = bytes.length;
  let h = (seed ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k = bytes[i4] | (bytes[i4 + 1] << 8) | (bytes[i4 + 2] << 16) | (bytes[i4 + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  // The trailing 1–3 bytes, as Java's fall-through switch folds them in.
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= bytes[tail + 2] << 16;
  if (rest >= 2) h ^= bytes[tail + 1] << 8;
  if (rest >= 1) {
    h ^= bytes[tail];
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which is wrong for -2^31). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition of a key: `toPositive(murmur2(keyBytes)) % partitions`, as Kafka's producer computes it. */
export function partitionForKey(keyBytes: Uint8Array, partitions: number): number {
  return toPositive(murmur2(keyBytes)) % partitions;
}
