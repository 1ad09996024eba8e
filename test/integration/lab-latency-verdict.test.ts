/**
 * The latency run's validity verdict, through the real CLI. The load generator declares an open-loop run not valid
 * when it did not apply the scheduled load (docs/measure-load.md, "When a run is not valid"); with
 * `--latency-max-inflight 1` the latency run may keep one request outstanding, and the target (`lab-slots-server.ts`,
 * each request held ~25 ms) answers one request at a time at most ~40/s, while 80% of its fitted capacity is several
 * hundred per second. So arrivals find the one request outstanding and are dropped (counted, never delayed), and the
 * requests sent fall far short of the schedule: the verdict is `dropped` and `rate_not_held` by counting, whatever
 * the machine's speed. The valid case is the ramp test's (lab-ramp.test.ts): there both runs must be valid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from '../helpers/cli.js';
import { readCertificate, type Certificate } from '../../src/measure/report/certificate.js';
import { readRecords } from '../../src/measure/lab/windows.js';

const serverEntry = fileURLToPath(new URL('./lab-slots-server.ts', import.meta.url));

test(
  'lab latency verdict - a latency run the target cannot keep up with is recorded and flagged as not valid',
  { timeout: 120_000 },
  async () => {
    const { dir, cleanup } = tempDir('shock-lab-verdict-');
    try {
      const out = join(dir, 'run');
      const result = await runCli(
        [
          'lab',
          '--command',
          `${process.execPath} --import tsx ${serverEntry} {N} {PORT} 3 20 0.1 0.02`,
          '--target',
          'http://127.0.0.1:{PORT}/work',
          '--plan',
          '1,2,3',
          '--windows',
          '2',
          '--window-duration',
          '400ms',
          '--warmup',
          '300ms',
          '--concurrency-factor',
          '4',
          '--latency-duration',
          '1500ms',
          '--latency-max-inflight',
          '1',
          '--out',
          out,
        ],
        { timeoutMs: 110_000 },
      );
      // The capacity fit stands; the latency figures are flagged, not refused.
      assert.equal(result.code, 0, result.stderr);
      const certificate = readCertificate(join(out, 'certificate.json'));
      assert.equal(certificate.status, 'complete');
      assert.ok(certificate.fit);
      const at80 = certificate.latency.find((l) => l.loadFraction === 0.8);
      assert.ok(at80?.verdict, 'the 80% run carries its verdict');
      const verdict = at80.verdict;
      assert.equal(verdict.valid, false);
      const codes = verdict.problems.map((p) => p.code);
      assert.ok(codes.includes('dropped') && codes.includes('rate_not_held'), codes.join(', '));
      assert.ok(verdict.dropped > 0);
      assert.ok(verdict.ratePerSecAchieved < at80.ratePerSec * 0.99);
      // windows.ndjson holds the same verdict (a re-fit keeps it).
      const recorded = readRecords(join(out, 'windows.ndjson')).latency.find((l) => l.loadFraction === 0.8);
      assert.deepEqual(recorded?.verdict, verdict);
      // The 20% run has its own verdict, whatever it is.
      assert.ok(certificate.latency.find((l) => l.loadFraction === 0.2)?.verdict);

      // Flagged in the human output, the certificate's warnings and the report.
      assert.match(
        result.stdout,
        /latency at 80% of X\(\d+\) = .*p99 .* ms \(open loop, \d+ requests\) — NOT VALID: .*rate not held \(achieved [\d.]+ of [\d.]+\/s\)/,
      );
      assert.match(result.stdout, /\d+ arrivals dropped/);
      assert.match(result.stderr, /latency run at 80%: not valid: /);
      assert.ok(
        certificate.warnings.some((w) => /latency run at 80% .* is not valid: .*rate not held/.test(w)),
        certificate.warnings.join('\n'),
      );
      assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /NOT VALID: .*rate not held \(achieved/);
      const audit = await runCli(['report', 'audit', join(out, 'certificate.json')]);
      assert.equal(audit.code, 0, audit.stderr);
      assert.match(audit.stdout, /\[unknown\] unknown — measure again: the 80% latency run is not valid: /);

      // --refit keeps the verdict.
      const refit = await runCli(['lab', '--refit', out, '--json']);
      assert.equal(refit.code, 0, refit.stderr);
      const again = JSON.parse(refit.stdout) as Certificate;
      assert.deepEqual(
        again.latency.map((l) => l.verdict),
        certificate.latency.map((l) => l.verdict),
      );
    } finally {
      cleanup();
    }
  },
);
