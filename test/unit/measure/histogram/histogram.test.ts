import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  countAboveMs,
  createLatencyHistogram,
  decodeHistogram,
  encodeHistogram,
  mergeHistograms,
  recordLatencyMs,
  recordedValues,
  summarizeMs,
} from '../../../../src/measure/histogram/index.js';

const latencies = fc.array(fc.double({ min: 0.001, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 300 });

test('histogram - the merge of parts equals one histogram of all samples', () => {
  fc.assert(
    fc.property(latencies, fc.integer({ min: 1, max: 5 }), (values, parts) => {
      const whole = createLatencyHistogram();
      const pieces = Array.from({ length: parts }, () => createLatencyHistogram());
      values.forEach((v, i) => {
        recordLatencyMs(whole, v);
        recordLatencyMs(pieces[i % parts], v);
      });
      const merged = mergeHistograms(pieces.map((p) => decodeHistogram(encodeHistogram(p))));
      assert.deepEqual(recordedValues(merged), recordedValues(whole));
      assert.deepEqual(summarizeMs(merged), summarizeMs(whole));
    }),
    { numRuns: 20 },
  );
});

test('histogram - percentiles agree with a sorted oracle within the 0.1% precision', () => {
  fc.assert(
    fc.property(latencies, (values) => {
      const h = createLatencyHistogram();
      for (const v of values) recordLatencyMs(h, v);
      const sorted = values.map((v) => Math.max(1, Math.round(v * 1000)) / 1000).sort((a, b) => a - b);
      for (const [p, got] of [
        [50, summarizeMs(h).p50],
        [99, summarizeMs(h).p99],
      ] as const) {
        const oracle = sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
        assert.ok(Math.abs(got - oracle) <= oracle * 0.001 + 0.001, `p${p}: ${got} vs ${oracle}`);
      }
    }),
    { numRuns: 20 },
  );
});

test('histogram - encoding round-trips and an empty histogram summarizes to zeros', () => {
  const h = createLatencyHistogram();
  for (let i = 1; i <= 1000; i++) recordLatencyMs(h, i / 10);
  const back = decodeHistogram(encodeHistogram(h));
  assert.equal(back.totalCount, 1000);
  assert.deepEqual(summarizeMs(back), summarizeMs(h));
  assert.equal(countAboveMs(h, 50), 500);
  assert.equal(summarizeMs(createLatencyHistogram()).count, 0);
  assert.equal(decodeHistogram('').totalCount, 0);
});
