/**
 * The configuration of one cell: defaults in one object, a JSON Schema that rejects unknown keys and reports every
 * problem at once with its path, validated once at start-up, then deep-frozen (fastify `build-validation.js` and
 * `initial-config-validation.js`). The file may be YAML or JSON (YAML is a superset of JSON, so one parser reads
 * both). API keys are stored only as `sha256:<hex>` hashes; `hashApiKey` makes them.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { checkLimits, limits, shockError, type Limits } from '../base/index.js';
import { sheddingDefaults, type SheddingOptions } from '../ingress/index.js';
import {
  fileRetentionProblems,
  retentionProblems,
  type FileRetentionConfig,
  type RetentionPolicy,
} from '../log/index.js';

/**
 * The cell's default free-space floor of the disk holding the file log (`log.retention.diskFreeBytesMin`): 256 MiB,
 * several seconds of appends at disk speed, so the log refuses appends (SHOCK_LOG_FULL) before the disk is full
 * and an fdatasync fails (which fail-stops the partition until a restart).
 */
export const LOG_DISK_FREE_BYTES_MIN_DEFAULT = 256 * 1024 * 1024;

/** One tenant: who may write (hashed keys) and how fast (a token bucket of `ratePerSec` refill, `burst` capacity). */
export interface TenantConfig {
  id: string;
  /** API key hashes, `sha256:<64 hex>` (see `hashApiKey`). */
  keyHashes: string[];
  /** Sustained events per second this tenant may append (the token bucket's refill rate). */
  ratePerSec: number;
  /** Events the tenant may send at once above the rate (the token bucket's capacity). */
  burst: number;
  /** A disabled tenant's keys answer 403. */
  disabled: boolean;
  /** Event types this tenant may write (403 for others); absent: every registered type. */
  types?: string[];
}

/** Overload protection of the gateway process (seed §5.3); the gateway's `SheddingOptions`, every key optional. */
export type SheddingConfig = SheddingOptions;

/** Tenant rate limits of this process (the gateway's `RateLimitOptions`). */
export interface RateLimitConfig {
  /** `enforce`: 429 beyond the bucket; `shadow`: count and add a header only (Envoy-style shadow mode). */
  mode: 'enforce' | 'shadow';
  /** This process's share 1/K of every tenant's rate when K gateway processes serve the cell. */
  share: number;
  /** Up to this many seconds of random jitter added to Retry-After. */
  retryJitterSecMax: number;
}

/** The sink engine of a cell. `postgres` is for sinks that outgrow one machine (docs/consume.md). */
export interface SinkConfig {
  /** `sqlite` (default): the file `consumers.sinkPath`. `postgres`: the database at `postgres.url`. */
  engine: 'sqlite' | 'postgres';
  postgres: {
    /**
     * `postgres://user@host:5432/database`. Required when the engine is postgres. A password may be in the URL or,
     * better, in `PGPASSWORD` or `~/.pgpass`, which the driver reads.
     */
    url: string;
    /** Schema of the sink's tables, created if missing (a lower-case identifier). */
    schema: string;
    /** Connections per consumer worker. */
    poolMax: number;
  };
}

/** The cell's whole configuration, after defaults. Every path is absolute once loaded. */
/**
 * What one `shock serve` process runs: `all` (default) the whole cell; `gateway` only the HTTP ingress that appends
 * (no consumers); `consumer` only the consumers (no ingest routes). Roles other than `all` scale a cell out over
 * processes and machines and need the shared engines: `log.engine: jetstream` and `sink.engine: postgres`.
 */
export const cellRoles = ['all', 'gateway', 'consumer'] as const;
export type CellRole = (typeof cellRoles)[number];

