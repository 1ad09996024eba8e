/** The physics lab: the Measurement Recipe as one procedure, its raw windows, and the demonstration designs. */
export * from './recipe.js';
export * from './fit.js';
export * from './target.js';
export * from './windows.js';
export * from './latency-summary.js';
export * from './machine.js';
export * from './steal.js';
export * from './known-law.js';
export * from './demo/designs.js';
export * from './demo/server.js';
export * from './demo/run-demo.js';
export { AsyncMutex } from './demo/mutex.js';
export { ConsumerPool } from './demo/consumer-pool.js';
export * from './floors.js';
