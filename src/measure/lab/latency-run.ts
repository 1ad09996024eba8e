/**
 * The recipe's latency run (seed 004, Measurement Recipe step 7): an open-loop generator at a fixed rate below
 * saturation — 80% of the fitted capacity at the chosen N — with Poisson arrivals from a seeded PRNG. Each latency
 * is measured from the request's *intended* send time, so a slow answer delays nothing and hides nothing: the p99 is
 * free of coordinated omission.
 */
import { Pool } from 'undici';
import { mulberry32, randomExponential } from '../../base/index.js';
import { createLatencyHistogram, recordLatencyMs, type LatencyHistogram } from '../histogram/index.js';
import type { RequestShape } from './capacity-driver.js';

/** Options of one open-loop run. */
export interface OpenLoopRunOptions {
  url: string;
  ratePerSec: number;
  durationMs: number;
  request: RequestShape;
  seed?: number;
  /** Connections the generator may open (requests beyond wait in its queue, still timed from their intent). */
  connectionsMax?: number;
  requestTimeoutMs?: number;
  signal?: AbortSignal;
}

/** What one open-loop run measured. */
export interface OpenLoopRunResult {
  durationMs: number;
  requests: number;
  errors: number;
  firstError: string | null;
  histogram: LatencyHistogram;
}

const tickMs = 1;

/** Runs the open loop and waits for every request sent to finish (bounded by the request timeout). */
export async function runOpenLoopLatency(options: OpenLoopRunOptions): Promise<OpenLoopRunResult> {
  const parsed = new URL(options.url);
  const path = parsed.pathname + parsed.search;
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const pool = new Pool(parsed.origin, {
    connections: options.connectionsMax ?? 256,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const rng = mulberry32(options.seed ?? 7);
  const meanGapMs = 1000 / options.ratePerSec;
  const histogram = createLatencyHistogram();
  const inflight = new Set<Promise<void>>();
  let requests = 0;
  let errors = 0;
  let firstError: string | null = null;

  const send = (intendedMs: number) => {
    const p = pool
      .request({
        path,
        method: options.request.method as 'GET',
        body: options.request.body ?? undefined,
        headers: options.request.headers,
      })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          requests++;
          recordLatencyMs(histogram, performance.now() - intendedMs);
        } else {
          errors++;
          firstError ??= `HTTP ${res.statusCode}`;
        }
      })
      .catch((err: unknown) => {
        errors++;
        firstError ??= (err as Error).message;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };

  const startMs = performance.now();
  const endMs = startMs + options.durationMs;
  let nextMs = startMs + randomExponential(rng, meanGapMs);
  while (nextMs < endMs && !options.signal?.aborted) {
    const nowMs = performance.now();
    // Send everything due: the schedule, not the answers, decides when a request goes out.
    while (nextMs <= nowMs && nextMs < endMs) {
      send(nextMs);
      nextMs += randomExponential(rng, meanGapMs);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(tickMs, nextMs - performance.now()))));
  }
  const durationMs = Math.min(performance.now(), endMs) - startMs;
  await Promise.allSettled([...inflight]);
  await pool.close().catch(() => {});
  return { durationMs, requests, errors, firstError, histogram };
}
