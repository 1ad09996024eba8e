/**
 * CounterVec/HistogramVec print through a real prom-client Registry exactly like prom-client's own metrics would:
 * the same series, cumulative buckets with `le` first, `+Inf` equal to the count, and reset zeroing held cells.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, Registry } from 'prom-client';
import { CounterVec, HistogramVec } from '../../../src/base/index.js';

test('metric-vec - a counter prints one series per label set', async () => {
  const registry = new Registry();
  const vec = new CounterVec('x_events_total', 'Events', ['tenant', 'partition']);
  registry.registerMetric(vec as never);
  vec.cell('acme', '0').value += 3;
  vec.inc(['acme', '1'], 2);
  vec.cell('acme', '0').value += 1;
  const text = await registry.metrics();
  assert.match(text, /# TYPE x_events_total counter/);
  assert.match(text, /x_events_total\{tenant="acme",partition="0"\} 4/);
  assert.match(text, /x_events_total\{tenant="acme",partition="1"\} 2/);
  assert.throws(() => vec.cell('only-one'), /expected 2 label values/);
});

test('metric-vec - a histogram prints the same text as a prom-client Histogram fed the same observations', async () => {
  const buckets = [0.001, 0.01, 0.1, 1];
  const observations = [0, 0.0005, 0.001, 0.002, 0.05, 0.1, 0.7, 3, 12];
  const ours = new Registry();
  const vec = new HistogramVec('x_seconds', 'Latency', ['route'], buckets);
  ours.registerMetric(vec as never);
  const theirs = new Registry();
  const reference = new Histogram({
    name: 'x_seconds',
    help: 'Latency',
    labelNames: ['route'],
    buckets,
    registers: [theirs],
  });
  const cell = vec.cell('/v1/events');
  for (const v of observations) {
    vec.observe(cell, v);
    reference.labels('/v1/events').observe(v);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  ours.resetMetrics();
  vec.observe(cell, 0.5);
  const text = await ours.metrics();
  assert.match(text, /x_seconds_count\{route="\/v1\/events"\} 1\n/);
  assert.match(text, /x_seconds_bucket\{le="\+Inf",route="\/v1\/events"\} 1\n/);
  assert.throws(() => new HistogramVec('bad', 'h', [], [1, 1]), /strictly increasing/);
});
