/**
 * Merging engine partials from worker threads: counts add, status and error maps add key by key, and histograms add
 * bucket by bucket (HdrHistogram `add`), so the merged histogram equals one histogram of all the samples.
 */
import { decodeHistogram, encodeHistogram, mergeHistograms } from '../histogram/index.js';
import type { EnginePartial } from './engine.js';

export interface MergedPartial extends EnginePartial {
  lastDueMs: number;
}

export function mergePartials(partials: readonly EnginePartial[]): MergedPartial {
  const sum = (key: 'scheduled' | 'sent' | 'dropped' | 'responses' | 'errors' | 'warmupExcluded' | 'samples') =>
    partials.reduce((acc, p) => acc + p[key], 0);
  const windowsByIndex = new Map<number, { corrected: string[]; uncorrected: string[] }>();
  for (const p of partials) {
    for (const w of p.windows) {
      const entry = windowsByIndex.get(w.index) ?? { corrected: [], uncorrected: [] };
      entry.corrected.push(w.corrected);
      entry.uncorrected.push(w.uncorrected);
      windowsByIndex.set(w.index, entry);
    }
  }
  const windows = [...windowsByIndex.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([index, w]) => ({ index, corrected: mergeEncoded(w.corrected), uncorrected: mergeEncoded(w.uncorrected) }));
  const firstErrors = partials
    .filter((p) => p.firstError !== null)
    .sort((x, y) => (x.firstErrorAtMs ?? 0) - (y.firstErrorAtMs ?? 0));
  const stops = partials.map((p) => p.stoppedAtMs).filter((t): t is number => t !== null);
  return {
    firstError: firstErrors[0]?.firstError ?? null,
    firstErrorAtMs: firstErrors[0]?.firstErrorAtMs ?? null,
    stoppedAtMs: stops.length > 0 ? Math.min(...stops) : null,
    scheduled: sum('scheduled'),
    sent: sum('sent'),
    dropped: sum('dropped'),
    responses: sum('responses'),
    errors: sum('errors'),
    warmupExcluded: sum('warmupExcluded'),
    samples: sum('samples'),
    statusCounts: addMaps(partials.map((p) => p.statusCounts)),
    errorsByKind: addMaps(partials.map((p) => p.errorsByKind)),
    corrected: mergeEncoded(partials.map((p) => p.corrected)),
    uncorrected: mergeEncoded(partials.map((p) => p.uncorrected)),
    lag: mergeEncoded(partials.map((p) => p.lag)),
    windows,
    dueBuckets: addArrays(partials.map((p) => p.dueBuckets)),
    sentBuckets: addArrays(partials.map((p) => p.sentBuckets)),
    lastSendMs: Math.max(0, ...partials.map((p) => p.lastSendMs)),
    lastEndMs: Math.max(0, ...partials.map((p) => p.lastEndMs)),
    lastDueMs: Math.max(0, ...partials.map((p) => p.lastDueMs)),
  };
}

/** Decodes, adds and re-encodes compressed histograms. */
export function mergeEncoded(encoded: readonly string[]): string {
  return encodeHistogram(mergeHistograms(encoded.map(decodeHistogram)));
}

function addArrays(arrays: readonly number[][]): number[] {
  const out: number[] = [];
  for (const a of arrays) a.forEach((v, i) => (out[i] = (out[i] ?? 0) + v));
  return Array.from(out, (v) => v ?? 0);
}

function addMaps(maps: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of maps) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}
