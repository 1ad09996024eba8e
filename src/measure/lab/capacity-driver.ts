/**
 * The capacity run's load: a closed loop of C clients (fixed concurrency ceiling, not a fixed arrival rate), each
 * sending its next request when the previous one answers (seed 004, Measurement Recipe step 2: "use a closed-loop
 * tool ... that plateau is X(N)"). The loop runs continuously at one N while the lab slices it into consecutive
 * measurement windows, so there is no ramp transient inside a window. Latencies are recorded per window into an HDR
 * histogram only for stall detection; the recipe discards capacity-run latencies as numbers.
 */
import { Pool } from 'undici';
import { createLatencyHistogram, recordLatencyMs, type LatencyHistogram } from '../histogram/index.js';

/** What each request of the loop sends. */
export interface RequestShape {
  method: string;
  body: string | null;
  headers: Record<string, string>;
}

/** One slice of the loop. */
export interface WindowSample {
  durationMs: number;
  /** 2xx answers that completed inside the window. */
  completed: number;
  /** Non-2xx answers and transport errors inside the window. */
  errors: number;
  /** The first error seen, for the message when a target fails. */
  firstError: string | null;
  histogram: LatencyHistogram;
}

/** A running closed loop. */
export class ClosedLoopDriver {
  private readonly pool: Pool;
  private readonly path: string;
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private histogram: LatencyHistogram = createLatencyHistogram();
  private completed = 0;
  private errors = 0;
  private firstError: string | null = null;
  /** End of the previous window (or the start of the loop). */
  private markMs = performance.now();

  constructor(
    url: string,
    readonly concurrency: number,
    private readonly shape: RequestShape,
    /** Per-request timeout: a request slower than this counts as an error. */
    private readonly requestTimeoutMs = 30_000,
  ) {
    const parsed = new URL(url);
    this.path = parsed.pathname + parsed.search;
    this.pool = new Pool(parsed.origin, {
      connections: concurrency,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: requestTimeoutMs,
      bodyTimeout: requestTimeoutMs,
    });
    for (let i = 0; i < concurrency; i++) this.loops.push(this.loop());
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const startMs = performance.now();
      try {
        const res = await this.pool.request({
          path: this.path,
          method: this.shape.method as 'GET',
          body: this.shape.body ?? undefined,
          headers: this.shape.headers,
        });
        await res.body.dump();
        if (!this.running) return;
        if (res.statusCode >= 200 && res.statusCode < 300) {
          this.completed++;
          recordLatencyMs(this.histogram, performance.now() - startMs);
        } else {
          this.errors++;
          this.firstError ??= `HTTP ${res.statusCode}`;
        }
      } catch (err) {
        if (!this.running) return;
        this.errors++;
        this.firstError ??= (err as Error).message;
        // A refused connection answers at once; pause so a dead target does not spin the CPU.
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /**
   * Measures the loop from the end of the previous window (or the start) until `durationMs` from now; aborting ends
   * the window early (its partial counts are kept). Windows are contiguous: the time the caller spends between two
   * calls belongs to the next window, so completions that arrive meanwhile are neither lost nor counted against too
   * short a duration (which would bias the throughput upwards by the gap).
   */
  async measureWindow(durationMs: number, signal?: AbortSignal): Promise<WindowSample> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, durationMs);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
    const nowMs = performance.now();
    const sample: WindowSample = {
      durationMs: nowMs - this.markMs,
      completed: this.completed,
      errors: this.errors,
      firstError: this.firstError,
      histogram: this.histogram,
    };
    this.markMs = nowMs;
    this.resetCounters();
    return sample;
  }

  private resetCounters(): void {
    this.histogram = createLatencyHistogram();
    this.completed = 0;
    this.errors = 0;
    this.firstError = null;
  }

  /** Stops the loop and closes its connections. */
  async stop(): Promise<void> {
    this.running = false;
    await this.pool.destroy().catch(() => {});
    await Promise.allSettled(this.loops);
  }
}
