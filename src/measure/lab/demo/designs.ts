/**
 * The three consumer designs of the demonstration (the paper's Figure 1, measured for real). Every design does the
 * same I/O-bound work per batch — a write to a device whose service time is random around a fixed mean (seeded,
 * exponential, like a real disk queue) — so N is not limited by the CPU cores; they differ only in what consumers
 * share:
 *
 * - `shared-nothing`: each consumer owns its partition and its device; nothing is shared (the A2 design).
 *   Expected: X(N) ≈ γN, α ≈ 0, β ≈ 0.
 * - `shared-lock`: the commit of every batch runs under one lock shared by all consumers. Expected: an Amdahl
 *   ceiling X → γ/α, with α ≈ commitMs / writeMs.
 * - `coordinated`: before its write, a consumer exchanges state with every other consumer: it fetches each peer's
 *   version vector (one entry per consumer, so N entries) over the network, one peer after the other, and merges
 *   it. A round moves (N − 1) messages of N entries, so its time grows as N(N − 1): crosstalk, β ≈ entryMs /
 *   writeMs, and throughput falls past N_max ≈ sqrt(1/β).
 */
import { mulberry32, randomExponential, type Rng } from '../../../base/index.js';
import { AsyncMutex, sleepMs } from './mutex.js';

/** The three designs, by name. */
export const demoDesigns = ['shared-nothing', 'shared-lock', 'coordinated'] as const;
export type DemoDesign = (typeof demoDesigns)[number];

/** Service times of the simulated work, in milliseconds. */
export interface DemoTiming {
  /** Mean time of the batch write every design does (in parallel across consumers). */
  writeMs: number;
  /** `shared-lock`: mean time of the commit done under the shared lock (part of the write). */
  commitMs: number;
  /** `coordinated`: transfer time of one version-vector entry (a fetch of N entries takes N × entryMs). */
  entryMs: number;
}

/** Defaults chosen so the three curves separate clearly between N = 1 and N = 32 within a few minutes. */
export const demoTimingDefault: DemoTiming = Object.freeze({ writeMs: 40, commitMs: 8, entryMs: 0.5 });

/** One design instantiated for N consumers: `runBatch(i)` does consumer i's next batch. */
export interface DesignInstance {
  readonly design: DemoDesign;
  readonly consumers: number;
  runBatch(consumer: number): Promise<void>;
}

/** Builds the design for `consumers` consumers; `seed` drives the device's random service times. */
export function createDesign(
  design: DemoDesign,
  consumers: number,
  timing: DemoTiming = demoTimingDefault,
  seed = 1,
): DesignInstance {
  const rng = mulberry32(seed);
  if (design === 'shared-nothing') return sharedNothing(consumers, timing, rng);
  if (design === 'shared-lock') return sharedLock(consumers, timing, rng);
  return coordinated(consumers, timing, rng);
}

function sharedNothing(consumers: number, timing: DemoTiming, rng: Rng): DesignInstance {
  // One device per partition: the consumers never wait for each other.
  return {
    design: 'shared-nothing',
    consumers,
    runBatch: () => sleepMs(randomExponential(rng, timing.writeMs)),
  };
}

function sharedLock(consumers: number, timing: DemoTiming, rng: Rng): DesignInstance {
  const lock = new AsyncMutex();
  const parallelMs = timing.writeMs - timing.commitMs;
  return {
    design: 'shared-lock',
    consumers,
    async runBatch() {
      await sleepMs(randomExponential(rng, parallelMs));
      await lock.with(() => sleepMs(randomExponential(rng, timing.commitMs)));
    },
  };
}

function coordinated(consumers: number, timing: DemoTiming, rng: Rng): DesignInstance {
  // Each consumer's version vector: one counter per consumer.
  const vectors: number[][] = Array.from({ length: consumers }, () => new Array(consumers).fill(0));
  return {
    design: 'coordinated',
    consumers,
    async runBatch(consumer: number) {
      const own = vectors[consumer];
      for (let peer = 0; peer < consumers; peer++) {
        if (peer === consumer) continue;
        // Fetch the peer's vector (N entries on the wire), then merge it entry by entry.
        await sleepMs(consumers * timing.entryMs);
        const theirs = vectors[peer];
        for (let k = 0; k < consumers; k++) if (theirs[k] > own[k]) own[k] = theirs[k];
      }
      own[consumer]++;
      await sleepMs(randomExponential(rng, timing.writeMs));
    },
  };
}