export interface CellConfig {
  /** What this process runs (`cellRoles`). */
  role: CellRole;
  /** The log, offsets and (with the `sqlite` sink engine) the sink live here. */
  dataDir: string;
  /**
   * The public listener: events, /healthz and /readyz. `observabilityPublic: true` also serves /metrics, /v1/stats
   * and the dashboard there (their series name tenants and volumes; by default they are on the admin listener).
   */
  http: { host: string; port: number; observabilityPublic: boolean };
  /**
   * The admin JSON API (and, by default, /metrics, /v1/stats and the dashboard); loopback only unless you mean it.
   * `port: 0` picks a free port; `enabled: false` none. Requests carry the admin token kept in `tokenFile` (empty:
   * `<dataDir>/admin-token`), created on first start unless `SHOCK_ADMIN_TOKEN` gives it.
   */
  admin: { enabled: boolean; host: string; port: number; tokenFile: string };
  log: {
    partitions: number;
    groupCommitWindowMs: number;
    segmentBytesMax: number;
    /**
     * The file engine's shared journal (docs/adr/004-shared-journal.md): one fdatasync makes the small appends of
     * every partition durable. `false`: each partition's group commit fdatasyncs its own segment.
     */
    journal: boolean;
    /**
     * Retention (docs/log.md, "Retention"). `policy` (both engines): `interest` (default) keeps every record until
     * every consumer group has committed past it, `maxAge`/`maxBytes` then bound the consumed history only, and
     * unconsumed records at `maxBytes` (or the disk below `diskFreeBytesMin`) make the ingress answer 503
     * SHOCK_LOG_FULL; `limits` removes records past `maxAge`/`maxBytes` whoever is behind. For the file engine: `maxAge`
     * a duration such as `7d` (as `jetstream.maxAge`; unset or `"0"` = unlimited), `maxBytes` per partition (as
     * `jetstream.maxBytes`; unset or -1 = unlimited), `diskFreeBytesMin` the disk's free-space floor (0 = none).
     */
    retention: FileRetentionConfig & { policy: RetentionPolicy; diskFreeBytesMin: number };
    /** `file`: the embedded file log in `<dataDir>/log`. `jetstream`: streams on a NATS JetStream cluster. */
    engine: 'file' | 'jetstream';
    /** The JetStream log (docs/log.md, "JetStream engine"); used when `engine` is `jetstream`. */
    jetstream: {
      servers: string[];
      streamPrefix: string;
      replicas: number;
      /**
       * Retention, NATS stream limits per partition (docs/log.md, "Retention"): a duration such as `7d`, or unset
       * (unlimited); whole numbers, or unset / -1 (unlimited).
       */
      maxAge?: string;
      maxBytes?: number;
      maxMsgs?: number;
      maxMsgsPerSubject?: number;
      /** How long a retried append of the same `(tenant, event_id)` is stored once (default 2 minutes). */
      duplicateWindowMs?: number;
    };
  };
  consumers: {
    /** Consumer group name; offsets are committed under it. */
    group: string;
    /** Worker threads; partitions are spread over them (each partition has exactly one owner). */
    workers: number;
    /** Handler module (absolute path, or relative to the configuration file). Empty: the built-in example. */
    handler: string;
    /** SQLite sink file; empty means `<dataDir>/sink.sqlite`. */
    sinkPath: string;
    /** Artificial per-batch delay in the handler, for surge experiments (0 in production). */
    handlerDelayMs: number;
    /** Nice value of the consumer threads (0–19): the ingress is scheduled before them on shared cores. */
    niceness: number;
    /**
     * With `log.engine: jetstream` the consumers of every process of the group share the partitions by leases in
     * the bucket `<streamPrefix>_leases` (docs/consume.md, "A group across processes"): a lease lives this long
     * without a heartbeat (a crashed or stalled process's partitions move after it). Every member must use the same.
     */
    leaseMs: number;
    /** This process's member id in the group (1–100 of `[A-Za-z0-9_-]`); empty: `<host>-<pid>-<random>`. */
    memberId: string;
  };
  /** Where the consumers write: the embedded SQLite file (`consumers.sinkPath`) or a PostgreSQL database. */
  sink: SinkConfig;
  /** Tenants. Empty: one `default` tenant with a development key kept in `<dataDir>/dev-key` is created. */
  tenants: TenantConfig[];
  /**
   * JSON Schema of `payload` per event type (compiled once by ajv). A type that is not listed is rejected
   * with 400 `SHOCK_INGRESS_UNKNOWN_TYPE`.
   */
  schemas: Record<string, Record<string, unknown>>;
  shedding: SheddingConfig;
  rateLimit: RateLimitConfig;
  /**
   * Batch workers of the gateway: `workers` threads prepare batch bodies of at least `bytesMin` bytes (absent: one
   * worker on a machine with two or more cores, 16 KiB; `workers: 0` prepares every batch on the gateway's thread).
   */
  batchWorkers: { workers?: number; bytesMin?: number };
  /** Overrides of the limits in `src/base/limits.ts` (bodies, batches, timeouts...). */
  limits: Partial<Limits>;
  /** Grace period of a graceful shutdown: in-flight requests get this long before sockets are cut. */
  drainMs: number;
}

