/**
 * The gateway's configuration: what `createGateway` is given, its defaults, and `resolveGatewayConfig`, which
 * validates it once (every problem at once) and returns a frozen, fully defaulted copy. The cell's configuration
 * file maps onto it directly: `tenants`, `schemas`, `shedding`, `limits` have the same shapes.
 */
import { availableParallelism } from 'node:os';
import { checkLimits, limits as limitDefaults, shockError, type Limits } from '../base/index.js';
import type { BatchPoolOptions } from './batch-pool.js';
import type { GatewayTenant } from './auth.js';
import { sheddingDefaults, type SheddingOptions } from './shed.js';
import type { RateLimitOptions } from './token-bucket.js';

/** What `createGateway` accepts. Every section but `tenants` and `schemas` is optional. */
export interface GatewayConfig {
  /** Tenants, their hashed API keys and token buckets. */
  tenants: readonly GatewayTenant[];
  /** JSON Schema of `payload` per event type; any other type is rejected with 400 SHOCK_INGRESS_UNKNOWN_TYPE. */
  schemas: Readonly<Record<string, object>>;
  /** Overrides of the ingress limits in `src/base/limits.ts` (bodies, batches, keys, timeouts, dedupe window). */
  limits?: Partial<Limits>;
  /** Overload protection; see `SheddingOptions` (`mode: 'reject' | 'delay'`, `shadow`, capacities, breaker). */
  shedding?: Partial<SheddingOptions>;
  /** Tenant rate limits: `mode: 'enforce' | 'shadow'`, this process's `share` (1/K) and the Retry-After jitter. */
  rateLimit?: Partial<RateLimitOptions>;
  /**
   * Batch workers: `workers` threads prepare batch bodies of at least `bytesMin` bytes (default: one worker when the
   * machine has two or more cores, 16 KiB); `workers: 0` prepares every batch on the gateway's thread.
   */
  batchWorkers?: Partial<BatchPoolOptions>;
  /** Seed of the PRNG behind shedding draws and Retry-After jitter (default: drawn at random at start; set it to replay a run). */
  seed?: number;
}

/** The configuration after defaults and validation. */
export interface ResolvedGatewayConfig {
  readonly tenants: readonly GatewayTenant[];
  readonly schemas: Readonly<Record<string, object>>;
  readonly limits: Readonly<Limits>;
  readonly shedding: Readonly<SheddingOptions>;
  readonly rateLimit: Readonly<RateLimitOptions>;
  readonly batchWorkers: Readonly<BatchPoolOptions>;
  readonly seed: number;
}

/** Batch-worker defaults: one worker beside the gateway's thread when there is a core for it; bodies from 16 KiB. */
export function batchWorkerDefaults(): BatchPoolOptions {
  return { workers: availableParallelism() >= 2 ? 1 : 0, bytesMin: 16 * 1024 };
}

/** Rate-limit defaults: enforce, the whole rate in this process, up to 1 s of jitter on Retry-After. */
export const rateLimitDefaults: RateLimitOptions = { mode: 'enforce', share: 1, retryJitterSecMax: 1 };

/** Applies defaults and checks the configuration; throws SHOCK_CONFIG_INVALID listing every problem. */
export function resolveGatewayConfig(config: GatewayConfig): ResolvedGatewayConfig {
  const problems: string[] = [];
  const l: Limits = { ...limitDefaults, ...config.limits };
  problems.push(...checkLimits(l).map((p) => `limits: ${p}`));
  if (l.headersTimeoutMs > l.requestTimeoutMs) problems.push('limits: headersTimeoutMs must be <= requestTimeoutMs');
  const shedding: SheddingOptions = { ...sheddingDefaults, ...config.shedding };
  if (shedding.mode !== 'reject' && shedding.mode !== 'delay') {
    problems.push(`shedding.mode must be "reject" or "delay", got ${String(shedding.mode)}`);
  }
  for (const k of [
    'inflightAppendsMax',
    'logQueueDepthMax',
    'eventLoopDelayMsMax',
    'breakerFailuresMax',
    'breakerOpenMs',
  ] as const) {
    if (!(Number.isFinite(shedding[k]) && shedding[k] > 0)) problems.push(`shedding.${k} must be > 0`);
  }
  if (!(shedding.hardRatio > 1)) problems.push('shedding.hardRatio must be > 1');
  if (!(shedding.delayStartRatio > 0 && shedding.delayStartRatio < 1)) {
    problems.push('shedding.delayStartRatio must be in (0, 1)');
  }
  if (!(shedding.delayMsMax >= 0 && shedding.delayMsMax <= l.requestTimeoutMs)) {
    problems.push('shedding.delayMsMax must be in [0, limits.requestTimeoutMs]');
  }
  const rateLimit: RateLimitOptions = { ...rateLimitDefaults, ...config.rateLimit };
  if (rateLimit.mode !== 'enforce' && rateLimit.mode !== 'shadow') {
    problems.push(`rateLimit.mode must be "enforce" or "shadow", got ${String(rateLimit.mode)}`);
  }
  if (!(rateLimit.share > 0 && rateLimit.share <= 1)) problems.push('rateLimit.share must be in (0, 1] (1/K)');
  if (!(rateLimit.retryJitterSecMax >= 0)) problems.push('rateLimit.retryJitterSecMax must be >= 0');
  const batchWorkers: BatchPoolOptions = { ...batchWorkerDefaults(), ...config.batchWorkers };
  if (!(Number.isInteger(batchWorkers.workers) && batchWorkers.workers >= 0 && batchWorkers.workers <= 64)) {
    problems.push('batchWorkers.workers must be a whole number in [0, 64]');
  }
  if (!(Number.isInteger(batchWorkers.bytesMin) && batchWorkers.bytesMin >= 0)) {
    problems.push('batchWorkers.bytesMin must be a whole number of bytes >= 0');
  }
  const ids = new Set<string>();
  config.tenants.forEach((t, i) => {
    if (typeof t.id !== 'string' || t.id === '') problems.push(`tenants[${i}].id must be a non-empty string`);
    if (ids.has(t.id)) problems.push(`tenants[${i}].id "${t.id}" appears twice`);
    ids.add(t.id);
    if (!(t.ratePerSec > 0)) problems.push(`tenants[${i}].ratePerSec must be > 0`);
    if (!(t.burst >= 1)) problems.push(`tenants[${i}].burst must be >= 1`);
  });
  if (problems.length > 0) {
    throw shockError('SHOCK_CONFIG_INVALID', `invalid gateway configuration: ${problems.join('; ')}`, { problems });
  }
  return Object.freeze({
    tenants: config.tenants,
    schemas: config.schemas,
    limits: Object.freeze(l),
    shedding: Object.freeze(shedding),
    rateLimit: Object.freeze(rateLimit),
    batchWorkers: Object.freeze(batchWorkers),
    seed: config.seed ?? Math.floor(Math.random() * 2 ** 32),
  });
}
