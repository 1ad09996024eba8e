/**
 * Per-tenant token buckets (seed §5.2): a bucket refills at `ratePerSec` up to `burst` tokens; one event costs one
 * token. Each of K gateway processes enforces its `share` (1/K) of the rate and burst, so the cluster enforces the
 * tenant's rate with no coordination on the hot path. Time comes from an injected Clock so tests replay.
 *
 * The 429 answer carries `Retry-After` in whole seconds ≥ 1, counted from when the next token is due plus a
 * whole-second jitter (so clients do not retry in lockstep), and every authenticated response carries the IETF RateLimit
 * headers (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy: "tenant";q=<burst>;w=<seconds to refill>`
 * and `RateLimit: "tenant";r=<tokens left>;t=<seconds until full>`.
 */
import { assert, type Clock, type Rng } from '../base/index.js';

/** A token bucket. Tokens are fractional internally; `take` only grants whole events. */
export class TokenBucket {
  /** Tokens added per millisecond (`ratePerSec × share / 1000`). */
  readonly ratePerMs: number;
  /** Capacity in tokens. */
  readonly burst: number;
  private tokens: number;
  private refilledAtMs: number;

  constructor(
    ratePerSec: number,
    burst: number,
    private readonly clock: Clock,
  ) {
    assert(ratePerSec > 0 && Number.isFinite(ratePerSec), 'token bucket rate must be > 0', { ratePerSec });
    assert(burst >= 1 && Number.isFinite(burst), 'token bucket burst must be >= 1', { burst });
    this.ratePerMs = ratePerSec / 1000;
    this.burst = burst;
    this.tokens = burst;
    this.refilledAtMs = clock.monoMs();
  }

  /** Adds the tokens earned since the last refill, capped at `burst`. */
  private refill(): void {
    const now = this.clock.monoMs();
    const elapsedMs = now - this.refilledAtMs;
    if (elapsedMs > 0) {
      const tokens = this.tokens + elapsedMs * this.ratePerMs;
      this.tokens = tokens < this.burst ? tokens : this.burst;
      this.refilledAtMs = now;
    }
    assert(this.tokens <= this.burst, 'tokens <= burst', { tokens: this.tokens, burst: this.burst });
  }

  /** Takes up to `count` whole tokens; returns how many were granted (0..count). */
  take(count: number): number {
    this.refill();
    const whole = Math.floor(this.tokens);
    const granted = whole < count ? whole : count;
    this.tokens -= granted;
    return granted;
  }

  /** True when at least one whole token is available now (nothing is taken). */
  hasToken(): boolean {
    this.refill();
    return this.tokens >= 1;
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Milliseconds until the next whole token is due (0 when one is available). */
  msUntilToken(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : (1 - this.tokens) / this.ratePerMs;
  }

  /** Milliseconds until the bucket is full again. */
  msUntilFull(): number {
    this.refill();
    return (this.burst - this.tokens) / this.ratePerMs;
  }
}

/**
 * `Retry-After` in whole seconds ≥ 1: the wait until the next token is due, rounded up, plus a uniform whole-second
 * jitter in [0, jitterSecMax] so that clients refused together do not all come back in the same second.
 */
export function retryAfterSec(waitMs: number, rng: Rng, jitterSecMax: number): number {
  const wait = Math.ceil(waitMs / 1000);
  const jitter = Math.floor(rng.next() * (Math.floor(jitterSecMax) + 1));
  return (wait >= 1 ? wait : 1) + jitter;
}

/** How each tenant's rate is enforced. */
export interface RateLimitOptions {
  /** `enforce`: 429 when the bucket is empty; `shadow`: observe only (count, add a header, never reject). */
  mode: 'enforce' | 'shadow';
  /** This process's share of every tenant's rate and burst (1/K with K gateway processes), in (0, 1]. */
  share: number;
  /** Largest whole-second jitter added to `Retry-After` (uniform in [0, retryJitterSecMax]). */
  retryJitterSecMax: number;
}

/** The effective bucket parameters of one tenant in this process. */
export interface TenantRate {
  ratePerSec: number;
  burst: number;
}

/** One bucket per tenant, created at start-up (tenants come from configuration, so the map is bounded). */
export class TenantLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly policies = new Map<string, string>();

  constructor(
    tenants: ReadonlyArray<{ id: string; ratePerSec: number; burst: number }>,
    readonly options: RateLimitOptions,
    private readonly clock: Clock,
  ) {
    assert(options.share > 0 && options.share <= 1, 'rate share must be in (0, 1]', { share: options.share });
    for (const t of tenants) this.set(t.id, t.ratePerSec, t.burst);
  }

  /** Creates or replaces a tenant's bucket (the replacement starts full). */
  set(tenant: string, ratePerSec: number, burst: number): void {
    const rate = ratePerSec * this.options.share;
    const capacity = Math.max(1, burst * this.options.share);
    const bucket = new TokenBucket(rate, capacity, this.clock);
    this.buckets.set(tenant, bucket);
    const windowSec = Math.max(1, Math.ceil(capacity / rate));
    this.policies.set(tenant, `"tenant";q=${Math.floor(capacity)};w=${windowSec}`);
  }

  /** True when the tenant has a bucket. */
  has(tenant: string): boolean {
    return this.buckets.has(tenant);
  }

  /** The tenant's bucket; every authenticated tenant has one. */
  bucket(tenant: string): TokenBucket {
    const bucket = this.buckets.get(tenant);
    assert(bucket !== undefined, 'every configured tenant has a bucket', { tenant });
    return bucket;
  }

  /** The `RateLimit-Policy` header value of a tenant. */
  policyHeader(tenant: string): string {
    return this.policies.get(tenant) ?? '"tenant";q=0;w=1';
  }

  /**
   * The `RateLimit` header value of a tenant now. For a refusal (`refused`: a 429) `r` is 0 whatever the bucket
   * holds by now: the decision saw less than one whole token, and the bucket keeps refilling between the decision
   * and the answer (a batch's appends, or just the microseconds of the next clock read), so a 429 read the bucket
   * again could say `r=1` — "a token is left" on the answer that refused the request.
   */
  stateHeader(tenant: string, refused = false): string {
    const bucket = this.bucket(tenant);
    const remaining = refused ? 0 : Math.floor(bucket.available());
    const resetSec = Math.ceil(bucket.msUntilFull() / 1000);
    return `"tenant";r=${remaining};t=${resetSec}`;
  }
}
