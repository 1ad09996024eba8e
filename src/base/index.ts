export * from './errors.js';
export * from './assert.js';
export * from './clock.js';
export * from './random.js';
export * from './limits.js';
export * from './event.js';
export * from './metric-vec.js';
export * from './worker-thread.js';
