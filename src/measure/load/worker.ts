/**
 * Worker-thread entry of the load generator: builds one LoadEngine from `workerData`, reports `ready`, waits for the
 * common start time, reports progress twice a second, and posts its EnginePartial when done.
 * Messages in: {type:'start', startAtMs} | {type:'stop'}. Out: ready | progress | done | failed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LoadEngine, type EngineConfig } from './engine.js';

const port = parentPort;
if (port !== null) {
  const config = workerData as EngineConfig;
  let engine: LoadEngine | null = null;
  port.on('message', (message: { type: string; startAtMs?: number }) => {
    if (message.type === 'stop') engine?.stop();
    if (message.type === 'start' && engine === null) {
      engine = new LoadEngine({ ...config, startAtMs: message.startAtMs as number });
      const live = engine;
      const timer = setInterval(() => port.postMessage({ type: 'progress', progress: live.progress() }), 500);
      live.run().then(
        (partial) => {
          clearInterval(timer);
          port.postMessage({ type: 'done', partial });
          port.close();
        },
        (err: unknown) => {
          clearInterval(timer);
          port.postMessage({ type: 'failed', message: String((err as Error)?.stack ?? err) });
          port.close();
        },
      );
    }
  });
  port.postMessage({ type: 'ready' });
}