/** Every default, in one place. `dataDir` and paths are resolved against the working directory on load. */
export const cellConfigDefaults: CellConfig = {
  role: 'all',
  dataDir: './shock-data',
  http: { host: '127.0.0.1', port: 8080, observabilityPublic: false },
  admin: { enabled: true, host: '127.0.0.1', port: 8081, tokenFile: '' },
  log: {
    partitions: 8,
    groupCommitWindowMs: limits.groupCommitWindowMs,
    segmentBytesMax: limits.segmentBytesMax,
    journal: true,
    retention: { policy: 'interest', diskFreeBytesMin: LOG_DISK_FREE_BYTES_MIN_DEFAULT },
    engine: 'file',
    jetstream: { servers: [], streamPrefix: 'shock', replicas: 1 },
  },
  consumers: {
    group: 'sink',
    workers: 2,
    handler: '',
    sinkPath: '',
    handlerDelayMs: 0,
    niceness: 10,
    leaseMs: 10_000,
    memberId: '',
  },
  sink: { engine: 'sqlite', postgres: { url: '', schema: 'shock', poolMax: 2 } },
  tenants: [],
  schemas: {
    'page.view': {
      type: 'object',
      required: ['url'],
      properties: { url: { type: 'string', maxLength: 2048 }, referrer: { type: 'string', maxLength: 2048 } },
      additionalProperties: true,
    },
    'order.created': {
      type: 'object',
      required: ['order_id', 'amount_cents'],
      properties: {
        order_id: { type: 'string', minLength: 1, maxLength: 128 },
        amount_cents: { type: 'integer', minimum: 0 },
        currency: { type: 'string', pattern: '^[A-Z]{3}$' },
      },
      additionalProperties: true,
    },
    generic: { type: 'object' },
  },
  shedding: { ...sheddingDefaults },
  rateLimit: { mode: 'enforce', share: 1, retryJitterSecMax: 1 },
  batchWorkers: {},
  limits: {},
  drainMs: 10_000,
};

/** Default token bucket of a tenant that names no rate. */
export const tenantDefaults = { ratePerSec: 10_000, burst: 20_000, disabled: false } as const;

const keyHashPattern = '^sha256:[0-9a-f]{64}$';
const idPattern = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

const tenantSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'keyHashes'],
  properties: {
    id: { type: 'string', pattern: idPattern },
    keyHashes: { type: 'array', items: { type: 'string', pattern: keyHashPattern } },
    ratePerSec: { type: 'number', exclusiveMinimum: 0 },
    burst: { type: 'number', minimum: 1 },
    disabled: { type: 'boolean' },
    types: { type: 'array', items: { type: 'string', minLength: 1 } },
  },
} as const;

const limitProperties = Object.fromEntries(
  Object.keys(limits).map((k) => [k, { type: 'number', exclusiveMinimum: 0 }]),
) as Record<string, unknown>;

