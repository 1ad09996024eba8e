/**
 * One thread's load engine: an undici Pool (keep-alive, pipelining 1) driven either open-loop (due times from the
 * schedule, a catch-up loop that sends every request whose due time has passed, each with its own intended time) or
 * closed-loop (C clients: send, wait, repeat). Exactly one histogram sample per measured response, recorded when the
 * response ends: corrected latency = end − intended time, uncorrected = end − actual send time. Nothing is ever
 * back-filled. The engine returns an `EnginePartial` (plain data, histograms encoded) so worker threads and the
 * calling thread produce the same thing and the caller merges them.
 */
import { Pool, type Dispatcher } from 'undici';
import { assert, mulberry32 } from '../../base/index.js';
import { createLatencyHistogram, encodeHistogram, recordLatencyMs, type LatencyHistogram } from '../histogram/index.js';
import { ArrivalSequence, CumulativeIntensity, type ArrivalProcess, type RateProfile } from './schedule.js';
import { BodyRenderer, type BodySpec } from './template.js';

/** Everything one engine needs; structured-clonable so it can cross into a worker thread. */
export interface EngineConfig {
  mode: 'open' | 'closed';
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  bodySpec: BodySpec;
  connections: number;
  timeoutMs: number;
  intervalMs: number;
  warmupMs: number;
  /** Which responses add histogram samples: every response (default) or only 2xx answers. */
  sampleStatuses: SampleStatuses;
  /** Open loop: the schedule. */
  profile?: RateProfile;
  arrival?: ArrivalProcess;
  maxInflight?: number;
  /** Closed loop: clients in this engine, and how long they run. */
  concurrency?: number;
  durationMs: number;
  /** Global bound on the request count (open loop: sequence numbers; closed loop: this engine's share). */
  requestsMax: number;
  /** Absolute time (performance.timeOrigin + performance.now(), ms) of schedule time 0; same in every thread. */
  startAtMs: number;
  workerIndex: number;
  workerCount: number;
  seed: number;
}

/** What one engine measured. */
export interface EnginePartial {
  /** The first error of the run as text (`HTTP 500`, or the transport error's message), and when it ended. */
  firstError: string | null;
  firstErrorAtMs: number | null;
  /** Schedule time at which stop() took effect (the abort signal), or null when the run ran its course. */
  stoppedAtMs: number | null;
  scheduled: number;
  sent: number;
  dropped: number;
  responses: number;
  errors: number;
  warmupExcluded: number;
  samples: number;
  statusCounts: Record<string, number>;
  errorsByKind: Record<string, number>;
  corrected: string;
  uncorrected: string;
  lag: string;
  windows: { index: number; corrected: string; uncorrected: string }[];
  /** Arrivals due, and requests sent, per 10 ms bucket of the run (open loop): the achieved-rate window. */
  dueBuckets: number[];
  sentBuckets: number[];
  /** Last intended time, last send and last completion, ms after the start. */
  lastDueMs: number;
  lastSendMs: number;
  lastEndMs: number;
}

/** Which responses add histogram samples. */
export type SampleStatuses = 'all' | '2xx';

/** What ended since the previous cut (see LoadEngine.cut). Histograms are encoded like the partial's. */
export interface EngineCut {
  startMs: number;
  durationMs: number;
  responses: number;
  ok: number;
  errors: number;
  firstError: string | null;
  statusCounts: Record<string, number>;
  corrected: string;
  uncorrected: string;
}

export interface EngineProgress {
  sent: number;
  responses: number;
  errors: number;
  dropped: number;
  inflight: number;
}

/** Absolute monotonic milliseconds, comparable across worker threads. */
export function absoluteNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Extra time allowed for in-flight requests after the last send, beyond their own timeout. */
const drainSlackMs = 1000;

/** A closed-loop client pauses this long after a transport error, so a dead target does not spin the CPU. */
export const closedLoopErrorPauseMs = 20;

