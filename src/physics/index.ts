/**
 * The physics core: pure functions, no I/O, no imports beyond `src/base`. This file is its public face; the rest of
 * the project imports from here, never from deep files.
 *
 * - USL model: `uslThroughput`, `uslCapacity`, `uslNMax`, `uslXMax`, `uslEfficiency`, `amdahlAsymptote`.
 * - Fits: `fitUsl(rows, { method: 'nls' | 'closed' | 'quantile', tau, bootstrap, seed })` → `UslFit`; the method
 *   cores `fitNlsCore`, `fitClosedFormCore`, `fitQuantileCore`, `fitCore` for callers that need only a point estimate.
 * - Intervals: `nMaxDeltaInterval`, `bootstrapUsl`, `autoscalerCeiling`.
 * - Node ROI: `nodeRoiTable`, `roiDecision`.
 * - Honesty warnings: `fitWarningCodes` (stable `SHOCK_FIT_W_*` codes).
 * - Fan-out: `requiredServerPercentile`, `requiredTreePercentile`, `compositeLatency`, `correlatedFloor`,
 *   `simulateHedging`, `stallExposure`.
 * - Shards: `zipfTopShare`, `shadowCeiling`, `coherencyDomainCeiling`, `effectiveBeta`.
 * - Sizing and queueing: `planPartitions`, `planCell`, `littleL`, `kingmanWait`, `coordinatedOmissionBias`, `mm1`.
 */
export * from './usl.js';
export * from './warnings.js';
export * from './roi.js';
export * from './fit/index.js';
export * from './interval/delta.js';
export * from './interval/bootstrap.js';
export * from './fanout.js';
export * from './shards.js';
export * from './queueing.js';
export * from './sizing.js';
export { quantile, quantileSorted, weightedQuantile, checkLoss, normalQuantile, studentTQuantile } from './stats.js';
