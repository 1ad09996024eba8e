/**
 * Latency histograms: thin wrappers over `hdr-histogram-js` (HdrHistogramJS `src/Histogram.ts`) that fix the unit
 * (microseconds), the precision (3 significant digits, i.e. ≤ 0.1% relative error) and the wire encoding
 * (HdrHistogram's compressed base64, the same payload a `.hlog` line carries), so that histograms recorded in worker
 * threads, written to files or embedded in JSON all merge exactly.
 */
import * as hdr from 'hdr-histogram-js';
import { assert } from '../../base/index.js';

/** An HdrHistogram of latencies in integer microseconds. */
export type LatencyHistogram = hdr.Histogram;

/** Histogram values are recorded in microseconds; percentiles leave this module in milliseconds. */
export const histogramUnitsPerMs = 1000;

/** Lowest trackable value is 1 µs and the histogram auto-resizes, so no latency is ever clipped. */
export function createLatencyHistogram(): LatencyHistogram {
  return hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/** Records one latency given in milliseconds (rounded to whole µs, at least 1 µs). */
export function recordLatencyMs(histogram: LatencyHistogram, latencyMs: number): void {
  assert(Number.isFinite(latencyMs) && latencyMs >= 0, 'latency must be a finite non-negative number', { latencyMs });
  histogram.recordValue(Math.max(1, Math.round(latencyMs * histogramUnitsPerMs)));
}

/** HdrHistogram's compressed base64 (the `.hlog` payload). Decodes with `decodeHistogram`. */
export function encodeHistogram(histogram: LatencyHistogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

/** Inverse of `encodeHistogram`; an empty string decodes to an empty histogram. */
export function decodeHistogram(encoded: string): LatencyHistogram {
  if (encoded === '') return createLatencyHistogram();
  const decoded = hdr.decodeFromCompressedBase64(encoded, 32, false);
  const histogram = createLatencyHistogram();
  histogram.add(decoded);
  histogram.startTimeStampMsec = decoded.startTimeStampMsec;
  histogram.endTimeStampMsec = decoded.endTimeStampMsec;
  return histogram;
}

/** Sum of histograms: counts add bucket by bucket, so the merge of parts equals one histogram of all samples. */
export function mergeHistograms(parts: readonly LatencyHistogram[]): LatencyHistogram {
  const total = createLatencyHistogram();
  for (const part of parts) total.add(part);
  return total;
}

/** The percentiles every summary carries (wrk2's list plus p95). */
export const summaryPercentiles = [50, 75, 90, 95, 99, 99.9, 99.99, 99.999] as const;

/** Percentiles in milliseconds. Empty histogram → all zero with `count: 0`. */
export interface LatencySummaryMs {
  count: number;
  min: number;
  mean: number;
  stdDeviation: number;
  p50: number;
  p75: number;
  p90: number;
  p95: number;
  p99: number;
  p99_9: number;
  p99_99: number;
  p99_999: number;
  max: number;
}

/** Summary in milliseconds; `max` is the highest equivalent value, as HdrHistogram reports it. */
export function summarizeMs(histogram: LatencyHistogram): LatencySummaryMs {
  const count = histogram.totalCount;
  const at = (p: number): number => (count === 0 ? 0 : histogram.getValueAtPercentile(p) / histogramUnitsPerMs);
  return {
    count,
    min: count === 0 ? 0 : lowestEquivalentUs(histogram, histogram.minNonZeroValue) / histogramUnitsPerMs,
    mean: count === 0 ? 0 : histogram.mean / histogramUnitsPerMs,
    stdDeviation: count === 0 ? 0 : histogram.stdDeviation / histogramUnitsPerMs,
    p50: at(50),
    p75: at(75),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p99_9: at(99.9),
    p99_99: at(99.99),
    p99_999: at(99.999),
    max: count === 0 ? 0 : maxEquivalentUs(histogram) / histogramUnitsPerMs,
  };
}

/**
 * The highest value equivalent to the recorded maximum (HdrHistogram Java's `getMaxValue`): the same before and
 * after an encode/merge, which keeps the exact maximum only to bucket precision.
 */
export function maxEquivalentUs(histogram: LatencyHistogram): number {
  const h = histogram as unknown as { highestEquivalentValue(v: number): number };
  return h.highestEquivalentValue(histogram.maxValue);
}

/** The lowest value in the bucket of `valueUs` (stable across encode/merge, unlike the exact minimum). */
export function lowestEquivalentUs(histogram: LatencyHistogram, valueUs: number): number {
  const h = histogram as unknown as { lowestEquivalentValue(v: number): number };
  return h.lowestEquivalentValue(valueUs);
}

/** Number of recorded values strictly above `thresholdMs`, at bucket resolution (≤ 0.1% of the value). */
export function countAboveMs(histogram: LatencyHistogram, thresholdMs: number): number {
  if (histogram.totalCount === 0) return 0;
  // A bucket counts as above only when its lowest value is above the threshold (the threshold's own bucket is not).
  const thresholdUs = thresholdMs * histogramUnitsPerMs;
  let above = 0;
  for (const v of recordedValues(histogram))
    if (lowestEquivalentUs(histogram, v.valueUs) > thresholdUs) above += v.count;
  return above;
}

/** Every distinct recorded value (µs, highest equivalent) with its count, ascending. */
export function recordedValues(histogram: LatencyHistogram): { valueUs: number; count: number }[] {
  const out: { valueUs: number; count: number }[] = [];
  const h = histogram as unknown as {
    recordedValuesIterator: {
      reset(): void;
      hasNext(): boolean;
      next(): { valueIteratedTo: number; countAtValueIteratedTo: number };
    };
    highestEquivalentValue(v: number): number;
  };
  const it = h.recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    out.push({ valueUs: h.highestEquivalentValue(v.valueIteratedTo), count: v.countAtValueIteratedTo });
  }
  return out;
}