export class LoadEngine {
  private readonly pool: Pool;
  private readonly renderer: BodyRenderer;
  private readonly corrected = createLatencyHistogram();
  private readonly uncorrected = createLatencyHistogram();
  private readonly lag = createLatencyHistogram();
  private readonly windows = new Map<number, { corrected: LatencyHistogram; uncorrected: LatencyHistogram }>();
  private readonly statusCounts: Record<string, number> = {};
  private readonly errorsByKind: Record<string, number> = {};
  private counts = { scheduled: 0, sent: 0, dropped: 0, responses: 0, errors: 0, warmupExcluded: 0, samples: 0 };
  private inflight = 0;
  private lastSendMs = 0;
  private lastDueMs = 0;
  private readonly dueBuckets: number[] = [];
  private readonly sentBuckets: number[] = [];
  private lastEndMs = 0;
  private stopped = false;
  private sequence: ArrivalSequence | null = null;
  private pending: { seq: number; dueMs: number } | null = null;
  private onIdle: (() => void) | null = null;
  private schedulingDone = false;
  private firstError: string | null = null;
  private firstErrorAtMs: number | null = null;
  private stoppedAtMs: number | null = null;
  private cutState = LoadEngine.freshCut(0);

  constructor(private readonly config: EngineConfig) {
    assert(config.connections >= 1 && config.timeoutMs > 0 && config.intervalMs > 0, 'engine config', {
      connections: config.connections,
    });
    this.pool = new Pool(config.origin, {
      connections: config.connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
      connectTimeout: config.timeoutMs,
    });
    this.renderer = new BodyRenderer(config.bodySpec, mulberry32(config.seed * 7919 + config.workerIndex));
    this.tick = this.tick.bind(this);
  }

  progress(): EngineProgress {
    const c = this.counts;
    return { sent: c.sent, responses: c.responses, errors: c.errors, dropped: c.dropped, inflight: this.inflight };
  }

  /** Stops scheduling new requests; in-flight ones finish (bounded by the timeout). */
  stop(): void {
    if (!this.stopped) this.stoppedAtMs = Math.max(0, absoluteNowMs() - this.config.startAtMs);
    this.stopped = true;
  }

  private static freshCut(startMs: number) {
    return {
      startMs,
      responses: 0,
      ok: 0,
      errors: 0,
      firstError: null as string | null,
      statusCounts: {} as Record<string, number>,
      corrected: createLatencyHistogram(),
      uncorrected: createLatencyHistogram(),
    };
  }

  /**
   * Everything measured (past the warm-up) that ended since the previous cut, or since the start: counts, the first
   * error, and both histograms. Cuts are contiguous — the next one starts where this one ends — so a caller can
   * slice one continuous run into measurement windows of its own choosing (like HdrHistogram's Recorder interval
   * histograms). The run's totals and its `intervalMs` windows are not affected.
   */
  cut(): EngineCut {
    const nowMs = absoluteNowMs() - this.config.startAtMs;
    const c = this.cutState;
    this.cutState = LoadEngine.freshCut(nowMs);
    return {
      startMs: c.startMs,
      durationMs: nowMs - c.startMs,
      responses: c.responses,
      ok: c.ok,
      errors: c.errors,
      firstError: c.firstError,
      statusCounts: c.statusCounts,
      corrected: encodeHistogram(c.corrected),
      uncorrected: encodeHistogram(c.uncorrected),
    };
  }

  async run(): Promise<EnginePartial> {
    try {
      if (this.config.mode === 'open') await this.runOpen();
      else await this.runClosed();
      await this.drain();
    } finally {
      await this.pool.destroy().catch(() => undefined);
    }
    return this.partial();
  }

  // --- open loop ---

  private runOpen(): Promise<void> {
    const c = this.config;
    assert(c.profile !== undefined && c.arrival !== undefined && c.maxInflight !== undefined, 'open loop config');
    const intensity = new CumulativeIntensity(c.profile);
    this.sequence = new ArrivalSequence(
      intensity,
      c.arrival,
      mulberry32(c.seed * 104729 + c.workerIndex),
      c.workerIndex,
      c.workerCount,
    );
    this.pending = this.sequence.next();
    return new Promise<void>((resolve) => {
      this.onIdle = resolve;
      this.tick();
    });
  }

