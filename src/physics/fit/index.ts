export * from './types.js';
export * from './data.js';
export * from './closed-form.js';
export * from './nls.js';
export * from './quantile.js';
export * from './fit.js';
export * from './parse.js';
