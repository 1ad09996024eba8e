/**
 * The end-of-run text formats of wrk2 `--latency`: the short "Latency Distribution" list and the detailed percentile
 * spectrum (`.hgrm`: `Value Percentile TotalCount 1/(1-Percentile)` rows and the `#[Mean …]`, `#[Max …]` footer) that
 * HdrHistogram's plotter and HistogramLogAnalyzer read. Values are printed in milliseconds.
 */
import { histogramUnitsPerMs, type LatencyHistogram } from './histogram.js';

/** wrk2 prints 5 reporting ticks per halving of the remaining percentile distance. */
export const spectrumTicksPerHalfDistance = 5;

/**
 * The detailed percentile spectrum (HdrHistogram `outputPercentileDistribution`, values scaled from µs to ms).
 * Each exponentially halving distance to 100% gets `ticksPerHalf` rows; the footer gives mean, std deviation, max
 * and total count.
 */
export function formatPercentileSpectrum(
  histogram: LatencyHistogram,
  ticksPerHalf = spectrumTicksPerHalfDistance,
): string {
  if (histogram.totalCount === 0) {
    return '       Value     Percentile TotalCount 1/(1-Percentile)\n\n#[Mean    =        0.000, StdDeviation   =        0.000]\n#[Max     =        0.000, Total count    =            0]\n';
  }
  return histogram.outputPercentileDistribution(ticksPerHalf, histogramUnitsPerMs);
}

/** The short wrk2 list: 50, 75, 90, 99, 99.9, 99.99, 99.999 and 100 percent, in ms. */
export function formatLatencyDistribution(histogram: LatencyHistogram, title: string): string {
  const lines = [`  Latency Distribution (HdrHistogram - ${title})`];
  for (const p of [50, 75, 90, 95, 99, 99.9, 99.99, 99.999, 100]) {
    const valueMs = histogram.totalCount === 0 ? 0 : histogram.getValueAtPercentile(p) / histogramUnitsPerMs;
    lines.push(`${p.toFixed(3).padStart(8)}%  ${formatMs(valueMs).padStart(10)}`);
  }
  return lines.join('\n') + '\n';
}

/** Milliseconds with a unit that keeps three significant figures readable (µs, ms, s). */
export function formatMs(valueMs: number): string {
  if (valueMs < 1) return `${(valueMs * 1000).toFixed(0)}us`;
  if (valueMs < 1000) return `${valueMs.toFixed(2)}ms`;
  return `${(valueMs / 1000).toFixed(2)}s`;
}
