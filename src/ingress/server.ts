/**
 * `createGateway`: the HTTP ingress of a cell. It owns no log — it is handed one — and appends validated events to
 * it, answering 202 only once the append is durable (docs/adr/001-ack-after-fsync.md).
 *
 * Routes: `POST /v1/events` and `POST /v1/events/batch`. Any other path goes to `fallback` (the cell's /metrics,
 * /healthz, dashboard...) or gets a JSON 404. Use `handler` inside your own node:http server, or `listen()`, which
 * creates a server with every limit of the configuration (header size, request/headers/keep-alive timeouts, JSON
 * answers to malformed HTTP).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { EventWriter, mulberry32, shockError, systemClock, type Clock, type Limits } from '../base/index.js';
import { rejection } from './rejection.js';
import type { Log } from '../log/index.js';
import { Authenticator, type GatewayTenant } from './auth.js';
import { resolveGatewayConfig, type GatewayConfig, type ResolvedGatewayConfig } from './config.js';
import { DedupeWindow } from './dedupe.js';
import { EventIdGenerator } from './event-id.js';
import { ingest } from './ingest.js';
import { BatchPool } from './batch-pool.js';
import type { Exchange, IngestCounters, IngestState, Route } from './stages.js';
import { GatewayMetrics } from './metrics.js';
import { onClientError, sendError } from './respond.js';
import { CircuitBreaker, type BreakerState } from './breaker.js';
import {
  Shedder,
  eventLoopDelaySource,
  type EventLoopDelaySource,
  type OverloadSignals,
  type ShedReason,
} from './shed.js';
import { TenantLimiter } from './token-bucket.js';
import { EventValidator } from './validate.js';

/** Something the gateway reports (breaker transitions, append failures, internal errors). */
export interface GatewayLogEvent {
  level: 'info' | 'warn' | 'error';
  message: string;
  details?: Record<string, unknown>;
}

/** Options of `createGateway`. */
export interface GatewayOptions {
  /** The durable log events are appended to. The gateway never closes it. */
  log: Log;
  config: GatewayConfig;
  /** Time source of token buckets, shedding windows, the breaker and event ids (default: the system clock). */
  clock?: Clock;
  /** prom-client registry the gateway's metrics are registered on (default: a new private Registry). */
  registry?: Registry;
  /** Receives breaker transitions and append failures (default: warnings and errors as JSON lines on stderr). */
  logger?: (event: GatewayLogEvent) => void;
  /** Handles every request whose path is not an ingest route (default: JSON 404 SHOCK_INGRESS_NOT_FOUND). */
  fallback?: RequestListener;
  /**
   * Why this server takes no events, when it takes none (a cell process of role `consumer`): the ingest routes then
   * answer 404 SHOCK_INGRESS_NOT_FOUND with this reason, and nothing is appended. Default: events are taken.
   */
  noIngestReason?: string;
  /** Records queued inside the log backend, if it can tell; a shedding signal (default: none). */
  logQueueDepth?: () => number;
  /**
   * Event-loop delay source in ms (default: `SHOCK_TEST_EVENT_LOOP_DELAY_MS` when the environment fixes it, else
   * `perf_hooks.monitorEventLoopDelay`, mean over the last 1 s: `eventLoopDelaySource` in shed.ts).
   */
  eventLoopDelayMs?: () => number;
}