  /** Sends every request whose due time has passed (each with its own intended time), then sleeps until the next. */
  private tick(): void {
    const c = this.config;
    const maxInflight = c.maxInflight as number;
    let now = absoluteNowMs() - c.startAtMs;
    // Bounded: at most the number of arrivals already due, and the schedule itself is finite.
    while (this.pending !== null && this.pending.dueMs <= now) {
      if (this.stopped || this.pending.seq >= c.requestsMax) {
        this.pending = null;
        break;
      }
      this.counts.scheduled++;
      this.lastDueMs = this.pending.dueMs;
      countInBucket(this.dueBuckets, this.pending.dueMs);
      if (this.inflight >= maxInflight) this.counts.dropped++;
      else this.send(this.pending.seq, this.pending.dueMs, now);
      this.pending = (this.sequence as ArrivalSequence).next();
      if ((this.counts.scheduled & 63) === 0) now = absoluteNowMs() - c.startAtMs;
    }
    if (this.pending === null || this.stopped) {
      this.schedulingDone = true;
      const resolve = this.onIdle;
      this.onIdle = null;
      resolve?.();
      return;
    }
    const delayMs = this.pending.dueMs - (absoluteNowMs() - c.startAtMs);
    // Sleep on the millisecond timer, never spin: a setImmediate loop would burn a core per worker and starve the
    // server on the same machine. Arrivals that fall due meanwhile are sent by the catch-up loop above, each timed
    // from its own intended time, so the timer's granularity shows up as (measured) scheduling lag, not as drift.
    setTimeout(this.tick, Math.max(1, Math.floor(delayMs)));
  }

  // --- closed loop ---

  private async runClosed(): Promise<void> {
    const c = this.config;
    const clients = c.concurrency ?? 1;
    const loops: Promise<void>[] = [];
    for (let i = 0; i < clients; i++) loops.push(this.closedClient());
    await Promise.all(loops);
    this.schedulingDone = true;
  }

  private async closedClient(): Promise<void> {
    const c = this.config;
    while (!this.stopped && this.counts.scheduled < c.requestsMax) {
      const now = absoluteNowMs() - c.startAtMs;
      if (now >= c.durationMs) return;
      this.counts.scheduled++;
      const failed = await new Promise<boolean>((resolve) => this.send(this.counts.scheduled - 1, now, now, resolve));
      if (failed && !this.stopped) await new Promise((r) => setTimeout(r, closedLoopErrorPauseMs));
    }
  }

  // --- both ---

  private send(seq: number, dueMs: number, nowMs: number, done?: (failed: boolean) => void): void {
    const c = this.config;
    this.counts.sent++;
    this.inflight++;
    const sentMs = absoluteNowMs() - c.startAtMs;
    this.lastSendMs = sentMs;
    if (c.mode === 'open') countInBucket(this.sentBuckets, sentMs);
    if (c.mode === 'open' && dueMs >= c.warmupMs) recordLatencyMs(this.lag, Math.max(0, sentMs - dueMs));
    void nowMs;
    const handler = new ResponseHandler(this, dueMs, sentMs, done);
    const body = this.renderer.render(seq);
    this.pool.dispatch({ path: c.path, method: c.method as Dispatcher.HttpMethod, headers: c.headers, body }, handler);
  }

  /** Called exactly once per request that got a complete response. */
  complete(handler: ResponseHandler): void {
    const c = this.config;
    const endMs = absoluteNowMs() - c.startAtMs;
    this.finish(endMs);
    this.counts.responses++;
    const status = handler.status;
    this.statusCounts[status] = (this.statusCounts[status] ?? 0) + 1;
    const ok = status >= 200 && status < 300;
    if (status >= 400) this.countError(status >= 500 ? 'http_5xx' : 'http_4xx', `HTTP ${status}`, endMs);
    if (handler.dueMs < c.warmupMs) {
      this.counts.warmupExcluded++;
      return;
    }
    const cut = this.cutState;
    cut.responses++;
    cut.statusCounts[status] = (cut.statusCounts[status] ?? 0) + 1;
    if (ok) cut.ok++;
    else {
      cut.errors++;
      cut.firstError ??= `HTTP ${status}`;
    }
    if (c.sampleStatuses === '2xx' && !ok) return;
    const correctedMs = endMs - handler.dueMs;
    const uncorrectedMs = endMs - handler.sentMs;
    recordLatencyMs(cut.corrected, correctedMs);
    recordLatencyMs(cut.uncorrected, uncorrectedMs);
    recordLatencyMs(this.corrected, correctedMs);
    recordLatencyMs(this.uncorrected, uncorrectedMs);
    const window = this.window(Math.floor(endMs / c.intervalMs));
    recordLatencyMs(window.corrected, correctedMs);
    recordLatencyMs(window.uncorrected, uncorrectedMs);
    this.counts.samples++;
  }

