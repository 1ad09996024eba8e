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
  /** The 10 time characters of `lastMs`, computed once per millisecond. */
  private timePrefix = '';
  /** 16 base32 digits (5 bits each) of the random part of the last id. */
  private readonly random = new Uint8Array(16);

  constructor(private readonly clock: Clock) {}

  /** A new id, strictly greater than the previous one of this generator. */
  next(): string {
    const ms = Math.floor(this.clock.nowMs());
    if (ms <= this.lastMs) {
      this.increment();
    } else {
      this.setTime(ms);
      this.fresh();
    }
    const r = this.random;
    return (
      this.timePrefix +
      alphabet[r[0]] +
      alphabet[r[1]] +
      alphabet[r[2]] +
      alphabet[r[3]] +
      alphabet[r[4]] +
      alphabet[r[5]] +
      alphabet[r[6]] +
      alphabet[r[7]] +
      alphabet[r[8]] +
      alphabet[r[9]] +
      alphabet[r[10]] +
      alphabet[r[11]] +
      alphabet[r[12]] +
      alphabet[r[13]] +
      alphabet[r[14]] +
      alphabet[r[15]]
    );
  }

  private setTime(ms: number): void {
    this.lastMs = ms;
    let prefix = '';
    let rest = ms;
    for (let i = 0; i < 10; i++) {
      prefix = alphabet[rest % 32] + prefix;
      rest = Math.floor(rest / 32);
    }
    this.timePrefix = prefix;
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
    this.setTime(this.lastMs + 1);
    this.fresh();
  }
}
