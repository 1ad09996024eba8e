/**
 * The load generator's public shapes. Options are plain data; a `LoadResult` is JSON-serializable (histograms travel
 * as HdrHistogram compressed base64 in microseconds — `decodeHistogram` from `measure/histogram` restores them).
 */
import type { LatencySummaryMs, StallAnalysis } from '../histogram/index.js';
import type { ArrivalProcess, Stage } from './schedule.js';
import type { KeyDistribution } from './template.js';

/** What each request looks like. */
export interface LoadRequestSpec {
  /** HTTP method. Default GET (POST when a body or template is given). */
  method?: string;
  headers?: Record<string, string>;
  /** A fixed body. Exclusive with `template`. */
  body?: string;
  /** A body template with `{{seq}}`, `{{id}}`, `{{key}}`, `{{ts}}` placeholders (see template.ts). */
  template?: string;
  /** Records per request; > 1 sends NDJSON (one rendered record per line). Default 1. */
  batch?: number;
  /** Key space size for `{{key}}`. Default 1000. */
  keys?: number;
  keyDistribution?: KeyDistribution;
  /** Zipf exponent s. Default 1. */
  zipfS?: number;
}

/** Options shared by both loops. */
export interface CommonLoadOptions {
  /** Target URL (http: or https:). */
  url: string;
  request?: LoadRequestSpec;
  /** Run length (ms) for a constant rate or a closed loop. Ignored when `stages` are given. */
  durationMs?: number;
  /** Stop after this many requests (a bound, together with the duration). */
  requestsMax?: number;
  /** Requests intended (open) or sent (closed) before this many ms are sent but excluded from results. Default 0. */
  warmupMs?: number;
  /** Keep-alive connections per worker thread. Default 64 (open loop) or the concurrency (closed loop). */
  connections?: number;
  /** Per-request timeout (headers and body), ms. Default 10 000. */
  timeoutMs?: number;
  /** Length of a result window (`.hlog` interval, stall analysis), ms. Default 1000. */
  intervalMs?: number;
  /** Worker threads generating load; histograms are merged. Default 1 (runs in the calling thread). */
  workers?: number;
  /**
   * Which responses add a histogram sample: `all` (default; an HTTP error status is a response too) or `2xx` (only
   * 2xx answers are timed; other statuses are counted, not sampled).
   */
  sampleStatuses?: 'all' | '2xx';
  /** Seed for Poisson arrivals and template fields. Default 1. */
  seed?: number;
  /** A run whose error fraction exceeds this is not valid. Default 0.01. */
  maxErrorRate?: number;
  /** Called about once a second with running totals. */
  onProgress?: (progress: LoadProgress) => void;
  /** Aborting stops scheduling; in-flight requests are awaited (bounded by `timeoutMs`). */
  signal?: AbortSignal;
}

/** Open loop: requests are due on a schedule that does not wait for responses. */
export interface OpenLoopOptions extends CommonLoadOptions {
  /** Constant target rate, or the initial rate when `stages` are given. */
  ratePerSec?: number;
  /** Rate stages (or a `30s:1000,60s:5000` string). Without `ratePerSec` the first stage starts at its own target. */
  stages?: Stage[] | string;
  /** Default 'constant'. */
  arrival?: ArrivalProcess;
  /** Most requests outstanding per worker; an arrival beyond it is dropped and counted. Default 10 000. */
  maxInflight?: number;
  /** The run is not valid when the p99 scheduling lag exceeds this, ms. Default 50. */
  lagMaxMs?: number;
}

/** Closed loop: `concurrency` clients each send, wait, repeat — saturation throughput only. */
export interface ClosedLoopOptions extends CommonLoadOptions {
  concurrency: number;
}

/**
 * What ended since the previous cut of a running session (`LoadSession.cut`), past the warm-up. Cuts are contiguous:
 * each starts where the previous one ended (the first at the start of the run).
 */
export interface LoadCut {
  /** Start and length of the cut, ms of run time. */
  startMs: number;
  durationMs: number;
  /** Complete responses (any status). */
  responses: number;
  /** 2xx responses. */
  ok: number;
  /** Every request that ended without a 2xx answer: other statuses and transport errors. */
  errors: number;
  /** The first of those errors as text: `HTTP 500`, or the transport error's message. */
  firstError: string | null;
  statusCounts: Record<string, number>;
  /** HdrHistogram compressed base64 of µs values, like `LoadResult.histograms`. */
  histograms: { corrected: string; uncorrected: string };
}