/** The schema of the configuration file (every section optional; unknown keys are errors). */
export const cellConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    role: { enum: [...cellRoles] },
    dataDir: { type: 'string', minLength: 1 },
    http: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        observabilityPublic: { type: 'boolean' },
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        tokenFile: { type: 'string' },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: {
        partitions: { type: 'integer', minimum: 1, maximum: 1024 },
        groupCommitWindowMs: { type: 'number', minimum: 0, maximum: 1000 },
        segmentBytesMax: { type: 'integer', minimum: 4096 },
        journal: { type: 'boolean' },
        retention: {
          type: 'object',
          additionalProperties: false,
          // Checked with their own words in checkRelations (fileRetentionProblems, shared with the log).
          properties: {
            policy: { type: 'string' },
            maxAge: { type: ['string', 'number'] },
            maxBytes: { type: 'number' },
            diskFreeBytesMin: { type: 'number' },
          },
        },
        engine: { enum: ['file', 'jetstream'] },
        jetstream: {
          type: 'object',
          additionalProperties: false,
          properties: {
            servers: { type: 'array', items: { type: 'string', minLength: 1 } },
            streamPrefix: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
            replicas: { type: 'integer', minimum: 1, maximum: 5 },
            // Checked with their own words in checkRelations (retentionProblems, shared with the log).
            maxAge: { type: ['string', 'number'] },
            maxBytes: { type: 'number' },
            maxMsgs: { type: 'number' },
            maxMsgsPerSubject: { type: 'number' },
            duplicateWindowMs: { type: 'integer', minimum: 1000, maximum: 86_400_000 },
          },
        },
      },
    },
    consumers: {
      type: 'object',
      additionalProperties: false,
      properties: {
        group: { type: 'string', pattern: idPattern },
        workers: { type: 'integer', minimum: 1, maximum: 256 },
        handler: { type: 'string' },
        sinkPath: { type: 'string' },
        handlerDelayMs: { type: 'number', minimum: 0, maximum: 60_000 },
        niceness: { type: 'integer', minimum: 0, maximum: 19 },
        leaseMs: { type: 'integer', minimum: 1000, maximum: 600_000 },
        memberId: { type: 'string', pattern: '^([A-Za-z0-9_-]{1,100})?$' },
      },
    },
    sink: {
      type: 'object',
      additionalProperties: false,
      properties: {
        engine: { enum: ['sqlite', 'postgres'] },
        postgres: {
          type: 'object',
          additionalProperties: false,
          properties: {
            url: { type: 'string' },
            schema: { type: 'string', pattern: '^[a-z_][a-z0-9_]{0,62}$' },
            poolMax: { type: 'integer', minimum: 1, maximum: 100 },
          },
        },
      },
    },
    tenants: { type: 'array', items: tenantSchema },
    schemas: { type: 'object', additionalProperties: { type: 'object' } },
    shedding: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mode: { enum: ['reject', 'delay'] },
        shadow: { type: 'boolean' },
        inflightAppendsMax: { type: 'integer', minimum: 1 },
        logQueueDepthMax: { type: 'integer', minimum: 1 },
        eventLoopDelayMsMax: { type: 'number', exclusiveMinimum: 0 },
        hardRatio: { type: 'number', exclusiveMinimum: 1 },
        delayStartRatio: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
        delayMsMax: { type: 'number', minimum: 0 },
        breakerFailuresMax: { type: 'integer', minimum: 1 },
        breakerOpenMs: { type: 'number', exclusiveMinimum: 0 },
      },
    },
    rateLimit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mode: { enum: ['enforce', 'shadow'] },
        share: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
        retryJitterSecMax: { type: 'number', minimum: 0 },
      },
    },
    batchWorkers: {
      type: 'object',
      additionalProperties: false,
      properties: {
        workers: { type: 'integer', minimum: 0, maximum: 64 },
        bytesMin: { type: 'integer', minimum: 0 },
      },
    },
    limits: { type: 'object', additionalProperties: false, properties: limitProperties },
    drainMs: { type: 'number', minimum: 0, maximum: 600_000 },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
const validateFile = ajv.compile(cellConfigSchema);

/** Command-line overrides (flags win over the file). */
export interface CellConfigOverrides {
  role?: CellRole;
  dataDir?: string;
  port?: number;
  host?: string;
  adminPort?: number;
  partitions?: number;
  workers?: number;
  handler?: string;
}

/** Where a configuration came from: the file (absent for zero-config) and its raw parsed content. */
export interface CellConfigSource {
  file?: string;
  raw: unknown;
}

/** Reads and parses a YAML or JSON configuration file; a syntax error names the file, line and column. */
export function readCellConfigFile(file: string): CellConfigSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw shockError('SHOCK_CLI_INPUT_UNREADABLE', `cannot read the configuration file ${file}`, { file }, cause);
  }
  try {
    return { file, raw: parseYaml(text) ?? {} };
  } catch (cause) {
    const message = (cause as Error).message.split('\n')[0];
    throw shockError('SHOCK_CONFIG_INVALID', `the configuration file ${file} is not valid YAML/JSON: ${message}`, {
      file,
    });
  }
}

/**
 * Validates a parsed configuration against the schema (every problem at once), applies defaults and overrides,
 * checks the relations between limits, resolves paths and returns a deep-frozen CellConfig.
 */
