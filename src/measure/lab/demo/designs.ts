/**
 * The three consumer designs of the demonstration (the paper's Figure 1, measured for real). Every design does the
 * same I/O-bound work per batch — a write to a device with a fixed service time — so N is not limited by the CPU
 * cores; they differ only in how consumers share state:
 *
 * - `shared-nothing`: each consumer owns its partition and its device; nothing is shared (the A2 design).
 *   Expected: X(N) ≈ γN, α ≈ 0, β ≈ 0.
 * - `shared-lock`: part of every batch (the commit) runs under one lock shared by all consumers. Expected: an
 *   Amdahl ceiling X → γ/α with α ≈ commitMs / (writeMs + commitMs).
 * - `coordinated`: before its write, a consumer must exchange a message with every other consumer over one shared
 *   channel (an all-to-all round: N − 1 messages, each costing `messageMs` of channel time). The channel's load
 *   grows as N(N − 1): crosstalk, β ≈ messageMs / writeMs, and throughput falls past N_max.
 */
import { AsyncMutex, sleepMs } from './mutex.js';

/** The three designs, by name. */
export const demoDesigns = ['shared-nothing', 'shared-lock', 'coordinated'] as const;
export type DemoDesign = (typeof demoDesigns)[number];

/** Service times of the simulated work, in milliseconds. */
export interface DemoTiming {
  /** The batch write every design does, in parallel across consumers. */
  writeMs: number;
  /** `shared-lock`: the part of the batch done under the shared lock. */
  commitMs: number;
  /** `coordinated`: channel time of one message of the all-to-all round. */
  messageMs: number;
}

/** Defaults chosen so all three curves separate clearly between N = 1 and N = 32 within a few minutes. */
export const demoTimingDefault: DemoTiming = Object.freeze({ writeMs: 40, commitMs: 4, messageMs: 1 });

/** One design instantiated for N consumers: `runBatch(i)` does consumer i's next batch. */
export interface DesignInstance {
  readonly design: DemoDesign;
  readonly consumers: number;
  runBatch(consumer: number): Promise<void>;
}

/** Builds the design for `consumers` consumers. */
export function createDesign(
  design: DemoDesign,
  consumers: number,
  timing: DemoTiming = demoTimingDefault,
): DesignInstance {
  if (design === 'shared-nothing') return sharedNothing(consumers, timing);
  if (design === 'shared-lock') return sharedLock(consumers, timing);
  return coordinated(consumers, timing);
}

function sharedNothing(consumers: number, timing: DemoTiming): DesignInstance {
  // One device per partition: the consumers never wait for each other.
  return {
    design: 'shared-nothing',
    consumers,
    runBatch: () => sleepMs(timing.writeMs),
  };
}

function sharedLock(consumers: number, timing: DemoTiming): DesignInstance {
  const lock = new AsyncMutex();
  const writeMs = timing.writeMs - timing.commitMs;
  return {
    design: 'shared-lock',
    consumers,
    async runBatch() {
      await sleepMs(writeMs);
      await lock.with(() => sleepMs(timing.commitMs));
    },
  };
}

function coordinated(consumers: number, timing: DemoTiming): DesignInstance {
  const channel = new AsyncMutex();
  const inboxes: number[] = new Array(consumers).fill(0);
  return {
    design: 'coordinated',
    consumers,
    async runBatch(consumer: number) {
      const peers = consumers - 1;
      if (peers > 0) {
        // The round: N − 1 messages cross the one shared channel back to back; each peer acknowledges on delivery.
        await channel.with(async () => {
          await sleepMs(peers * timing.messageMs);
          for (let j = 0; j < consumers; j++) if (j !== consumer) inboxes[j]++;
        });
      }
      await sleepMs(timing.writeMs);
    },
  };
}