/** A closed loop running until stopped (`startClosedLoop`), sliced into cuts by its caller. */
export interface LoadSession {
  /** Ends the current cut and starts the next one. */
  cut(): LoadCut;
  /** Stops the clients, awaits their in-flight requests (bounded by the timeout) and returns the whole run. */
  stop(): Promise<LoadResult>;
}

export interface LoadProgress {
  elapsedMs: number;
  sent: number;
  responses: number;
  errors: number;
  dropped: number;
  inflight: number;
}

/** One result window (by completion time). */
export interface LoadWindow {
  /** Window start, ms after the run's start. */
  startMs: number;
  lengthMs: number;
  latencyMs: LatencySummaryMs;
  stall: StallAnalysis;
  histograms: { corrected: string; uncorrected: string };
}

export interface LoadResult {
  schema: 'shock.load.result/1';
  meta: {
    tool: 'shock';
    version: string;
    /** Wall-clock start, ISO 8601 and ms since the epoch. */
    startTime: string;
    startTimeMs: number;
    target: string;
    method: string;
    mode: 'open' | 'closed';
    arrival: ArrivalProcess | null;
    ratePerSecTarget: number | null;
    stages: Stage[] | null;
    concurrency: number | null;
    durationMs: number;
    warmupMs: number;
    intervalMs: number;
    connections: number;
    workers: number;
    maxInflight: number | null;
    seed: number;
  };
  /**
   * False when the run was interrupted, the rate was not held, requests were dropped, or errors exceeded the
   * threshold.
   */
  valid: boolean;
  /**
   * True when the abort signal (`shock load`: Ctrl-C) stopped the run before its duration: it is then not valid
   * (problem `interrupted`), and its rates cover the time that ran (`stoppedAtMs`), not the planned duration.
   */
  interrupted: boolean;
  /** Why the run is not valid (empty when valid). */
  problems: LoadProblem[];
  /** Closed-loop latency suffers coordinated omission: never use it for tail latency. */
  latencyValidForTail: boolean;
  /** Average target rate over the schedule (open loop), null for a closed loop. */
  ratePerSecTarget: number | null;
  /**
   * Requests sent per second over the middle of the schedule (edges of min(1 s, 10%) trimmed, so jitter at the ends
   * cancels); compared with the arrivals due in the same window. Drops and falling behind lower it.
   */
  ratePerSecAchieved: number;
  /** Responses per second over the measured part of the run (up to `stoppedAtMs` when interrupted). */
  responsesPerSec: number;
  counts: {
    /** Arrivals in the schedule (open loop) or requests started (closed loop). */
    scheduled: number;
    sent: number;
    /** Arrivals not sent because `maxInflight` was reached (k6 `dropped_iterations`). */
    dropped: number;
    responses: number;
    /** Transport errors plus HTTP status ≥ 400. */
    errors: number;
    /** Responses and errors excluded as warm-up. */
    warmupExcluded: number;
    /** Histogram samples: exactly one per measured response. */
    samples: number;
  };
  errorRate: number;
  statusCounts: Record<string, number>;
  errorsByKind: Record<string, number>;
  /** How late requests were sent relative to their intended time. */
  schedulingLagMs: { p50: number; p99: number; max: number };
  latencyMs: {
    /** From the intended send time (open loop) — what users see. */
    corrected: LatencySummaryMs;
    /** From the actual send time (wrk2 `-U`): what a coordinated-omission-prone tool would report. */
    uncorrected: LatencySummaryMs;
  };
  histograms: { unit: 'us'; corrected: string; uncorrected: string };
  windows: LoadWindow[];
  /** Stall analysis of the whole measured run. */
  stall: StallAnalysis;
  /** The first error of the run as text (`HTTP 503`, or the transport error's message); null without errors. */
  firstError: string | null;
  /** Run time (ms) at which the abort signal stopped the run; null when it ran its course. */
  stoppedAtMs: number | null;
}

/** One reason a run is not valid. */
export interface LoadProblem {
  code: 'interrupted' | 'dropped' | 'rate_not_held' | 'lag' | 'errors' | 'no_responses';
  message: string;
}