export function buildCellConfig(source: CellConfigSource, overrides: CellConfigOverrides = {}): CellConfig {
  const raw = source.raw;
  const where = source.file ?? 'the configuration';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw shockError('SHOCK_CONFIG_INVALID', `${where} must be a mapping of sections (http, log, tenants...)`, {
      file: source.file,
    });
  }
  const problems = validateFile(raw) ? [] : (validateFile.errors ?? []).map(describeProblem);
  if (problems.length > 0) throw configInvalid(where, source.file, problems);
  const file = raw as Partial<CellConfig>;
  const merged = mergeDefaults(file, overrides);
  const relations = checkRelations(merged);
  if (relations.length > 0) throw configInvalid(where, source.file, relations);
  const baseDir = source.file ? resolve(source.file, '..') : process.cwd();
  merged.dataDir = resolve(process.cwd(), merged.dataDir);
  if (merged.consumers.handler !== '' && !isAbsolute(merged.consumers.handler)) {
    const relativeTo = overrides.handler !== undefined ? process.cwd() : baseDir;
    merged.consumers.handler = resolve(relativeTo, merged.consumers.handler);
  }
  if (merged.consumers.sinkPath === '') merged.consumers.sinkPath = resolve(merged.dataDir, 'sink.sqlite');
  else merged.consumers.sinkPath = resolve(baseDir, merged.consumers.sinkPath);
  if (merged.admin.tokenFile === '') merged.admin.tokenFile = resolve(merged.dataDir, 'admin-token');
  else merged.admin.tokenFile = resolve(baseDir, merged.admin.tokenFile);
  return deepFreeze(merged);
}

/** Loads `file` (or the zero-config defaults when absent) and builds the frozen configuration. */
export function loadCellConfig(file: string | undefined, overrides: CellConfigOverrides = {}): CellConfig {
  return buildCellConfig(file === undefined ? { raw: {} } : readCellConfigFile(file), overrides);
}

function mergeDefaults(file: Partial<CellConfig>, o: CellConfigOverrides): CellConfig {
  const d = cellConfigDefaults;
  const merged: CellConfig = {
    role: o.role ?? file.role ?? d.role,
    dataDir: o.dataDir ?? file.dataDir ?? d.dataDir,
    http: { ...d.http, ...file.http },
    admin: { ...d.admin, ...file.admin },
    log: {
      ...d.log,
      ...file.log,
      retention: { ...d.log.retention, ...file.log?.retention },
      jetstream: {
        ...d.log.jetstream,
        ...file.log?.jetstream,
        servers: [...(file.log?.jetstream?.servers ?? d.log.jetstream.servers)],
      },
    },
    consumers: { ...d.consumers, ...file.consumers },
    sink: {
      engine: file.sink?.engine ?? d.sink.engine,
      postgres: { ...d.sink.postgres, ...file.sink?.postgres },
    },
    tenants: (file.tenants ?? []).map((t) => ({
      ...tenantDefaults,
      ...t,
      keyHashes: [...t.keyHashes],
      ...(t.types ? { types: [...t.types] } : {}),
    })),
    schemas: structuredClone(file.schemas ?? d.schemas),
    shedding: { ...d.shedding, ...file.shedding },
    rateLimit: { ...d.rateLimit, ...file.rateLimit },
    batchWorkers: { ...file.batchWorkers },
    limits: { ...file.limits },
    drainMs: file.drainMs ?? d.drainMs,
  };
  if (o.port !== undefined) merged.http.port = o.port;
  if (o.host !== undefined) merged.http.host = o.host;
  if (o.adminPort !== undefined) merged.admin.port = o.adminPort;
  if (o.partitions !== undefined) merged.log.partitions = o.partitions;
  if (o.workers !== undefined) merged.consumers.workers = o.workers;
  if (o.handler !== undefined) merged.consumers.handler = o.handler;
  return merged;
}