  /** Called exactly once per request that failed without a complete response. No histogram sample. */
  fail(handler: ResponseHandler, err: Error): void {
    const endMs = absoluteNowMs() - this.config.startAtMs;
    this.finish(endMs);
    const text = err.message || errorKind(err);
    if (handler.dueMs < this.config.warmupMs) this.counts.warmupExcluded++;
    else {
      this.cutState.errors++;
      this.cutState.firstError ??= text;
    }
    this.countError(errorKind(err), text, endMs);
  }

  private finish(endMs: number): void {
    this.inflight--;
    assert(this.inflight >= 0, 'in-flight count went negative');
    this.lastEndMs = Math.max(this.lastEndMs, endMs);
    if (this.inflight === 0 && this.schedulingDone) this.onDrained?.();
  }

  private countError(kind: string, text: string, atMs: number): void {
    if (this.firstError === null) {
      this.firstError = text;
      this.firstErrorAtMs = atMs;
    }
    this.counts.errors++;
    this.errorsByKind[kind] = (this.errorsByKind[kind] ?? 0) + 1;
  }

  private window(index: number) {
    let w = this.windows.get(index);
    if (w === undefined) {
      w = { corrected: createLatencyHistogram(), uncorrected: createLatencyHistogram() };
      this.windows.set(index, w);
    }
    return w;
  }

  private onDrained: (() => void) | null = null;

  /** Waits for in-flight requests, at most their timeout plus slack; stragglers are then aborted by destroy(). */
  private drain(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.config.timeoutMs + drainSlackMs);
      this.onDrained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private partial(): EnginePartial {
    const windows = [...this.windows.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([index, w]) => ({
        index,
        corrected: encodeHistogram(w.corrected),
        uncorrected: encodeHistogram(w.uncorrected),
      }));
    // Requests still in flight when the pool was destroyed never answered: they count as errors.
    if (this.inflight > 0) {
      this.counts.errors += this.inflight;
      this.errorsByKind.unfinished = (this.errorsByKind.unfinished ?? 0) + this.inflight;
    }
    return {
      ...this.counts,
      firstError: this.firstError,
      firstErrorAtMs: this.firstErrorAtMs,
      stoppedAtMs: this.stoppedAtMs,
      statusCounts: { ...this.statusCounts },
      errorsByKind: { ...this.errorsByKind },
      corrected: encodeHistogram(this.corrected),
      uncorrected: encodeHistogram(this.uncorrected),
      lag: encodeHistogram(this.lag),
      windows,
      dueBuckets: this.dueBuckets,
      sentBuckets: this.sentBuckets,
      lastDueMs: this.lastDueMs,
      lastSendMs: this.lastSendMs,
      lastEndMs: this.lastEndMs,
    };
  }
}

/**
 * The per-request undici handler. It uses undici's core (legacy) handler callbacks, which the Client calls directly;
 * the newer controller API would add a wrapper object per request. Settles exactly once.
 */
class ResponseHandler implements Dispatcher.DispatchHandler {
  status = 0;
  private settled = false;

  constructor(
    private readonly engine: LoadEngine,
    readonly dueMs: number,
    readonly sentMs: number,
    private readonly done: ((failed: boolean) => void) | undefined,
  ) {}

  onConnect(): void {}

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }

  onData(): boolean {
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    this.settled = true;
    this.engine.complete(this);
    this.done?.(false);
  }

  onError(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.engine.fail(this, err);
    this.done?.(true);
  }
}

/** Width of the buckets that count arrivals and sends over time. */
export const rateBucketMs = 10;

function countInBucket(buckets: number[], timeMs: number): void {
  const index = Math.max(0, Math.floor(timeMs / rateBucketMs));
  // Bounded by the run length: one entry per 10 ms of schedule (plus the drain).
  while (buckets.length <= index) buckets.push(0);
  buckets[index]++;
}

/** A short stable name for a transport error: ECONNREFUSED, ECONNRESET, timeout, ... */
export function errorKind(err: Error): string {
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return 'timeout';
  }
  if (code === 'UND_ERR_SOCKET') {
    const causeCode = (err as { cause?: { code?: string } }).cause?.code;
    return causeCode ?? 'socket';
  }
  if (code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_ABORTED') return 'aborted';
  return code ?? err.name ?? 'error';
}
