/**
 * The HdrHistogram interval log (`.hlog`, log format version 1.3) — the file HistogramLogAnalyzer and
 * HdrHistogram's `HistogramLogProcessor` open. One line per interval:
 * `StartTimestamp,Interval_Length,Interval_Max,Interval_Compressed_Histogram`, timestamps in seconds relative to
 * `#[StartTime: …]` (seconds since the epoch), Interval_Max in milliseconds (values are recorded in µs), an optional
 * `Tag=…,` prefix. The writer and the reader below round-trip exactly (`test/unit/measure/histogram/hlog.test.ts`).
 */
import { shockError } from '../../base/index.js';
import { decodeHistogram, encodeHistogram, histogramUnitsPerMs, type LatencyHistogram } from './histogram.js';

/** One interval of the log. */
export interface HlogInterval {
  /** Interval start, milliseconds after the log's start time. */
  startMs: number;
  lengthMs: number;
  histogram: LatencyHistogram;
  /** Optional tag (e.g. `corrected`, `uncorrected`); no commas or spaces. */
  tag?: string;
}

export interface Hlog {
  /** Wall-clock start of the run, milliseconds since the epoch. */
  startTimeMs: number;
  intervals: HlogInterval[];
  comments: string[];
}

const formatVersion = '1.3';
const legend = '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"';

/** Renders a whole `.hlog` file. Timestamps keep millisecond precision (3 decimals of a second). */
export function formatHlog(log: Hlog): string {
  const lines: string[] = [];
  for (const c of log.comments) lines.push(`#${c}`);
  lines.push(`#[Histogram log format version ${formatVersion}]`);
  lines.push(
    `#[StartTime: ${(log.startTimeMs / 1000).toFixed(3)} (seconds since epoch), ${new Date(log.startTimeMs).toUTCString()}]`,
  );
  lines.push(legend);
  for (const interval of log.intervals) lines.push(formatHlogLine(interval));
  return lines.join('\n') + '\n';
}

/** One interval line (with its optional `Tag=` prefix). */
export function formatHlogLine(interval: HlogInterval): string {
  if (interval.tag !== undefined && /[\s,]/.test(interval.tag)) {
    throw shockError(
      'SHOCK_HISTOGRAM_LOG_INVALID',
      `an .hlog tag may not contain spaces or commas, got "${interval.tag}"`,
    );
  }
  const start = (interval.startMs / 1000).toFixed(3);
  const length = (interval.lengthMs / 1000).toFixed(3);
  const maxMs = (interval.histogram.maxValue / histogramUnitsPerMs).toFixed(3);
  const body = `${start},${length},${maxMs},${encodeHistogram(interval.histogram)}`;
  return interval.tag === undefined ? body : `Tag=${interval.tag},${body}`;
}

/**
 * Parses a `.hlog` file. Comments are kept except the format and start-time lines, which are interpreted;
 * `#[BaseTime: …]` shifts interval timestamps the way HdrHistogram's reader does. A malformed line fails with
 * SHOCK_HISTOGRAM_LOG_INVALID naming the line number.
 */
export function parseHlog(text: string): Hlog {
  let startTimeMs = 0;
  let baseTimeSec: number | undefined;
  const intervals: HlogInterval[] = [];
  const comments: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('"StartTimestamp"')) continue;
    if (line.startsWith('#')) {
      const start = /^#\[StartTime: ([\d.]+)/.exec(line);
      const base = /^#\[BaseTime: ([\d.]+)/.exec(line);
      if (start) startTimeMs = Number(start[1]) * 1000;
      else if (base) baseTimeSec = Number(base[1]);
      else if (!line.startsWith('#[Histogram log format version')) comments.push(line.slice(1));
      continue;
    }
    intervals.push(parseLine(line, i + 1, startTimeMs, baseTimeSec));
  }
  return { startTimeMs, intervals, comments };
}

function parseLine(line: string, lineNumber: number, startTimeMs: number, baseTimeSec?: number): HlogInterval {
  let rest = line;
  let tag: string | undefined;
  if (rest.startsWith('Tag=')) {
    const comma = rest.indexOf(',');
    tag = rest.slice(4, comma);
    rest = rest.slice(comma + 1);
  }
  const fields = rest.split(',');
  const [startSec, lengthSec, maxMs] = fields.slice(0, 3).map(Number);
  if (fields.length !== 4 || ![startSec, lengthSec, maxMs].every(Number.isFinite)) {
    throw shockError('SHOCK_HISTOGRAM_LOG_INVALID', `line ${lineNumber} is not an interval line`, {
      line: line.slice(0, 120),
      hint: 'an interval line is StartTimestamp,Interval_Length,Interval_Max,Interval_Compressed_Histogram',
    });
  }
  let histogram: LatencyHistogram;
  try {
    histogram = decodeHistogram(fields[3]);
  } catch (err) {
    throw shockError('SHOCK_HISTOGRAM_LOG_INVALID', `line ${lineNumber}: the histogram does not decode`, {}, err);
  }
  // Absolute timestamps (a BaseTime line, or values that look like epoch seconds) become relative to StartTime.
  const absoluteSec = baseTimeSec !== undefined ? startSec + baseTimeSec : startSec > 1e9 ? startSec : undefined;
  const startMs = absoluteSec !== undefined ? absoluteSec * 1000 - startTimeMs : startSec * 1000;
  return { startMs, lengthMs: lengthSec * 1000, histogram, ...(tag === undefined ? {} : { tag }) };
}