function checkRelations(c: CellConfig): string[] {
  const problems = checkLimits(c.limits).map((p) => `/limits: ${p}`);
  const l = { ...limits, ...c.limits };
  if (l.headersTimeoutMs > l.requestTimeoutMs) problems.push('/limits: headersTimeoutMs must be <= requestTimeoutMs');
  if (c.shedding.delayMsMax > l.requestTimeoutMs) {
    problems.push('/shedding/delayMsMax: must be <= limits.requestTimeoutMs (a delayed request must still finish)');
  }
  const ids = new Set<string>();
  const hashes = new Map<string, string>();
  c.tenants.forEach((t, i) => {
    if (ids.has(t.id)) problems.push(`/tenants/${i}/id: tenant "${t.id}" appears twice`);
    ids.add(t.id);
    for (const h of t.keyHashes) {
      const owner = hashes.get(h);
      if (owner !== undefined && owner !== t.id) {
        problems.push(`/tenants/${i}/keyHashes: a key hash is shared with tenant "${owner}" (one key, one tenant)`);
      }
      hashes.set(h, t.id);
    }
    if (t.burst < 1) problems.push(`/tenants/${i}/burst: must be >= 1 event`);
  });
  const natsUrl = /^(nats|tls):\/\//;
  if (
    c.log.engine === 'jetstream' &&
    !(c.log.jetstream.servers.length > 0 && c.log.jetstream.servers.every((u) => natsUrl.test(u)))
  ) {
    problems.push('/log/jetstream/servers: the jetstream log needs NATS URLs, e.g. ["nats://127.0.0.1:4222"]');
  }
  for (const r of retentionProblems(c.log.jetstream)) problems.push(`/log/jetstream/${r.option}: ${r.problem}`);
  for (const r of fileRetentionProblems(c.log.retention)) problems.push(`/log/retention/${r.option}: ${r.problem}`);
  if (
    c.log.engine === 'jetstream' &&
    (c.log.retention.maxAge !== undefined || c.log.retention.maxBytes !== undefined)
  ) {
    problems.push(
      '/log/retention: maxAge and maxBytes apply to the file engine; with engine jetstream set ' +
        'log.jetstream.maxAge / maxBytes (e.g. jetstream: { maxAge: 7d, maxBytes: 10737418240 }); ' +
        'log.retention.policy applies to both',
    );
  }
  const j = c.log.jetstream;
  if (c.log.engine === 'jetstream' && c.log.retention.policy === 'interest') {
    for (const name of ['maxMsgs', 'maxMsgsPerSubject'] as const) {
      const v = j[name];
      if (v !== undefined && v !== -1) {
        problems.push(
          `/log/jetstream/${name}: removes records whoever is behind, so it needs log.retention.policy: limits; ` +
            'under interest retention bound the log with log.jetstream.maxBytes',
        );
      }
    }
  }
  problems.push(...roleProblems(c));
  if (c.sink.engine === 'postgres' && !/^postgres(ql)?:\/\//.test(c.sink.postgres.url)) {
    problems.push('/sink/postgres/url: the postgres sink needs a URL, postgres://user@host:5432/database');
  }
  if (c.admin.enabled && c.admin.port !== 0 && c.admin.port === c.http.port && c.admin.host === c.http.host) {
    problems.push('/admin/port: the admin listener needs its own port (it equals /http/port)');
  }
  for (const [type, schema] of Object.entries(c.schemas)) {
    try {
      new Ajv({ strict: false }).compile(schema);
    } catch (err) {
      problems.push(`/schemas/${type}: not a valid JSON Schema: ${(err as Error).message}`);
    }
  }
  return problems;
}

function describeProblem(e: ErrorObject): string {
  const path = e.instancePath === '' ? '/' : e.instancePath;
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    return `${path}: unknown key "${key}"`;
  }
  if (e.keyword === 'enum') {
    return `${path}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  }
  if (e.keyword === 'pattern' && path.includes('keyHashes')) {
    return `${path}: must be "sha256:<64 hex digits>" — make one with \`shock serve --hash-key KEY\``;
  }
  return `${path}: ${e.message ?? e.keyword}`;
}

function configInvalid(where: string, file: string | undefined, problems: string[]) {
  const list = problems.map((p) => `  - ${p}`).join('\n');
  return shockError('SHOCK_CONFIG_INVALID', `${where} has ${problems.length} problem(s):\n${list}`, {
    file,
    hint: 'fix every listed key; `shock serve --example-config` prints a commented example',
  });
}

/** Freezes an object graph so the validated configuration can be shared without copies. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/** The stored form of an API key: `sha256:` + the hex SHA-256 of its UTF-8 bytes. */
export function hashApiKey(key: string): string {
  return 'sha256:' + createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * A process of a cell spread over several processes shares the log and the sink with the others: the file log is
 * one process's directory (its lock refuses a second writer) and SQLite one process's file.
 */
function roleProblems(c: CellConfig): string[] {
  if (c.role === 'all') return [];
  const problems: string[] = [];
  if (c.log.engine !== 'jetstream') {
    problems.push(
      `/role: role ${c.role} runs beside other processes of the cell, which share its log: set log.engine: jetstream ` +
        '(the file log belongs to one process), or run role all',
    );
  }
  if (c.role === 'consumer' && c.sink.engine !== 'postgres') {
    problems.push(
      `/role: role ${c.role} runs beside other processes of the cell, which share its sink: set sink.engine: postgres ` +
        '(an SQLite sink belongs to one process), or run role all',
    );
  }
  return problems;
}