/** JSON counters for `/v1/stats` and the dashboard. Totals are since start; compute rates from two samples. */
export interface GatewayStats {
  uptimeSec: number;
  requestsTotal: number;
  /** Records parsed from request bodies (valid or not). */
  receivedEventsTotal: number;
  /** Records durably appended (answered 202, not counting duplicates). */
  acceptedEventsTotal: number;
  /** Records answered 202 `duplicate: true` (not appended again). */
  duplicateEventsTotal: number;
  /** Records answered with an error (not appended). */
  rejectedEventsTotal: number;
  rejectedByCode: Record<string, number>;
  acceptedByTenant: Record<string, number>;
  acceptedByPartition: number[];
  inflightEvents: number;
  inflightRequests: number;
  /** Latency of 202 answers over the most recent ≤ 4096 of them in the last 10 s (null when none). */
  latencyMsP50: number | null;
  latencyMsP99: number | null;
  rateLimit: { mode: 'enforce' | 'shadow'; share: number; limitedEventsTotal: number };
  shedding: {
    mode: 'reject' | 'delay';
    shadow: boolean;
    /** True when something was shed or delayed in the last second. */
    active: boolean;
    loadRatio: number;
    reason: ShedReason;
    eventLoopDelayMs: number;
    shedEventsTotal: number;
    delayedRequestsTotal: number;
    shadowDecisionsTotal: number;
  };
  breaker: { state: BreakerState; failures: number; msUntilProbe: number };
  /** Batch workers (`batchWorkers` in the configuration) and where batches were prepared. */
  batchWorkers: { workers: number; ready: number; preparedOnWorkerTotal: number; preparedInlineTotal: number };
  draining: boolean;
}

/** A running gateway. */
export interface Gateway {
  /** node:http request listener: ingest routes, everything else to `fallback`. */
  readonly handler: RequestListener;
  /** The gateway's own server once `listen` was called, else null. */
  readonly server: Server | null;
  /** The registry the metrics live on. */
  readonly registry: Registry;
  /** The effective configuration (defaults applied, frozen). */
  readonly config: ResolvedGatewayConfig;
  /** Creates a node:http server with the gateway's limits and handler (what `listen` uses). */
  createServer(): Server;
  /** Listens (default 127.0.0.1, port 0 = a free port) and resolves with the bound address. */
  listen(address?: { host?: string; port?: number }): Promise<{ host: string; port: number; url: string }>;
  /**
   * Graceful shutdown: stop accepting (server closed, idle keep-alive sockets closed, new requests on open sockets
   * answered 503 SHOCK_INGRESS_SHUTTING_DOWN), wait until every in-flight request — so every in-flight append — is
   * answered, at most `drainMs` (default 10 s), then cut the remaining connections. Does not close the log.
   */
  close(options?: { drainMs?: number }): Promise<void>;
  /** Counters, latency quantiles, shedding and breaker state. */
  stats(): GatewayStats;
  /** Replaces tenants (keys, rates — buckets of changed tenants restart full) and/or payload schemas. */
  reload(update: { tenants?: readonly GatewayTenant[]; schemas?: Readonly<Record<string, object>> }): void;
  /** The breaker state now (for /readyz). */
  breakerState(): BreakerState;
}

/** node:http server options implementing the gateway's limits. Exported for cells that build their own server. */
export function serverOptions(l: Readonly<Limits>) {
  return {
    maxHeaderSize: l.headersBytesMax,
    requestTimeout: l.requestTimeoutMs,
    headersTimeout: l.headersTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    // How often node checks headers/request timeouts (default 30 s would let slow senders hold sockets longer).
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(l.headersTimeoutMs / 4))),
    requireHostHeader: false,
  };
}

const latencyRingSize = 4096;
const latencyWindowMs = 10_000;

function defaultLogger(event: GatewayLogEvent): void {
  if (event.level === 'info') return;
  process.stderr.write(JSON.stringify({ area: 'ingress', ...event }) + '\n');
}

