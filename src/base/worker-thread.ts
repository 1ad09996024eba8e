/**
 * Starting a worker thread on a module that sits beside the caller, from built JavaScript or from TypeScript source.
 */
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * Starts a worker on `entry` (a path without extension, relative to `callerUrl`, the caller's `import.meta.url`).
 * The entry gets the caller's extension: `.js` when built, `.ts` when run from source under tsx. Node 20 does not
 * apply `--import tsx` loader hooks inside workers, so for `.ts` a two-line bootstrap registers tsx's ESM hooks in
 * the worker and then imports the entry. `workerData` reaches the entry unchanged.
 */
export function startWorker(callerUrl: string, entry: string, workerData: unknown): Worker {
  const ext = extname(new URL(callerUrl).pathname) || '.js';
  const url = new URL(`${entry}${ext}`, callerUrl);
  if (ext !== '.ts') return new Worker(url, { workerData });
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
