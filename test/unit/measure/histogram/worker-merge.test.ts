/**
 * Histograms recorded in real worker threads, encoded, posted and merged, equal one histogram recorded in a single
 * thread from the same samples — the property the load generator's `--workers` relies on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import {
  createLatencyHistogram,
  decodeHistogram,
  mergeHistograms,
  recordLatencyMs,
  recordedValues,
  summarizeMs,
} from '../../../../src/measure/histogram/index.js';
import { mulberry32 } from '../../../../src/base/index.js';

const histogramModule = new URL('../../../../src/measure/histogram/index.ts', import.meta.url).href;
const tsxApi = import.meta.resolve('tsx/esm/api');

/** A worker thread that records the given latencies (ms) and posts the encoded histogram. */
function recordInWorker(values: number[]): Promise<string> {
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(${JSON.stringify(tsxApi)})
      .then((api) => { api.register(); return import(${JSON.stringify(histogramModule)}); })
      .then((h) => {
        const hist = h.createLatencyHistogram();
        for (const v of workerData) h.recordLatencyMs(hist, v);
        parentPort.postMessage(h.encodeHistogram(hist));
      });`;
  const worker = new Worker(code, { eval: true, workerData: values });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker timed out')), 30_000);
    worker.once('message', (encoded: string) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(encoded);
    });
    worker.once('error', reject);
  });
}

test('histogram - histograms merged across worker threads equal a single-thread histogram of the same samples', async () => {
  const rng = mulberry32(11);
  const values = Array.from({ length: 30_000 }, () => (rng.next() < 0.05 ? 100 + rng.next() * 900 : rng.next() * 5));
  const single = createLatencyHistogram();
  for (const v of values) recordLatencyMs(single, v);
  const workers = 3;
  const slices = Array.from({ length: workers }, (_, w) => values.filter((_, i) => i % workers === w));
  const encoded = await Promise.all(slices.map(recordInWorker));
  const merged = mergeHistograms(encoded.map(decodeHistogram));
  assert.equal(merged.totalCount, values.length);
  assert.deepEqual(recordedValues(merged), recordedValues(single));
  assert.deepEqual(summarizeMs(merged), summarizeMs(single));
});
