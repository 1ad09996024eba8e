/** Latency histograms: HDR recording, wrk2 text, `.hlog` interval logs, stall detection. */
export * from './histogram.js';
export * from './hgrm.js';
export * from './hlog.js';
export * from './stall.js';
