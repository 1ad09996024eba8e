/**
 * The lab's failure paths, each through the real CLI: a bad or unreachable target, a bad plan, a plan with fewer
 * than 5 points, a service that answers errors, and a run interrupted by SIGINT. Each gets a clear message and,
 * once measuring has started, a valid partial certificate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, spawnCli, tempDir, repoRoot } from '../helpers/cli.js';
import { readCertificate } from '../../src/measure/report/certificate.js';

const serveLaw = (extra: string) =>
  `${process.execPath} --import tsx ${join(repoRoot, 'src/cli/main.ts')} lab serve-law --gamma 40 --n {N} --port {PORT} ${extra}`;

test('lab errors - no target, a bad URL and a bad plan are usage errors naming the option', async () => {
  const none = await runCli(['lab']);
  assert.equal(none.code, 64);
  assert.match(none.stderr, /--target URL or --command/);
  const badUrl = await runCli(['lab', '--target', 'not a url']);
  assert.equal(badUrl.code, 64);
  assert.match(badUrl.stderr, /--target must be an http:\/\/ URL/);
  const badPlan = await runCli(['lab', '--target', 'http://127.0.0.1:9/', '--plan', '1,x,0']);
  assert.equal(badPlan.code, 64);
  assert.match(badPlan.stderr, /--plan must be a comma-separated list/);
  const noN = await runCli(['lab', '--command', 'sleep 1']);
  assert.equal(noN.code, 64);
  assert.match(noN.stderr, /must contain \{N\}/);
});

test(
  'lab errors - an unreachable target ends with a clear message and a valid partial certificate',
  { timeout: 60_000 },
  async () => {
    const { dir, cleanup } = tempDir('shock-lab-err-');
    try {
      const out = join(dir, 'run');
      const r = await runCli(['lab', '--target', 'http://127.0.0.1:9/', '--ready-timeout', '1s', '--out', out]);
      assert.equal(r.code, 64, r.stderr);
      assert.match(r.stderr, /did not answer HTTP/);
      assert.match(r.stderr, /partialResult/);
      const c = readCertificate(join(out, 'certificate.json'));
      assert.equal(c.status, 'partial');
      assert.equal(c.points.length, 0);
      assert.match(c.partialReason ?? '', /SHOCK_LAB_BAD_TARGET/);
    } finally {
      cleanup();
    }
  },
);

test(
  'lab errors - a plan of fewer than 5 points is measured and fitted, warned, without intervals',
  { timeout: 60_000 },
  async () => {
    const { dir, cleanup } = tempDir('shock-lab-err-');
    try {
      const out = join(dir, 'run');
      const serve = `${process.execPath} --import tsx ${join(repoRoot, 'src/cli/main.ts')} lab serve-law --gamma 100 --alpha 0.2 --n {N} --port {PORT}`;
      const r = await runCli([
        'lab',
        '--command',
        serve,
        '--target',
        'http://127.0.0.1:{PORT}/x',
        '--plan',
        '1,2,4',
        '--windows',
        '2',
        '--window-duration',
        '500ms',
        '--warmup',
        '500ms',
        '--concurrency-factor',
        '4',
        '--no-latency',
        '--probe-storage',
        dir,
        '--out',
        out,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /fewer than 5/);
      const c = readCertificate(join(out, 'certificate.json'));
      assert.equal(c.status, 'complete');
      assert.equal(c.points.length, 3);
      assert.ok(c.fit);
      assert.equal(c.fit.gamma.low, null);
      assert.equal(c.fit.autoscalerCeiling, null);
      assert.ok(c.floors.storageFsyncPerSec !== null && c.floors.storageFsyncPerSec > 0, 'storage floor probed');
      assert.match(c.floors.source, /shock probe storage/);
    } finally {
      cleanup();
    }
  },
);

test(
  'lab errors - a service that answers errors stops the run with a partial certificate',
  { timeout: 60_000 },
  async () => {
    const { dir, cleanup } = tempDir('shock-lab-err-');
    try {
      const out = join(dir, 'run');
      const r = await runCli([
        'lab',
        '--command',
        serveLaw('--failing'),
        '--target',
        'http://127.0.0.1:{PORT}/x',
        '--plan',
        '1,2,4,8,16',
        '--windows',
        '2',
        '--window-duration',
        '300ms',
        '--warmup',
        '200ms',
        '--concurrency-factor',
        '1',
        '--out',
        out,
      ]);
      assert.equal(r.code, 69, r.stderr);
      assert.match(r.stderr, /answered errors to \d+ of \d+ requests at N = 1 \(first: HTTP 500\)/);
      const c = readCertificate(join(out, 'certificate.json'));
      assert.equal(c.status, 'partial');
      assert.match(c.partialReason ?? '', /SHOCK_LAB_TARGET_FAILING/);
    } finally {
      cleanup();
    }
  },
);

test(
  'lab errors - SIGINT mid-run leaves a valid partial certificate and the windows measured so far',
  { timeout: 90_000 },
  async () => {
    const { dir, cleanup } = tempDir('shock-lab-err-');
    try {
      const out = join(dir, 'run');
      const child = spawnCli([
        'lab',
        '--command',
        serveLaw(''),
        '--target',
        'http://127.0.0.1:{PORT}/x',
        '--plan',
        '1,2,4,8,16,32',
        '--windows',
        '3',
        '--window-duration',
        '500ms',
        '--warmup',
        '300ms',
        '--concurrency-factor',
        '1',
        '--out',
        out,
      ]);
      let stderr = '';
      let stdout = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      const interrupted = new Promise<void>((resolve) => {
        child.stderr?.setEncoding('utf8').on('data', (d: string) => {
          stderr += d;
          if (/N = 2: window 2/.test(stderr) && !child.killed) {
            child.kill('SIGINT');
            resolve();
          }
        });
      });
      const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      const timer = setTimeout(() => child.kill('SIGKILL'), 80_000);
      await interrupted;
      const code = await exit;
      clearTimeout(timer);
      assert.equal(code, 1, stderr);
      assert.match(stderr, /SIGINT received/);
      assert.match(stderr, /interrupted; the partial result was saved/);
      assert.ok(existsSync(join(out, 'report.html')));
      const c = readCertificate(join(out, 'certificate.json'));
      assert.equal(c.status, 'partial');
      assert.match(c.partialReason ?? '', /SHOCK_LAB_INTERRUPTED/);
      assert.ok(c.points.some((p) => p.n === 1));
      assert.ok(!c.points.some((p) => p.n === 32));
      assert.match(stdout, /partial/);
    } finally {
      cleanup();
    }
  },
);