class GatewayImpl implements Gateway, IngestState {
  readonly handler: RequestListener;
  server: Server | null = null;
  readonly registry: Registry;
  readonly config: ResolvedGatewayConfig;
  readonly log: Log;
  readonly clock: Clock;
  readonly rng;
  readonly limits: Readonly<Limits>;
  auth: Authenticator;
  validator: EventValidator;
  readonly limiter: TenantLimiter;
  readonly shedder: Shedder;
  readonly breaker: CircuitBreaker;
  readonly dedupe: DedupeWindow;
  readonly ids: EventIdGenerator;
  readonly writer = new EventWriter();
  readonly batchPool: BatchPool;
  readonly metrics: GatewayMetrics;
  readonly counters: IngestCounters;
  inflightEvents = 0;
  inflightRequests = 0;
  draining = false;
  private readonly logger: (event: GatewayLogEvent) => void;
  private readonly fallback: RequestListener | null;
  readonly noIngestReason: string | null;
  private readonly logQueueDepth: (() => number) | null;
  private readonly loopDelay: EventLoopDelaySource;
  private readonly loopDelayMs: () => number;
  private readonly startedAtMs: number;
  private readonly latencyMs = new Float64Array(latencyRingSize);
  private readonly latencyAtMs = new Float64Array(latencyRingSize);
  private latencyNext = 0;
  private idleWaiter: (() => void) | null = null;
  private lastShedCount = 0;
  private lastShedCheckMs = 0;
  private shedActive = false;

  constructor(options: GatewayOptions) {
    this.config = resolveGatewayConfig(options.config);
    this.log = options.log;
    this.clock = options.clock ?? systemClock;
    this.rng = mulberry32(this.config.seed);
    this.limits = this.config.limits;
    this.logger = options.logger ?? defaultLogger;
    this.fallback = options.fallback ?? null;
    this.noIngestReason = options.noIngestReason ?? null;
    this.logQueueDepth = options.logQueueDepth ?? null;
    this.loopDelay = eventLoopDelaySource(options.eventLoopDelayMs);
    this.loopDelayMs = this.loopDelay.delayMs;
    this.auth = new Authenticator(this.config.tenants);
    this.validator = new EventValidator(this.config.schemas, this.limits);
    this.batchPool = new BatchPool(this.config.batchWorkers, { schemas: this.config.schemas, limits: this.limits });
    this.limiter = new TenantLimiter(this.config.tenants, this.config.rateLimit, this.clock);
    this.shedder = new Shedder(this.config.shedding, this.clock, this.rng);
    this.breaker = new CircuitBreaker(
      this.config.shedding.breakerFailuresMax,
      this.config.shedding.breakerOpenMs,
      this.clock,
    );
    this.dedupe = new DedupeWindow(this.limits.dedupeIdsPerTenantMax, this.limits.dedupeWindowMs);
    this.ids = new EventIdGenerator(this.clock);
    this.registry = options.registry ?? new Registry();
    this.metrics = new GatewayMetrics(this.registry, {
      inflight: () => this.inflightEvents,
      eventLoopDelayMs: () => this.loopDelayMs(),
      breaker: () => this.breaker.state(),
    });
    this.breaker.onTransition = (from, to) => {
      this.metrics.breakerTransitions.labels(to).inc();
      this.logger({
        level: to === 'open' ? 'error' : 'warn',
        message: `log circuit breaker ${from} -> ${to}`,
        details: { from, to },
      });
    };
    this.counters = {
      requests: 0,
      received: 0,
      accepted: 0,
      duplicates: 0,
      rejected: 0,
      rejectedByCode: new Map(),
      acceptedByTenant: new Map(),
      acceptedByPartition: new Array<number>(this.log.partitions).fill(0),
      shed: 0,
      delayed: 0,
      rateLimited: 0,
      shadowed: 0,
      batchesOnWorker: 0,
      batchesInline: 0,
    };
    this.startedAtMs = this.clock.monoMs();
    this.handler = (req, res) => handleRequest(this, req, res);
  }

  signals(): OverloadSignals {
    return {
      inflightEvents: this.inflightEvents,
      logQueueDepth: this.logQueueDepth === null ? 0 : this.logQueueDepth(),
      eventLoopDelayMs: this.loopDelayMs(),
    };
  }

  onAppendError(err: unknown, partition: number): void {
    this.logger({
      level: 'warn',
      message: `log append failed on partition ${partition}: ${(err as Error)?.message ?? String(err)}`,
      details: { partition, code: (err as { code?: string })?.code },
    });
  }

