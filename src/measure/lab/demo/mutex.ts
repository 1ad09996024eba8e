/**
 * A FIFO asynchronous mutex: the one shared lock of the demo's contention design and the shared channel of its
 * coordination design. Waiters are served strictly in arrival order, so the queueing the lab measures is the
 * queueing the design causes, not an artefact of an unfair lock.
 */
export class AsyncMutex {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  /** Resolves when the caller holds the lock; the caller must call `release()` exactly once. */
  acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Hands the lock to the next waiter, or frees it. */
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }

  /** Runs `body` while holding the lock. */
  async with<T>(body: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await body();
    } finally {
      this.release();
    }
  }

  /** Callers waiting for the lock (for the demo's own diagnostics). */
  get waitingCount(): number {
    return this.waiters.length;
  }
}

/** Sleeps for `ms` milliseconds of wall time: the fixed service time of the demo's simulated device. */
export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
