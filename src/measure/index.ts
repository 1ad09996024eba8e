/**
 * The measurement lab's public face: latency histograms, the load generator and the floor probes.
 * (Other measure areas add their own lines; names must stay unique across them.)
 */
export * from './histogram/index.js';
export * from './load/index.js';
export * from './probe/index.js';