  /** Called once per answered (or aborted) ingest request. */
  finished(ex: Exchange, status: number): void {
    this.counters.requests += 1;
    if (this.draining && status !== 499 && !ex.res.writableFinished) {
      // While draining, a request counts as in flight until its answer has left (a pipelined answer may still
      // be queued behind an earlier one on its connection); otherwise it ends when it is answered.
      ex.res.once('close', () => this.requestEnded());
    } else {
      this.requestEnded();
    }
    const route = ex.route === 'events' ? '/v1/events' : '/v1/events/batch';
    const now = this.clock.monoMs();
    const ms = now - ex.startMs;
    this.metrics.countRequest(route, status, ms / 1000);
    if (status === 202) {
      const i = this.latencyNext;
      this.latencyMs[i] = ms;
      this.latencyAtMs[i] = now;
      this.latencyNext = (i + 1) % latencyRingSize;
    }
  }

  private requestEnded(): void {
    this.inflightRequests -= 1;
    if (this.inflightRequests === 0 && this.idleWaiter !== null) this.idleWaiter();
  }

  internalError(err: unknown): void {
    this.logger({ level: 'error', message: `internal error: ${(err as Error)?.stack ?? String(err)}` });
  }

  createServer(): Server {
    const server = createServer(serverOptions(this.limits), this.handler);
    server.on('clientError', onClientError);
    return server;
  }

  listen(address: { host?: string; port?: number } = {}): Promise<{ host: string; port: number; url: string }> {
    if (this.server !== null) throw shockError('SHOCK_CELL_LISTEN_FAILED', 'the gateway is already listening');
    const server = this.createServer();
    this.server = server;
    const host = address.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      server.once('error', (err) => {
        this.server = null;
        reject(
          shockError(
            'SHOCK_CELL_LISTEN_FAILED',
            `cannot listen on ${host}:${address.port ?? 0}: ${err.message}`,
            { host, port: address.port },
            err,
          ),
        );
      });
      server.listen(address.port ?? 0, host, () => {
        const a = server.address() as AddressInfo;
        const urlHost = a.family === 'IPv6' ? `[${a.address}]` : a.address;
        resolve({ host: a.address, port: a.port, url: `http://${urlHost}:${a.port}` });
      });
    });
  }

  async close(options: { drainMs?: number } = {}): Promise<void> {
    const drainMs = options.drainMs ?? 10_000;
    this.draining = true;
    const server = this.server;
    const closed = server === null ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
    server?.closeIdleConnections();
    if (this.inflightRequests > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.idleWaiter = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs))),
      ]);
      clearTimeout(timer);
      this.idleWaiter = null;
    }
    server?.closeAllConnections();
    await closed;
    await this.batchPool.close();
    this.loopDelay.stop();
  }

  stats(): GatewayStats {
    const now = this.clock.monoMs();
    const recent: number[] = [];
    for (let i = 0; i < latencyRingSize; i++) {
      const at = this.latencyAtMs[i];
      if (at > 0 && now - at <= latencyWindowMs) recent.push(this.latencyMs[i]);
    }
    recent.sort((a, b) => a - b);
    const q = (p: number) =>
      recent.length === 0 ? null : recent[Math.min(recent.length - 1, Math.ceil(p * recent.length) - 1)];
    const signals = this.signals();
    const pressure = this.shedder.assess(signals, 0);
    const acted = this.counters.shed + this.counters.delayed;
    if (now - this.lastShedCheckMs >= 1000) {
      this.shedActive = acted > this.lastShedCount;
      this.lastShedCount = acted;
      this.lastShedCheckMs = now;
    }
    return {
      uptimeSec: (now - this.startedAtMs) / 1000,
      requestsTotal: this.counters.requests,
      receivedEventsTotal: this.counters.received,
      acceptedEventsTotal: this.counters.accepted,
      duplicateEventsTotal: this.counters.duplicates,
      rejectedEventsTotal: this.counters.rejected,
      rejectedByCode: Object.fromEntries(this.counters.rejectedByCode),
      acceptedByTenant: Object.fromEntries(this.counters.acceptedByTenant),
      acceptedByPartition: [...this.counters.acceptedByPartition],
      inflightEvents: this.inflightEvents,
      inflightRequests: this.inflightRequests,
      latencyMsP50: q(0.5),
      latencyMsP99: q(0.99),
      rateLimit: {
        mode: this.config.rateLimit.mode,
        share: this.config.rateLimit.share,
        limitedEventsTotal: this.counters.rateLimited,
      },
      shedding: {
        mode: this.config.shedding.mode,
        shadow: this.config.shedding.shadow,
        active: this.shedActive || pressure.p > 0 || pressure.delayMs > 0,
        loadRatio: pressure.ratio,
        reason: pressure.reason,
        eventLoopDelayMs: signals.eventLoopDelayMs,
        shedEventsTotal: this.counters.shed,
        delayedRequestsTotal: this.counters.delayed,
        shadowDecisionsTotal: this.counters.shadowed,
      },
      breaker: {
        state: this.breaker.state(),
        failures: this.breaker.failureCount(),
        msUntilProbe: this.breaker.msUntilProbe(),
      },
      batchWorkers: {
        workers: this.config.batchWorkers.workers,
        ready: this.batchPool.readyWorkers,
        preparedOnWorkerTotal: this.counters.batchesOnWorker,
        preparedInlineTotal: this.counters.batchesInline,
      },
      draining: this.draining,
    };
  }

  reload(update: { tenants?: readonly GatewayTenant[]; schemas?: Readonly<Record<string, object>> }): void {
    // Build everything first so a bad update changes nothing.
    const validator = update.schemas === undefined ? null : new EventValidator(update.schemas, this.limits);
    let auth: Authenticator | null = null;
    if (update.tenants !== undefined) {
      resolveGatewayConfig({ ...this.config, tenants: update.tenants });
      auth = new Authenticator(update.tenants);
    }
    if (validator !== null && update.schemas !== undefined) {
      this.validator = validator;
      this.batchPool.reload(update.schemas);
    }
    if (auth !== null && update.tenants !== undefined) {
      this.auth = auth;
      for (const t of update.tenants) {
        const b = this.limiter.has(t.id) ? this.limiter.bucket(t.id) : null;
        const share = this.config.rateLimit.share;
        if (b === null || b.ratePerMs !== (t.ratePerSec * share) / 1000 || b.burst !== Math.max(1, t.burst * share)) {
          this.limiter.set(t.id, t.ratePerSec, t.burst);
        }
      }
    }
  }

  breakerState(): BreakerState {
    return this.breaker.state();
  }

  fallbackHandler(): RequestListener | null {
    return this.fallback;
  }
}

