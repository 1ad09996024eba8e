/**
 * One cell (seed §6): the gateway, the durable log (the file log, or NATS JetStream), the consumers and the sink (SQLite, or PostgreSQL) of one
 * configuration, sharing nothing with any other cell. `startCell` first checks, before it writes anything, that the
 * ports are free and the data directory writable (preflight.ts), then opens them in dependency order (log → metrics →
 * gateway → consumers → listeners) and `close` takes them down in reverse, so that nothing accepted is lost:
 *
 *   1. stop accepting (close the listeners; requests still arriving on open sockets get 503
 *      SHOCK_INGRESS_SHUTTING_DOWN; /readyz turns 503 at once),
 *   2. let in-flight appends finish (bounded by `drainMs`), each answered 202 only once durable,
 *   3. stop the consumers (each commits the offset of its last written batch),
 *   4. close the log (flush, fdatasync, release the directory lock).
 */
import { join } from 'node:path';
import type { Server } from 'node:http';
import { shockError } from '../base/index.js';
import { describeSink } from '../consume/index.js';
import { createGateway, type Gateway } from '../ingress/index.js';
import { openJetStreamLog, type FileLog, type JetStreamLog, type JournalStats } from '../log/index.js';
import { createAdminServer } from './admin.js';
import { resolveAdminToken, type AdminToken } from './admin-access.js';
import { createDeadLetterDesk } from './dead-letters.js';
import { loadCellConfig, type CellConfig, type CellRole, type TenantConfig } from './config.js';
import {
  cellSinkChoice,
  gatewayOnlyConsumers,
  startCellConsumers,
  type CellConsumers,
  type CellEventSink,
} from './consumers.js';
import { devTenant, ensureDevKey } from './dev-key.js';
import { startGenerationConsumers, type GenerationConsumers } from './generation-consumers.js';
import { openGenerationLog, type GenerationLog } from './generation-log.js';
import { createCellRegistry } from './metrics.js';
import { checkListenAddresses, prepareDataDir } from './preflight.js';
import { createCellRoutes } from './routes.js';
import { CellSampler } from './sampler.js';
import { logRetentionStats, type CellStats, type ConsumerHealthStatsKeys } from './stats.js';
import { TenantTable } from './tenants.js';
import {
  applyTenantOverrides,
  loadTenantOverrides,
  saveTenantOverrides,
  tenantOverridesPath,
  type TenantOverrides,
} from './tenant-overrides.js';

/** Options of `startCell` beyond the configuration. */
export interface StartCellOptions {
  /** The configuration file, re-read by `POST /admin/schemas/reload`. */
  configFile?: string;
  /** The tool version shown in `/v1/stats` and the dashboard. */
  version?: string;
  /** What the consumers report (a worker restarted, a retention skip, …); `shock serve` prints it on stderr. */
  onEvent?: CellEventSink;
  /** The admin token (`SHOCK_ADMIN_TOKEN`); absent: the one kept in `admin.tokenFile`, created on first start. */
  adminToken?: string;
}

/** What `describe()` tells the operator (the serve banner, `--json`). */
export interface CellDescription {
  /** What this process runs: the whole cell, or one role of a cell spread over processes. */
  role: CellRole;
  url: string;
  adminUrl: string | null;
  dataDir: string;
  partitions: number;
  workers: number;
  group: string;
  sinkPath: string;
  /** The sink in use: the SQLite file, or `postgres host:port/db schema s` (never a password). */
  sink: string;
  /** The log in use: `file <dir>`, or `jetstream <servers> streams <prefix>_<p> ×<replicas>`. */
  log: string;
  /** Admin tenant overrides that no longer apply at this start (tenant-overrides.ts), for the operator to see. */
  tenantNotices: string[];
  devKey: string | null;
  devKeyFile: string | null;
  /** Where the admin token is kept; null when it was given by `SHOCK_ADMIN_TOKEN` or the admin listener is off. */
  adminTokenFile: string | null;
  /** Base URL of `/metrics`, `/v1/stats` and the dashboard: the admin listener, or the public one when public. */
  observabilityUrl: string | null;
  curl: string;
}

