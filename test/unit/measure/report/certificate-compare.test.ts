import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareCertificates, formatComparison } from '../../../../src/measure/report/compare.js';
import { sampleCertificate } from '../lab/certificate-fixture.js';

test('certificate compare - identical certificates are no change and fire no trigger', () => {
  const a = sampleCertificate();
  const c = compareCertificates(a, sampleCertificate());
  assert.equal(c.classification, 'no-change');
  assert.ok(c.movements.every((m) => !m.beyondIntervals));
  assert.ok(c.triggers.every((t) => t.fired !== true));
});

test('certificate compare - lower β beyond the intervals is a movement toward the frontier', () => {
  const c = compareCertificates(sampleCertificate(), sampleCertificate({ beta: 0.001 }));
  assert.equal(c.classification, 'toward-frontier');
  const beta = c.movements.find((m) => m.name === 'β')!;
  assert.equal(beta.verdict, 'better');
  assert.ok(beta.beyondIntervals);
});

test('certificate compare - more throughput bought with a worse p99 is a movement along the frontier', () => {
  const c = compareCertificates(sampleCertificate(), sampleCertificate({ gamma: 150, p99Us: 200_000 }));
  assert.equal(c.classification, 'along-frontier');
});

test('certificate compare - a γ drop over 20% and a β rise over 15% are a regression that fires the drift triggers', () => {
  const c = compareCertificates(sampleCertificate(), sampleCertificate({ gamma: 70, beta: 0.003 }));
  assert.equal(c.classification, 'regression');
  assert.equal(c.triggers[0].fired, true, 'γ trigger');
  assert.equal(c.triggers[1].fired, true, 'β trigger');
  assert.equal(c.triggers[2].fired, null, 'N trigger needs an operating N');
  assert.match(formatComparison(c), /regression/);
});

test('certificate compare - a change inside overlapping intervals is not beyond them', () => {
  const c = compareCertificates(sampleCertificate({ spread: 0.2 }), sampleCertificate({ gamma: 110, spread: 0.2 }));
  const gamma = c.movements.find((m) => m.name === 'γ')!;
  assert.equal(gamma.beyondIntervals, false);
  assert.equal(gamma.verdict, 'unchanged');
});
