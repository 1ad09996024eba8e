/** The public face of `src/cell`: configuration, wiring one cell, and the pieces the CLI and tests use. */
export * from './config.js';
export * from './example-config.js';
export * from './cell.js';
export * from './stats.js';
export { defaultTenantId } from './dev-key.js';
export type { TenantView, TenantAdd } from './tenants.js';
export type { CellEvent, CellEventSink, ConsumerHealth } from './consumers.js';
