/**
 * Seeded pseudo-random numbers, so that bootstraps, load schedules and simulations replay exactly.
 * mulberry32: 32-bit state, period 2^32, good enough statistical quality for resampling and jitter.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return {
    next(): number {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** Integer uniform in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng.next() * n);
}

/** Exponential with the given mean (Poisson inter-arrival times). */
export function randomExponential(rng: Rng, mean: number): number {
  return -Math.log(1 - rng.next()) * mean;
}
