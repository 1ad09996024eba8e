/**
 * Worker entry of the storage probe: one writer thread doing synchronous write + fdatasync of one block at a time,
 * each flushed before the next begins (the seed's single-threaded synchronous write benchmark). Posts the encoded
 * latency histogram and the op count. The file is removed afterwards.
 */
import { closeSync, fdatasyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { createLatencyHistogram, encodeHistogram, recordLatencyMs } from '../histogram/index.js';

export interface StorageWorkerData {
  file: string;
  durationMs: number;
  opsMax: number;
  blockBytes: number;
  /** The file is written as a ring of this many bytes (appends until then, overwrites after). */
  fileBytesMax: number;
}

export interface StorageWorkerResult {
  ops: number;
  elapsedMs: number;
  histogram: string;
  error?: string;
}

function run(d: StorageWorkerData): StorageWorkerResult {
  const histogram = createLatencyHistogram();
  const block = Buffer.alloc(d.blockBytes, 0x5a);
  const fd = openSync(d.file, 'w');
  let ops = 0;
  try {
    const t0 = performance.now();
    const endMs = t0 + d.durationMs;
    let position = 0;
    while (ops < d.opsMax) {
      const before = performance.now();
      if (before >= endMs) break;
      writeSync(fd, block, 0, block.length, position);
      fdatasyncSync(fd);
      recordLatencyMs(histogram, performance.now() - before);
      ops++;
      position = (position + block.length) % d.fileBytesMax;
    }
    return { ops, elapsedMs: performance.now() - t0, histogram: encodeHistogram(histogram) };
  } finally {
    closeSync(fd);
    unlinkSync(d.file);
  }
}

// Protocol: post 'ready', wait for 'start' (so all writers of a phase begin together), post the result.
const port = parentPort;
if (port !== null) {
  port.once('message', () => {
    try {
      port.postMessage(run(workerData as StorageWorkerData));
    } catch (err) {
      port.postMessage({ ops: 0, elapsedMs: 0, histogram: '', error: (err as Error).message });
    }
  });
  port.postMessage('ready');
}
