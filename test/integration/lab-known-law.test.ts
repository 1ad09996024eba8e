/**
 * The lab against a service whose throughput follows a known law (`shock lab serve-law`): a real CLI run, real
 * processes started per N, real HTTP. The fitted γ, α, β must contain the true values within the intervals the
 * certificate reports; `--refit` must reproduce the fit from the saved windows without measuring; the report must
 * render with its plots in headless Chromium.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, repoRoot } from '../helpers/cli.js';
import { readCertificate } from '../../src/measure/report/certificate.js';
import { readRecords } from '../../src/measure/lab/windows.js';
import { chromiumPath, screenshotReport } from './report-browser.js';

const truth = { gamma: 50, alpha: 0.05, beta: 0.002 };

test('lab - recovers the known law of a test service within the reported intervals', { timeout: 150_000 }, async () => {
  const { dir, cleanup } = tempDir('shock-lab-law-');
  try {
    const out = join(dir, 'run');
    const serve = `${process.execPath} --import tsx ${join(repoRoot, 'src/cli/main.ts')} lab serve-law --gamma ${truth.gamma} --alpha ${truth.alpha} --beta ${truth.beta} --jitter 0.2 --n {N} --port {PORT}`;
    const result = await runCli(
      [
        'lab',
        '--command',
        serve,
        '--target',
        'http://127.0.0.1:{PORT}/work',
        '--plan',
        '1,2,4,8,16,32',
        '--windows',
        '5',
        '--window-duration',
        '800ms',
        '--warmup',
        '1s',
        '--concurrency-factor',
        '4',
        '--latency-duration',
        '1s',
        '--level',
        '0.99',
        '--out',
        out,
      ],
      { timeoutMs: 140_000 },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /N = 32: window/);
    const certificate = readCertificate(join(out, 'certificate.json'));
    assert.equal(certificate.status, 'complete');
    assert.equal(certificate.points.length, 6);
    const fit = certificate.fit!;
    for (const name of ['gamma', 'alpha', 'beta'] as const) {
      const e = fit[name];
      assert.ok(e.low !== null && e.high !== null, `${name} has an interval`);
      assert.ok(
        e.low <= truth[name] && truth[name] <= e.high,
        `${name}: true ${truth[name]} in [${e.low}, ${e.high}] (fitted ${e.value})`,
      );
    }
    assert.equal(fit.level, 0.99);
    assert.ok(fit.nMax !== null, 'a finite N_max');
    assert.equal(certificate.latency.length, 2, 'latency runs at 80% and 20%');
    assert.ok(certificate.latency[0].requests > 0 && certificate.latency[0].latencyUsP99 > 0);
    const windows = readRecords(join(out, 'windows.ndjson')).windows;
    assert.ok(windows.filter((w) => w.kept).length >= 30);

    // Re-fit without measuring: same windows and seed give the same fit.
    const refit = await runCli(['lab', '--refit', out, '--level', '0.99', '--json'], { timeoutMs: 60_000 });
    assert.equal(refit.code, 0, refit.stderr);
    const again = JSON.parse(refit.stdout) as typeof certificate;
    assert.equal(again.fit!.gamma.value, fit.gamma.value);
    assert.deepEqual(again.fit!.beta, fit.beta);

    // The report renders with its plots in headless Chromium.
    const html = join(out, 'report.html');
    assert.ok(existsSync(html));
    assert.match(readFileSync(html, 'utf8'), /<svg/);
    if (chromiumPath()) {
      const seen = await screenshotReport(html, '/tmp/shock-lab-known-law-report.png');
      assert.ok(seen.svgCount >= 2, `plots: ${seen.svgCount}`);
      assert.equal(seen.pointCount >= 6, true, `points: ${seen.pointCount}`);
    }
  } finally {
    cleanup();
  }
});
