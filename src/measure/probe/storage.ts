/**
 * The storage floor (seed 004, "The storage floor"): the per-writer-thread durable-commit ceiling and the
 * multi-writer IOPS ceiling of a directory's device.
 *
 * - Single writer: one thread, one block written and fdatasync'ed at a time, each flushed before the next begins.
 *   Its ops/s is the serial ceiling X_storage; the seed's quick form is 1 s / P99 flush latency.
 * - Multi writer: W threads doing the same on their own files at once; the summed ops/s is the device's
 *   synchronous-write IOPS ceiling (the binding floor is min(X_storage · writers, IOPS ceiling)).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { shockError } from '../../base/index.js';
import {
  decodeHistogram,
  encodeHistogram,
  mergeHistograms,
  summarizeMs,
  type LatencySummaryMs,
} from '../histogram/index.js';
import { startWorker } from '../../base/index.js';
import type { StorageWorkerData, StorageWorkerResult } from './storage-worker.js';

export interface StorageProbeOptions {
  /** Directory on the device to measure (a temporary subdirectory is created and removed). */
  dir: string;
  /** Length of each phase, ms. Default 3000. */
  durationMs?: number;
  /** Writer threads in the multi-writer phase. Default 4. */
  writers?: number;
  /** Bytes per write. Default 4096. */
  blockBytes?: number;
  /** Bound on ops per writer per phase. Default 1 000 000. */
  opsMax?: number;
}

export interface StoragePhase {
  writers: number;
  ops: number;
  /** Ops per second summed over writers. */
  opsPerSec: number;
  /** Latency of one write + fdatasync. */
  latencyMs: LatencySummaryMs;
  histogram: string;
}

export interface StorageProbeResult {
  schema: 'shock.probe.storage/1';
  startTime: string;
  dir: string;
  blockBytes: number;
  durationMs: number;
  /** The per-writer-thread ceiling (one writer). */
  single: StoragePhase;
  /** 1000 / p99 flush latency (ms): the seed's quick estimate of the serial ceiling, ops/s. */
  ceilingOpsPerSecFromP99: number;
  /** The multi-writer IOPS ceiling. */
  multi: StoragePhase;
}

/** Runs the single-writer then the multi-writer phase in worker threads. */
export async function probeStorage(options: StorageProbeOptions): Promise<StorageProbeResult> {
  const durationMs = options.durationMs ?? 3000;
  const writers = options.writers ?? 4;
  const blockBytes = options.blockBytes ?? 4096;
  const opsMax = options.opsMax ?? 1_000_000;
  const problems: string[] = [];
  if (!(durationMs > 0)) problems.push(`the duration must be > 0 ms, got ${durationMs}`);
  if (!(Number.isInteger(writers) && writers >= 1 && writers <= 256))
    problems.push(`writers must be 1..256, got ${writers}`);
  if (!(Number.isInteger(blockBytes) && blockBytes >= 1 && blockBytes <= 16 * 1024 * 1024)) {
    problems.push(`the block size must be 1 B..16 MiB, got ${blockBytes}`);
  }
  if (problems.length > 0) throw shockError('SHOCK_CLI_USAGE', problems.join('; '), { problems });
  checkDirectory(options.dir);
  const startTime = new Date().toISOString();
  const work = mkdtempSync(join(options.dir, 'shock-probe-'));
  try {
    const single = await runPhase(work, 1, { durationMs, blockBytes, opsMax });
    const multi = await runPhase(work, writers, { durationMs, blockBytes, opsMax });
    return {
      schema: 'shock.probe.storage/1',
      startTime,
      dir: options.dir,
      blockBytes,
      durationMs,
      single,
      ceilingOpsPerSecFromP99: single.latencyMs.p99 > 0 ? 1000 / single.latencyMs.p99 : 0,
      multi,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function checkDirectory(dir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    throw shockError('SHOCK_PROBE_FAILED', `${dir} is not a directory`, {
      dir,
      hint: 'name an existing directory on the device to measure (e.g. the log directory)',
    });
  }
}

async function runPhase(
  work: string,
  writers: number,
  o: { durationMs: number; blockBytes: number; opsMax: number },
): Promise<StoragePhase> {
  const workers = Array.from({ length: writers }, (_, w) => {
    const data: StorageWorkerData = {
      file: join(work, `writer-${writers}-${w}.dat`),
      durationMs: o.durationMs,
      opsMax: o.opsMax,
      blockBytes: o.blockBytes,
      fileBytesMax: 16 * 1024 * 1024,
    };
    return startWorker(import.meta.url, './storage-worker', data);
  });
  let results: StorageWorkerResult[];
  try {
    const outcomes = workers.map((worker) => {
      let ready!: () => void;
      const readyP = new Promise<void>((r) => (ready = r));
      const resultP = new Promise<StorageWorkerResult>((resolve, reject) => {
        worker.on('message', (m: StorageWorkerResult | 'ready') => (m === 'ready' ? ready() : resolve(m)));
        worker.once('error', reject);
        worker.once('exit', (code) => reject(shockError('SHOCK_PROBE_FAILED', `a storage writer exited (${code})`)));
      });
      return { readyP, resultP };
    });
    await Promise.race([Promise.all(outcomes.map((x) => x.readyP)), ...outcomes.map((x) => x.resultP)]);
    for (const w of workers) w.postMessage('start');
    results = await Promise.all(outcomes.map((x) => x.resultP));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const failed = results.find((r) => r.error !== undefined);
  if (failed) {
    throw shockError('SHOCK_PROBE_FAILED', `the storage probe could not write: ${failed.error}`, {
      hint: 'check that the directory is writable and the device has space',
    });
  }
  const histogram = mergeHistograms(results.map((r) => decodeHistogram(r.histogram)));
  const ops = results.reduce((a, r) => a + r.ops, 0);
  const opsPerSec = results.reduce((a, r) => a + (r.elapsedMs > 0 ? (r.ops / r.elapsedMs) * 1000 : 0), 0);
  return {
    writers,
    ops,
    opsPerSec,
    latencyMs: summarizeMs(histogram),
    histogram: encodeHistogram(histogram),
  };
}