/** A running cell. */
export interface Cell {
  readonly config: CellConfig;
  /** Base URL of the public listener (`http://host:port`). */
  readonly url: string;
  /** Base URL of the admin listener, or null when disabled. */
  readonly adminUrl: string | null;
  readonly tenants: TenantTable;
  stats(): CellStats;
  readiness(): { ready: boolean; notReady: string[] };
  describe(): CellDescription;
  /** Graceful shutdown (idempotent): stop accepting, finish appends, stop consumers, close the log. */
  close(): Promise<void>;
}

interface Parts {
  log: FileLog | JetStreamLog;
  gateway?: Gateway;
  consumers?: CellConsumers;
  admin?: Server;
  sampler?: CellSampler;
}

/** Starts a cell from a validated configuration (see `loadCellConfig`). */
export async function startCell(config: CellConfig, options: StartCellOptions = {}): Promise<Cell> {
  // Nothing is written before the ports are known free and the data directory writable (preflight.ts), nor before a
  // shared log (JetStream) answered: an unreachable cluster or a partition count the streams disagree with fails
  // first. The file log lives in the data directory, so it opens once that is ready.
  await checkListenAddresses(config);
  const sharedLog = config.log.engine === 'jetstream' ? await openCellLog(config) : undefined;
  try {
    prepareDataDir(config.dataDir);
  } catch (err) {
    await sharedLog?.close().catch(() => undefined);
    throw err;
  }
  const dev = config.tenants.length === 0 ? ensureDevKey(config.dataDir) : null;
  const adminToken = config.admin.enabled ? resolveAdminToken(config.admin.tokenFile, options.adminToken) : null;
  // Tenant changes made through the admin API, laid over the configuration (tenant-overrides.ts).
  const overridesFile = tenantOverridesPath(config.dataDir);
  const overrides = loadTenantOverrides(overridesFile);
  const applied = applyTenantOverrides(dev ? [devTenant(dev.key)] : config.tenants, overrides);
  const initialTenants: TenantConfig[] = applied.tenants;
  const tenantStore = {
    overrides,
    ignored: applied.ignored,
    save: (o: TenantOverrides) => saveTenantOverrides(overridesFile, o),
  };
  const log = sharedLog ?? (await openCellLog(config));
  const parts: Parts = { log };
  try {
    return await assemble(config, options, parts, initialTenants, dev?.key ?? null, tenantStore, adminToken);
  } catch (err) {
    await closeParts(parts, 0).catch(() => undefined);
    throw err;
  }
}

/**
 * The cell's log: the embedded file log across its generations (`<dataDir>/log`, then `log-g<n>` after each
 * reshard; see generation-log.ts), or the JetStream log (`log.engine`).
 */
function openCellLog(config: CellConfig): Promise<GenerationLog | JetStreamLog> {
  const { engine, jetstream, partitions } = config.log;
  if (engine === 'jetstream') {
    return openJetStreamLog({
      ...jetstream,
      servers: [...jetstream.servers],
      partitions,
      retentionPolicy: config.log.retention.policy,
      retentionGroups: [config.consumers.group],
    });
  }
  return openGenerationLog(config.dataDir, partitions, {
    groupCommitWindowMs: config.log.groupCommitWindowMs,
    segmentBytesMax: config.log.segmentBytesMax,
    journal: config.log.journal,
    retention: config.log.retention,
    // Interest retention waits for the cell's group even before its first commit (and for any group with offsets).
    retentionGroups: [config.consumers.group],
  });
}

function isGenerationLog(log: FileLog | JetStreamLog): log is GenerationLog {
  return 'reshard' in log;
}

function reshardUnsupported(config: CellConfig) {
  return shockError(
    'SHOCK_CELL_RESHARD_UNSUPPORTED',
    `the ${config.log.engine} log engine does not support resharding a running cell yet`,
    { engine: config.log.engine, hint: 'start a new cell with the new partition count and move tenants to it' },
  );
}

