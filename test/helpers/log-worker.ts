/**
 * Starts a worker thread running a TypeScript module from source. Node 20 does not pass tsx's loader hooks to
 * worker threads, so the worker is booted by a one-line script that registers tsx there and imports the module.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startTsWorker(module: URL, options: WorkerOptions = {}): Worker {
  const code = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(code, { ...options, eval: true });
}
