/**
 * Time is injected (HdrHistogramJS Recorder takes a clock; TigerBeetle `testing/time.zig`) so token buckets,
 * shedding and load schedules replay deterministically in tests.
 */
export interface Clock {
  /** Wall-clock milliseconds since the epoch (for timestamps that leave the process). */
  nowMs(): number;
  /** Monotonic milliseconds with sub-millisecond resolution (for durations and rates). */
  monoMs(): number;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monoMs: () => performance.now(),
};

/** A clock that moves only when told to: for tests of time-driven logic. */
export class ManualClock implements Clock {
  constructor(
    private wallMs = 1_700_000_000_000,
    private mono = 0,
  ) {}
  nowMs(): number {
    return this.wallMs;
  }
  monoMs(): number {
    return this.mono;
  }
  advance(ms: number): void {
    this.wallMs += ms;
    this.mono += ms;
  }
}
