/** Turns an open-loop run into the certificate's latency entry (percentiles in µs, the histogram as rows). */
import { encodeHistogram, type LatencyHistogram } from '../histogram/index.js';
import type { LatencyHistogram as CertificateHistogram, LatencyVerdict } from '../report/certificate.js';
import type { LatencyRecord } from './windows.js';

/** What one open-loop latency run measured: 2xx answers, timed from their intended send time, and the errors. */
export interface LatencyRunSample {
  /** Schedule time run, ms (shorter than planned when the run was interrupted). */
  durationMs: number;
  /** 2xx answers. */
  requests: number;
  /** Every other request sent: non-2xx answers and transport errors. */
  errors: number;
  firstError: string | null;
  histogram: LatencyHistogram;
  /** The load generator's verdict: whether the scheduled load was applied (absent: not known). */
  verdict?: LatencyVerdict;
}

/** The percentile rows the report plots: 0..99.999 on HdrHistogram's log scale. */
export const histogramPercentiles = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100];

/** The percentile rows of a histogram (values in µs). */
export function percentileRows(histogram: LatencyHistogram): CertificateHistogram {
  if (histogram.totalCount === 0) return { percentiles: [] };
  return {
    percentiles: histogramPercentiles.map((percentile) => ({
      percentile,
      latencyUs: percentile === 100 ? histogram.maxValue : histogram.getValueAtPercentile(percentile),
    })),
  };
}

/** The windows.ndjson line of one latency run. */
export function latencyRecordFrom(
  run: LatencyRunSample,
  n: number,
  loadFraction: number,
  ratePerSec: number,
): LatencyRecord {
  const h = run.histogram;
  const at = (p: number) => (h.totalCount === 0 ? 0 : h.getValueAtPercentile(p));
  return {
    kind: 'latency',
    n,
    loadFraction,
    ratePerSec,
    durationMs: run.durationMs,
    requests: run.requests,
    errors: run.errors,
    latencyUsP50: at(50),
    latencyUsP99: at(99),
    latencyUsP999: at(99.9),
    latencyUsMax: h.totalCount === 0 ? 0 : h.maxValue,
    histogram: percentileRows(h),
    ...(run.verdict ? { verdict: run.verdict } : {}),
    encodedHistogram: encodeHistogram(h),
  };
}
