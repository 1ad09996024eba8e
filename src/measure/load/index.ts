/** The load generator: open loop (latency, coordinated-omission-free) and closed loop (capacity). */
export * from './types.js';
export {
  runOpenLoop,
  runClosedLoop,
  startClosedLoop,
  planOpenLoop,
  planClosedLoop,
  preflight,
  loadDefaults,
  setLoadToolVersion,
} from './run.js';
export { parseStages, constantProfile, CumulativeIntensity, ArrivalSequence } from './schedule.js';
export type { Stage, ArrivalProcess, RateProfile, Arrival } from './schedule.js';
export { compileTemplate, createKeySampler, BodyRenderer, templateFields } from './template.js';
export type { BodySpec, KeyDistribution, TemplateField } from './template.js';
export { mergePartials, mergeEncoded } from './merge.js';
export { formatLoadText, loadResultToHlog } from './text.js';
export type { LoadTextOptions } from './text.js';
export { startWorker } from '../../base/index.js';
