import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditCertificate, formatAudit } from '../../../../src/measure/report/audit.js';
import { sampleCertificate } from '../lab/certificate-fixture.js';

test('certificate audit - answers the eight questions, each with evidence or what to measure', () => {
  const audit = auditCertificate(sampleCertificate());
  assert.equal(audit.answers.length, 8);
  assert.equal(audit.answers[0].status, 'answered');
  assert.match(audit.answers[0].answer, /α = 0\.05/);
  for (const a of audit.answers.filter((x) => x.status === 'unknown'))
    assert.match(a.answer, /^unknown — measure|unknown — record|running N unknown/);
  assert.equal(audit.answers[7].status, 'answered', 'fsync on is recorded');
  assert.match(formatAudit(audit), /8\. Is your baseline throughput/);
});

test('certificate audit - a certificate without a fit answers unknown, not a pass', () => {
  const audit = auditCertificate({ ...sampleCertificate(), fit: null, latency: [] });
  assert.equal(audit.answers[0].status, 'unknown');
  assert.equal(audit.answers[1].status, 'unknown');
  assert.equal(audit.answers[3].status, 'unknown');
});

test('certificate audit - running past N_max is flagged', () => {
  const c = sampleCertificate();
  c.constraints.operatingN = 40;
  const audit = auditCertificate(c);
  assert.equal(audit.answers[1].status, 'warning');
  assert.match(audit.answers[1].answer, /past N_max/);
});
