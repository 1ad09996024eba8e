/** The ingress area's public face: the gateway, and the pieces a cell or a test may use on their own. */
export {
  createGateway,
  serverOptions,
  type Gateway,
  type GatewayLogEvent,
  type GatewayOptions,
  type GatewayStats,
} from './server.js';
export { resolveGatewayConfig, rateLimitDefaults, type GatewayConfig, type ResolvedGatewayConfig } from './config.js';
export { Authenticator, sha256Hex, type GatewayTenant, type Principal } from './auth.js';
export { murmur2, partitionForKey, toPositive } from './partition.js';
export { TokenBucket, TenantLimiter, retryAfterSec, type RateLimitOptions } from './token-bucket.js';
export { CircuitBreaker, breakerStates, type BreakerState } from './breaker.js';
export {
  Shedder,
  eventLoopDelayEnv,
  eventLoopDelaySource,
  shedByPriority,
  sheddingDefaults,
  shedReasons,
  type SheddingOptions,
  type ShedReason,
  type OverloadSignals,
  type Pressure,
  type EventLoopDelaySource,
} from './shed.js';
export { EventValidator, type ValidEvent, type FieldProblem } from './validate.js';
export { EventIdGenerator } from './event-id.js';