async function assemble(
  config: CellConfig,
  options: StartCellOptions,
  parts: Parts,
  initialTenants: TenantConfig[],
  devKey: string | null,
  tenantStore: { overrides: TenantOverrides; ignored: string[]; save: (o: TenantOverrides) => void },
  adminToken: AdminToken | null,
): Promise<Cell> {
  const startedMs = Date.now();
  const state = { draining: false, closing: null as Promise<void> | null };
  const group = config.consumers.group;
  const log = parts.log;
  const observability = {
    metrics: () => registry.metrics(),
    metricsContentType: '',
    readiness: () => readiness(),
    stats: () => stats(),
  };
  const registry = createCellRegistry({
    group,
    logPartitions: () => log.stats().partitions,
    logJournal: () => (log.stats() as { journal?: JournalStats | null }).journal ?? null,
    lag: () => sampler.lag(),
    consumerTotals: () => sampler.consumerTotals(),
    consumerHealth: () => consumers.health(),
    ready: () => readiness().ready,
    generations: () => generationConsumers?.status(),
  });
  observability.metricsContentType = registry.contentType;
  const gateway = createGateway({
    log,
    registry,
    config: {
      tenants: initialTenants,
      schemas: config.schemas,
      limits: config.limits,
      shedding: config.shedding,
      rateLimit: config.rateLimit,
      batchWorkers: config.batchWorkers,
    },
    fallback: createCellRoutes(observability, { observabilityPublic: config.http.observabilityPublic }),
    noIngestReason:
      config.role === 'consumer'
        ? 'this process runs role consumer and takes no events: send them to a gateway of the cell (role gateway or all)'
        : undefined,
  });
  parts.gateway = gateway;
  const onEvent: CellEventSink = options.onEvent ?? (() => undefined);
  const generationConsumers: GenerationConsumers | undefined = isGenerationLog(log)
    ? await startGenerationConsumers(log, config, onEvent)
    : undefined;
  // Role gateway: no consumers here (other processes of the cell run them); the group's offsets still give the lag.
  const consumers =
    config.role === 'gateway'
      ? gatewayOnlyConsumers(log, group)
      : (generationConsumers ?? (await startCellConsumers(log, config, onEvent)));
  parts.consumers = consumers;
  const sampler = new CellSampler({ log, group, gateway: () => gateway.stats(), consumers: () => consumers.figures() });
  parts.sampler = sampler;
  const tenants = new TenantTable(initialTenants, (list) => gateway.reload({ tenants: list }), tenantStore);

  function readiness(): { ready: boolean; notReady: string[] } {
    const notReady: string[] = [];
    if (state.draining) notReady.push('draining');
    if (log.stats().partitions.some((p) => p.failed)) notReady.push('a log partition failed');
    notReady.push(...(log.health?.().problems ?? [])); // JetStream: NATS unreachable, a partition failing
    const c = consumers.figures();
    if (!c.running) notReady.push('consumers not running');
    if (gateway.breakerState() === 'open') notReady.push('breaker open');
    return { ready: notReady.length === 0, notReady };
  }

  function stats(): CellStats {
    const r = readiness();
    const sampled = sampler.stats({
      version: options.version ?? 'dev',
      uptimeSec: Math.round((Date.now() - startedMs) / 1000),
      partitions: log.partitions,
      ready: r.ready,
      notReady: r.notReady,
      draining: state.draining,
    });
    const s = {
      ...sampled,
      consumers: { ...sampled.consumers, ...consumerHealthStats(consumers) },
      log: logRetentionStats(config.log.retention.policy, log.stats().partitions),
    };
    return generationConsumers ? { ...s, reshard: generationConsumers.status() } : s;
  }

  /** POST /admin/reshard: switch appends to a new generation, then let the consumers drain the old one. */
  async function reshard(partitions: number): Promise<unknown> {
    if (!isGenerationLog(log) || generationConsumers === undefined) throw reshardUnsupported(config);
    if (state.draining) throw shockError('SHOCK_CELL_NOT_READY', 'the cell is shutting down');
    await log.reshard(partitions);
    generationConsumers.generationsChanged();
    return generationConsumers.status();
  }

  const { url } = await gateway.listen({ host: config.http.host, port: config.http.port });
  let adminUrl: string | null = null;
  if (config.admin.enabled && adminToken !== null) {
    const admin = createAdminServer({
      access: { token: adminToken.token, host: config.admin.host },
      tenants,
      stats,
      reloadSchemas: async () => {
        if (options.configFile === undefined) {
          throw shockError('SHOCK_CELL_ADMIN_INVALID', 'the cell was started without --config: nothing to reload');
        }
        let fresh: CellConfig;
        try {
          fresh = loadCellConfig(options.configFile);
        } catch (err) {
          // The running schemas stay as they were; the operator fixes the file and reloads again.
          const message = `reload refused, nothing changed: ${(err as Error).message}`;
          throw shockError('SHOCK_CELL_ADMIN_INVALID', message, { file: options.configFile }, err);
        }
        gateway.reload({ schemas: fresh.schemas });
        return { types: Object.keys(fresh.schemas).sort() };
      },
      deadLetters: createDeadLetterDesk({ group, sink: cellSinkChoice(config), log: () => log }),
      reshardStatus: () => {
        if (generationConsumers === undefined) throw reshardUnsupported(config);
        return generationConsumers.status();
      },
      reshard,
      pauseConsumers: () => consumers.pause(),
      resumeConsumers: () => consumers.resume(),
      observability,
    });
    parts.admin = admin;
    adminUrl = await listen(admin, config.admin.host, config.admin.port);
  }
  sampler.start();

  return {
    config,
    url,
    adminUrl,
    tenants,
    stats,
    readiness,
    describe: () => ({
      ...describeCell(config, log, url, adminUrl, devKey),
      adminTokenFile: adminToken?.file ?? null,
      tenantNotices: tenantStore.ignored,
    }),
    close() {
      if (state.closing === null) {
        state.draining = true;
        state.closing = closeParts(parts, config.drainMs);
      }
      return state.closing;
    },
  };
}

