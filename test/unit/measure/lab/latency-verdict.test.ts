/**
 * The latency run's verdict in the certificate: recorded verdicts validate, older certificates without one still
 * read (validity unknown), and a run that is not valid is flagged in the terminal summary, the HTML report and the
 * audit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  latencyValidity,
  latencyVerdictText,
  validateCertificate,
  type Certificate,
  type LatencyVerdict,
} from '../../../../src/measure/report/certificate.js';
import { renderCertificateHtml } from '../../../../src/measure/report/certificate-html.js';
import { auditCertificate } from '../../../../src/measure/report/audit.js';
import { compareCertificates } from '../../../../src/measure/report/compare.js';
import { formatCertificateSummary } from '../../../../src/cli/commands/lab.js';
import { sampleCertificate } from './certificate-fixture.js';

function withVerdict(verdict: LatencyVerdict | undefined): Certificate {
  const c = sampleCertificate();
  const at20 = { ...c.latency[0], loadFraction: 0.2, ratePerSec: c.latency[0].ratePerSec / 4 };
  c.latency = [
    { ...c.latency[0], ...(verdict ? { verdict } : {}) },
    { ...at20, ...(verdict ? { verdict: { ...verdict, valid: true, problems: [], dropped: 0 } } : {}) },
  ];
  return c;
}

const notHeld: LatencyVerdict = {
  valid: false,
  problems: [
    { code: 'dropped', message: '120 arrivals were dropped' },
    { code: 'rate_not_held', message: 'achieved 50.0 req/s of 200.0 scheduled' },
  ],
  ratePerSecAchieved: 50,
  dropped: 120,
  schedulingLagMsP99: 1.5,
};

test('latency verdict - an older certificate without verdicts reads, with validity unknown', () => {
  const old = JSON.parse(JSON.stringify(withVerdict(undefined))) as Certificate;
  assert.equal(old.latency[0].verdict, undefined);
  const read = validateCertificate(old);
  assert.equal(latencyValidity(read.latency[0]), 'unknown');
  assert.match(latencyVerdictText(read.latency[0]), /^validity unknown/);
  assert.match(formatCertificateSummary(read, null), /open loop, 1000 requests\) — validity unknown/);
  assert.match(renderCertificateHtml(read, { band: null, windows: [] }), /<span class="warn">unknown<\/span>/);
  assert.equal(auditCertificate(read).answers[3].status, 'answered');
});

test('latency verdict - a valid run is recorded and not flagged', () => {
  const valid: LatencyVerdict = {
    valid: true,
    problems: [],
    ratePerSecAchieved: 200,
    dropped: 0,
    schedulingLagMsP99: 1,
  };
  const c = validateCertificate(withVerdict(valid));
  assert.equal(latencyValidity(c.latency[0]), 'valid');
  assert.equal(latencyVerdictText(c.latency[0]), 'valid');
  const summary = formatCertificateSummary(c, null);
  assert.doesNotMatch(summary, /NOT VALID|validity unknown/);
  assert.doesNotMatch(renderCertificateHtml(c, { band: null, windows: [] }), /NOT VALID/);
  assert.equal(auditCertificate(c).answers[3].status, 'answered');
});

test('latency verdict - a run that is not valid is flagged in the summary, the report and the audit', () => {
  const c = validateCertificate(withVerdict(notHeld));
  const l = c.latency[0];
  assert.equal(latencyValidity(l), 'invalid');
  assert.equal(
    latencyVerdictText(l),
    `not valid: 120 arrivals dropped (too many requests outstanding); rate not held (achieved 50.0 of ${l.ratePerSec.toFixed(0)}/s)`,
  );
  assert.match(
    formatCertificateSummary(c, null),
    /requests\) — NOT VALID: 120 arrivals dropped .*; rate not held \(achieved 50\.0 of \d+\/s\)/,
  );
  const html = renderCertificateHtml(c, { band: null, windows: [] });
  assert.match(html, /1 latency run\(s\) not valid/);
  assert.match(html, /NOT VALID: 120 arrivals dropped/);
  const q4 = auditCertificate(c).answers[3];
  assert.equal(q4.status, 'unknown');
  assert.match(q4.answer, /the 80% latency run is not valid: .*rate not held/);
  // `shock report compare` does not compare a p99 measured under a load that was not applied.
  const p99 = compareCertificates(withVerdict(undefined), c).movements.find((m) => m.name.startsWith('p99'));
  assert.equal(p99?.name, 'p99 at 80% load (a latency run not valid: not compared)');
  assert.equal(p99?.verdict, 'unknown');
});

test('latency verdict - a malformed verdict is refused, every problem listed', () => {
  const c = withVerdict(notHeld) as unknown as { latency: Array<Record<string, unknown>> };
  c.latency[0].verdict = { valid: 'no', problems: [] };
  assert.throws(
    () => validateCertificate(c),
    (err: Error & { details?: { problems?: string[] } }) => {
      const problems = err.details?.problems?.join('\n') ?? '';
      assert.match(problems, /\/latency\/0\/verdict/);
      return true;
    },
  );
});