function routeOf(url: string | undefined): Route | null {
  if (url === undefined) return null;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path === '/v1/events') return 'events';
  if (path === '/v1/events/batch') return 'batch';
  return null;
}

function handleRequest(gw: GatewayImpl, req: IncomingMessage, res: ServerResponse): void {
  const route = routeOf(req.url);
  if (route === null) {
    if (gw.fallbackHandler() !== null) return gw.fallbackHandler()!(req, res);
    sendError(res, rejection('SHOCK_INGRESS_NOT_FOUND', `no route ${req.method} ${req.url}`), {});
    return;
  }
  if (gw.noIngestReason !== null) {
    req.resume();
    sendError(res, rejection('SHOCK_INGRESS_NOT_FOUND', gw.noIngestReason, { route: req.url }), {});
    return;
  }
  const ex: Exchange = {
    req,
    res,
    route,
    startMs: gw.clock.monoMs(),
    receivedAtMs: gw.clock.nowMs(),
    principal: null,
    h: {},
    answered: false,
  };
  gw.inflightRequests += 1;
  ingest(gw, ex).catch(onInternalError.bind(gw));
}

function onInternalError(this: GatewayImpl, err: unknown): void {
  this.internalError(err);
}

/** Creates the gateway. Validates the configuration (SHOCK_CONFIG_INVALID listing every problem) and compiles every schema once. */
export function createGateway(options: GatewayOptions): Gateway {
  return new GatewayImpl(options);
}