/** The consumers' restarts, last error and retention skips, as `/v1/stats` shows them. */
function consumerHealthStats(consumers: CellConsumers): Pick<CellStats['consumers'], ConsumerHealthStatsKeys> {
  const h = consumers.health();
  const removed = Object.values(h.removedBeforeConsumed);
  return {
    restarts: Object.values(h.restartsByReason).reduce((a, n) => a + n, 0),
    restartsByReason: h.restartsByReason,
    lastError: h.lastError,
    removedBeforeConsumed: removed.reduce((a, n) => a + n, 0),
    removedBeforeConsumedByPartition: Object.fromEntries(
      Object.entries(h.removedBeforeConsumed).map(([p, n]) => [String(p), n]),
    ),
    membership: h.membership,
  };
}

/** Reverse order of start; every step runs even if an earlier one failed; the first error is rethrown. */
async function closeParts(parts: Parts, drainMs: number): Promise<void> {
  const errors: unknown[] = [];
  const step = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      errors.push(err);
    }
  };
  parts.sampler?.stop();
  const admin = parts.admin;
  if (admin) await step(() => closeServer(admin));
  const gateway = parts.gateway;
  if (gateway) await step(() => gateway.close({ drainMs }));
  const consumers = parts.consumers;
  if (consumers) await step(() => consumers.stop());
  await step(() => parts.log.close());
  if (errors.length > 0) throw errors[0];
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? 'choose another --admin-port (0 = any free port)' : undefined;
      const message = `the admin listener cannot listen on ${host}:${port}: ${err.code ?? err.message}`;
      reject(shockError('SHOCK_CELL_LISTEN_FAILED', message, { host, port, hint }, err));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const a = server.address() as { address: string; port: number; family: string };
      resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
    });
  });
}

function describeCell(
  config: CellConfig,
  log: FileLog | JetStreamLog,
  url: string,
  adminUrl: string | null,
  devKey: string | null,
): Omit<CellDescription, 'tenantNotices' | 'adminTokenFile'> {
  const key = devKey ?? '<your API key>';
  const body = JSON.stringify({ type: 'page.view', payload: { url: '/hello' } });
  return {
    role: config.role,
    url,
    adminUrl,
    dataDir: config.dataDir,
    // After a reshard: the active generation's count and directory, not the configuration's.
    partitions: log.partitions,
    workers: config.consumers.workers,
    group: config.consumers.group,
    sinkPath: config.consumers.sinkPath,
    sink: describeSink(cellSinkChoice(config)),
    log:
      config.log.engine === 'jetstream'
        ? `jetstream ${config.log.jetstream.servers.join(',')} streams ${config.log.jetstream.streamPrefix}_<p> ×${config.log.jetstream.replicas}`
        : `file ${'dir' in log ? log.dir : join(config.dataDir, 'log')}`,
    devKey,
    devKeyFile: devKey ? join(config.dataDir, 'dev-key') : null,
    observabilityUrl: config.http.observabilityPublic ? url : adminUrl,
    curl: `curl -i ${url}/v1/events -H 'authorization: Bearer ${key}' -H 'content-type: application/json' -d '${body}'`,
  };
}
