/**
 * Sortable unique event ids for events that arrive without one, ULID-shaped (https://github.com/ulid/spec):
 * 10 Crockford base32 characters of the millisecond timestamp, then 16 of 80 random bits. Within one millisecond
 * the random part is incremented, so ids of one process sort in arrival order. Randomness comes from a pooled
 * `crypto.randomFillSync` buffer: ids must be unique across processes, so this is deliberately not the seeded PRNG.
 */
import { randomFillSync } from 'node:crypto';
import type { Clock } from '../base/index.js';

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const poolBytes = 4096;

/** Generates ULID-like ids from a clock. One generator per process. */
export class EventIdGenerator {
  private readonly pool = Buffer.alloc(poolBytes);
  private poolOffset = poolBytes;
  private lastMs = -1;
  /** 16 base32 digits (5 bits each) of the random part of the last id. */
  private readonly random = new Uint8Array(16);

  constructor(private readonly clock: Clock) {}

  /** A new id, strictly greater than the previous one of this generator. */
  next(): string {
    let ms = Math.floor(this.clock.nowMs());
    if (ms <= this.lastMs) {
      ms = this.lastMs;
      this.increment();
    } else {
      this.lastMs = ms;
      this.fresh();
    }
    let out = '';
    for (let i = 9; i >= 0; i--) out += alphabet[Math.floor(ms / 32 ** i) % 32];
    for (let i = 0; i < 16; i++) out += alphabet[this.random[i]];
    return out;
  }

  private fresh(): void {
    if (this.poolOffset + 16 > poolBytes) {
      randomFillSync(this.pool);
      this.poolOffset = 0;
    }
    for (let i = 0; i < 16; i++) this.random[i] = this.pool[this.poolOffset + i] & 31;
    this.poolOffset += 16;
  }

  /** Adds one to the random part (carry to the left); on overflow, starts a fresh random part. */
  private increment(): void {
    for (let i = 15; i >= 0; i--) {
      if (this.random[i] < 31) {
        this.random[i] += 1;
        return;
      }
      this.random[i] = 0;
    }
    this.lastMs += 1;
    this.fresh();
  }
}
