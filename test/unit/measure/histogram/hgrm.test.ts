import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createLatencyHistogram,
  formatLatencyDistribution,
  formatPercentileSpectrum,
  recordLatencyMs,
} from '../../../../src/measure/histogram/index.js';

test('hgrm - the percentile spectrum has the wrk2 header, rows and the #[Mean]/#[Max] footer in ms', () => {
  const h = createLatencyHistogram();
  for (let i = 1; i <= 1000; i++) recordLatencyMs(h, i);
  const text = formatPercentileSpectrum(h);
  const lines = text.split('\n');
  assert.match(lines[0], /^\s+Value\s+Percentile\s+TotalCount\s+1\/\(1-Percentile\)$/);
  assert.match(text, /#\[Mean\s+=\s+500\.\d+, StdDeviation\s+=\s+[\d.]+\]/);
  assert.match(text, /#\[Max\s+=\s+1000\.\d+, Total count\s+=\s+1000\]/);
  const p50 = lines.find((l) => /\s0\.500000000000\s/.test(l));
  assert.ok(p50 && Math.abs(Number(p50.trim().split(/\s+/)[0]) - 500) < 1, p50);
  const empty = formatPercentileSpectrum(createLatencyHistogram());
  assert.match(empty, /Total count\s+=\s+0\]/);
  assert.match(formatLatencyDistribution(h, 'Recorded Latency'), /99\.900%\s+999\.\d\dms/);
});
