/**
 * The one-screen text summary of a load run, in wrk2's vocabulary: the corrected latency distribution (from the
 * intended send time), the uncorrected one (from the actual send time, wrk2 `-U`), the detailed percentile spectrum,
 * status and error counts, achieved vs target rate, scheduling lag, stall windows and the verdict.
 */
import {
  decodeHistogram,
  formatLatencyDistribution,
  formatMs,
  formatPercentileSpectrum,
  formatHlog,
  type HlogInterval,
} from '../histogram/index.js';
import type { LoadResult } from './types.js';

export interface LoadTextOptions {
  /** Include the detailed percentile spectrum (the `.hgrm` rows). Default true. */
  spectrum?: boolean;
}

/** Renders a LoadResult as text for a terminal. */
export function formatLoadText(r: LoadResult, options: LoadTextOptions = {}): string {
  const m = r.meta;
  const out: string[] = [];
  const seconds = (ms: number) => `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s`;
  if (m.mode === 'open') {
    const shape = m.stages
      ? `stages ${m.stages.map((s) => `${seconds(s.durationMs)}:${s.ratePerSecTarget}`).join(',')}`
      : `${(m.ratePerSecTarget ?? 0).toFixed(1)} req/s`;
    out.push(
      `Open loop: ${m.arrival} arrivals, ${shape}, ${seconds(m.durationMs)} (warm-up ${seconds(m.warmupMs)}), ` +
        `${m.connections} connections × ${m.workers} worker(s), max in-flight ${m.maxInflight}`,
    );
  } else {
    out.push(
      `Closed loop: ${m.concurrency} clients, ${seconds(m.durationMs)} (warm-up ${seconds(m.warmupMs)}), ` +
        `${m.connections} connections × ${m.workers} worker(s)`,
    );
    out.push('  NOTE: closed-loop latency suffers coordinated omission — use this run for throughput only.');
  }
  out.push(`  ${m.method} ${m.target}`);
  if (r.interrupted && r.stoppedAtMs !== null) {
    out.push(`  INTERRUPTED after ${seconds(Math.round(r.stoppedAtMs))}: the rates below cover the time that ran`);
  }
  const c = r.counts;
  out.push(
    `  requests: ${c.sent} sent, ${c.responses} responses, ${c.errors} errors (${(r.errorRate * 100).toFixed(2)}%), ` +
      `${c.dropped} dropped, ${c.warmupExcluded} in warm-up`,
  );
  if (m.mode === 'open') {
    const lag = r.schedulingLagMs;
    out.push(
      `  rate: target ${(r.ratePerSecTarget ?? 0).toFixed(1)}/s, achieved ${r.ratePerSecAchieved.toFixed(1)}/s, ` +
        `responses ${r.responsesPerSec.toFixed(1)}/s; scheduling lag p50 ${formatMs(lag.p50)} p99 ${formatMs(lag.p99)} ` +
        `max ${formatMs(lag.max)}`,
    );
  } else {
    out.push(`  throughput: ${r.responsesPerSec.toFixed(1)} responses/s`);
  }
  out.push(
    `  status: ${formatCounts(r.statusCounts)}${c.errors > 0 ? `; errors: ${formatCounts(r.errorsByKind)}` : ''}`,
  );
  out.push('');
  const corrected = decodeHistogram(r.histograms.corrected);
  const uncorrected = decodeHistogram(r.histograms.uncorrected);
  if (m.mode === 'open') {
    out.push(formatLatencyDistribution(corrected, 'Recorded Latency, from the intended send time'));
    out.push(
      formatLatencyDistribution(
        uncorrected,
        'Uncorrected Latency (measured without taking delayed starts into account)',
      ),
    );
  } else {
    out.push(formatLatencyDistribution(corrected, 'Closed-loop Latency, NOT valid for tail latency'));
  }
  if (options.spectrum ?? true) {
    out.push('  Detailed Percentile spectrum:');
    out.push(formatPercentileSpectrum(corrected));
  }
  const flagged = r.windows.filter((w) => w.stall.rerun);
  out.push(
    `  stall analysis: P99/P50 = ${r.stall.ratioP99P50.toFixed(1)}` +
      (r.stall.boundaryMs === null ? '' : `, boundary ${formatMs(r.stall.boundaryMs)}`) +
      `; ${flagged.length} of ${r.windows.length} windows flagged for re-run` +
      (flagged.length > 0 ? ` (at ${flagged.map((w) => seconds(w.startMs)).join(', ')})` : ''),
  );
  if (r.valid) out.push('  VALID: the requested load was applied.');
  else for (const p of r.problems) out.push(`  NOT VALID (${p.code}): ${p.message}`);
  return out.join('\n') + '\n';
}

function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k}: ${v}`).join(', ');
}

/**
 * The run's windows as an `.hlog` file: corrected interval histograms untagged (what analyzers plot by default) and
 * the uncorrected ones tagged `uncorrected`.
 */
export function loadResultToHlog(r: LoadResult): string {
  const intervals: HlogInterval[] = [];
  for (const w of r.windows) {
    intervals.push({ startMs: w.startMs, lengthMs: w.lengthMs, histogram: decodeHistogram(w.histograms.corrected) });
    intervals.push({
      startMs: w.startMs,
      lengthMs: w.lengthMs,
      histogram: decodeHistogram(w.histograms.uncorrected),
      tag: 'uncorrected',
    });
  }
  return formatHlog({
    startTimeMs: r.meta.startTimeMs,
    intervals,
    comments: [
      `[Logged with shock ${r.meta.version}: ${r.meta.mode} loop against ${r.meta.target}]`,
      '[Values in microseconds; Interval_Max in milliseconds]',
    ],
  });
}
