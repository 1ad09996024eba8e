/**
 * `shock report compare | audit | render` through the real CLI on certificates written to disk, and the rendered
 * report checked in headless Chromium (plots present, no script errors) with a screenshot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/cli.js';
import { writeCertificate } from '../../src/measure/report/certificate.js';
import { sampleCertificate } from '../unit/measure/lab/certificate-fixture.js';
import { chromiumPath, screenshotReport } from './report-browser.js';

test(
  'report cli - compare classifies a regression, audit answers eight questions, render writes HTML',
  { timeout: 90_000 },
  async () => {
    const { dir, cleanup } = tempDir('shock-report-');
    try {
      const a = join(dir, 'a.json');
      const b = join(dir, 'b.json');
      writeCertificate(a, sampleCertificate({ name: 'before' }));
      writeCertificate(b, sampleCertificate({ name: 'after', gamma: 70, beta: 0.003 }));

      const compare = await runCli(['report', 'compare', a, b, '--json']);
      assert.equal(compare.code, 0, compare.stderr);
      const comparison = JSON.parse(compare.stdout);
      assert.equal(comparison.classification, 'regression');
      assert.equal(comparison.triggers[0].fired, true);
      const text = await runCli(['report', 'compare', a, b]);
      assert.match(text.stdout, /verdict: regression/);
      assert.match(text.stdout, /\[FIRED\]/);

      const audit = await runCli(['report', 'audit', a, '--json']);
      assert.equal(audit.code, 0, audit.stderr);
      const answers = JSON.parse(audit.stdout).answers as Array<{ status: string; answer: string }>;
      assert.equal(answers.length, 8);
      assert.ok(answers.some((x) => x.answer.startsWith('unknown — measure')));

      const html = join(dir, 'report.html');
      const render = await runCli(['report', 'render', a, '--out', html]);
      assert.equal(render.code, 0, render.stderr);
      assert.match(readFileSync(html, 'utf8'), /Birth certificate: before/);
      if (chromiumPath()) {
        const view = await screenshotReport(html, '/tmp/shock-report-render.png');
        assert.deepEqual(view.errors, []);
        assert.ok(view.svgCount >= 2);
        assert.equal(view.pointCount >= 6, true);
        assert.ok(view.curveCount >= 1);
      }
    } finally {
      cleanup();
    }
  },
);

test('report cli - an invalid certificate is refused with its problems listed', async () => {
  const { dir, cleanup } = tempDir('shock-report-');
  try {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ schema: 'shockabsorber/birth-certificate', version: 1, status: 'maybe' }));
    const r = await runCli(['report', 'audit', bad]);
    assert.equal(r.code, 65);
    assert.match(r.stderr, /not a valid birth certificate \[SHOCK_REPORT_INVALID\]/);
    assert.match(r.stderr, /problems/);
    const missing = await runCli(['report', 'compare', join(dir, 'none.json'), bad]);
    assert.equal(missing.code, 66);
  } finally {
    cleanup();
  }
});
