import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as hdr from 'hdr-histogram-js';
import {
  createLatencyHistogram,
  formatHlog,
  parseHlog,
  recordLatencyMs,
  recordedValues,
  type HlogInterval,
} from '../../../../src/measure/histogram/index.js';
import { mulberry32 } from '../../../../src/base/index.js';

function intervals(): HlogInterval[] {
  const rng = mulberry32(42);
  const out: HlogInterval[] = [];
  for (let i = 0; i < 5; i++) {
    const h = createLatencyHistogram();
    for (let k = 0; k < 500; k++) recordLatencyMs(h, rng.next() * 100 * (i + 1));
    out.push({ startMs: i * 1000, lengthMs: 1000, histogram: h });
    if (i % 2 === 0) out.push({ startMs: i * 1000, lengthMs: 1000, histogram: h, tag: 'uncorrected' });
  }
  return out;
}

test('hlog - the writer and reader round-trip start time, timestamps, tags and histograms exactly', () => {
  const log = { startTimeMs: 1_700_000_000_123, intervals: intervals(), comments: ['[a comment]'] };
  const text = formatHlog(log);
  const back = parseHlog(text);
  assert.equal(back.startTimeMs, log.startTimeMs);
  assert.deepEqual(back.comments, ['[a comment]']);
  assert.equal(back.intervals.length, log.intervals.length);
  back.intervals.forEach((got, i) => {
    const want = log.intervals[i];
    assert.equal(got.startMs, want.startMs);
    assert.equal(got.lengthMs, want.lengthMs);
    assert.equal(got.tag, want.tag);
    assert.deepEqual(recordedValues(got.histogram), recordedValues(want.histogram));
  });
});

test('hlog - HdrHistogram’s own log reader opens the file', () => {
  const log = { startTimeMs: 1_700_000_000_000, intervals: intervals(), comments: [] };
  const reader = new hdr.HistogramLogReader(formatHlog(log));
  let count = 0;
  let total = 0;
  for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
    count++;
    total += h.totalCount;
  }
  assert.equal(count, log.intervals.length);
  assert.equal(
    total,
    log.intervals.reduce((a, i) => a + i.histogram.totalCount, 0),
  );
  assert.equal(reader.startTimeSec, 1_700_000_000);
});

test('hlog - a malformed interval line fails with SHOCK_HISTOGRAM_LOG_INVALID and its line number', () => {
  const text =
    '#[StartTime: 1.000 (seconds since epoch)]\n"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"\n0.000,1.000,oops\n';
  assert.throws(
    () => parseHlog(text),
    (err: { code?: string; message?: string }) => {
      assert.equal(err.code, 'SHOCK_HISTOGRAM_LOG_INVALID');
      assert.match(err.message ?? '', /line 3/);
      return true;
    },
  );
  assert.throws(() => parseHlog('0.000,1.000,2.0,notbase64!!\n'), { code: 'SHOCK_HISTOGRAM_LOG_INVALID' });
});
