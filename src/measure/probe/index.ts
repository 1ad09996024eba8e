/** Floor probes: storage (fsync ceiling, IOPS), network (RTT), CPU steal (the 2% gate). */
export * from './steal.js';
export * from './storage.js';
export * from './network.js';
