/**
 * `shock load` end to end (the real CLI from source): bad input is refused before any request is sent, a valid run
 * prints JSON with its metadata and writes an `.hlog` that parses back, a closed loop labels its latency, and runs
 * that drop arrivals or see errors exit non-zero after printing their numbers.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { runCli, spawnCli, tempDir } from '../helpers/cli.js';
import { parseHlog } from '../../src/measure/histogram/index.js';
import type { LoadResult } from '../../src/measure/load/index.js';

let server: Server;
let base = '';
let hits = 0;
const tmp = tempDir('shock-load-');

before(async () => {
  server = createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => {
      if (req.url === '/fail') {
        res.statusCode = 500;
        res.end('no');
      } else if (req.url === '/slow') setTimeout(() => res.end('ok'), 50);
      else res.end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  tmp.cleanup();
});

function errorCode(stderr: string): string | undefined {
  const line = stderr.split('\n').find((l) => l.startsWith('{"error"'));
  if (line) return (JSON.parse(line) as { error: { code: string } }).error.code;
  return /\[(SHOCK_[A-Z_]+)\]/.exec(stderr)?.[1];
}

test('load - bad input gets a clear error and exit code before any load is sent', { timeout: 90_000 }, async () => {
  hits = 0;
  const cases: [string[], number, string | undefined][] = [
    [['http://127.0.0.1:1/', '--rate', '10', '-d', '1s', '--json'], 69, 'SHOCK_LOAD_TARGET_UNREACHABLE'],
    [[`${base}/`, '--stages', '30s:abc', '--json'], 64, 'SHOCK_LOAD_BAD_OPTION'],
    [[`${base}/`, '--rate', '0', '-d', '1s', '--json'], 64, 'SHOCK_CLI_USAGE'],
    [[`${base}/`, '--rate=-5', '-d', '1s', '--json'], 64, 'SHOCK_CLI_USAGE'],
    [[`${base}/`, '--rate', '10', '--bogus-flag'], 64, undefined],
    [
      [`${base}/`, '--rate', '10', '-d', '1s', '--template', '{"k":"{{nope}}"}', '--json'],
      64,
      'SHOCK_LOAD_TEMPLATE_FIELD',
    ],
    [['not a url', '--rate', '10', '-d', '1s', '--json'], 64, 'SHOCK_LOAD_BAD_OPTION'],
    [[`${base}/`, '-d', '1s', '--json'], 64, 'SHOCK_CLI_USAGE'],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(['load', ...args], { timeoutMs: 60_000 })));
  results.forEach((r, i) => {
    const [args, exitCode, code] = cases[i];
    assert.equal(r.code, exitCode, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    if (code !== undefined) assert.equal(errorCode(r.stderr), code, r.stderr);
    assert.ok(r.stderr.trim().length > 0, 'says what was wrong');
  });
  assert.equal(hits, 0, 'no request reached the server');
});

test(
  'load - a valid open-loop run prints JSON with metadata and writes an .hlog that parses back',
  { timeout: 60_000 },
  async () => {
    const hlog = join(tmp.dir, 'run.hlog');
    hits = 0;
    const r = await runCli([
      'load',
      `${base}/`,
      '--rate',
      '200',
      '-d',
      '3s',
      '--warmup',
      '1s',
      '--json',
      '--hlog',
      hlog,
      '--workers',
      '2',
    ]);
    const result = JSON.parse(r.stdout) as LoadResult;
    // Formats are checked whatever the machine's load; a starved generator may honestly declare the run invalid.
    const timingOnly = result.problems.every((p) => p.code === 'lag' || p.code === 'rate_not_held');
    assert.ok(r.code === 0 || (r.code === 1 && timingOnly), r.stderr);
    assert.equal(result.valid, r.code === 0);
    assert.equal(result.schema, 'shock.load.result/1');
    assert.equal(result.meta.tool, 'shock');
    assert.equal(result.meta.target, `${base}/`);
    assert.equal(result.meta.ratePerSecTarget, 200);
    assert.equal(result.meta.workers, 2);
    assert.ok(Date.parse(result.meta.startTime) > 0);
    assert.equal(result.counts.sent, 600);
    assert.equal(result.counts.responses, hits);
    assert.equal(result.counts.samples, 400);
    for (const key of ['p50', 'p75', 'p90', 'p95', 'p99', 'p99_9', 'p99_99', 'p99_999', 'max', 'mean'] as const) {
      assert.equal(typeof result.latencyMs.corrected[key], 'number');
    }
    const log = parseHlog(readFileSync(hlog, 'utf8'));
    assert.equal(log.startTimeMs, result.meta.startTimeMs);
    const corrected = log.intervals.filter((i) => i.tag === undefined);
    assert.equal(
      corrected.reduce((a, i) => a + i.histogram.totalCount, 0),
      result.counts.samples,
    );
    assert.ok(log.intervals.some((i) => i.tag === 'uncorrected'));
  },
);

test('load - a closed loop labels its latency as not valid for the tail', { timeout: 60_000 }, async () => {
  const r = await runCli(['load', `${base}/`, '--concurrency', '2', '-d', '1s', '--no-spectrum']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Closed loop: 2 clients/);
  assert.match(r.stdout, /coordinated omission/);
  assert.match(r.stdout, /NOT valid for tail latency/);
  assert.doesNotMatch(r.stdout, /Detailed Percentile spectrum/);
});

test(
  'load - dropped arrivals and errors make the run invalid, loudly, with a non-zero exit',
  { timeout: 60_000 },
  async () => {
    const [dropped, failing] = await Promise.all([
      runCli(['load', `${base}/slow`, '--rate', '100', '-d', '2s', '--max-inflight', '1', '--json']),
      runCli(['load', `${base}/fail`, '--rate', '50', '-d', '1s', '--json']),
    ]);
    assert.equal(dropped.code, 1, dropped.stderr);
    assert.equal(errorCode(dropped.stderr), 'SHOCK_LOAD_RATE_NOT_HELD');
    const d = JSON.parse(dropped.stdout) as LoadResult;
    assert.ok(d.counts.dropped > 100, String(d.counts.dropped));
    assert.ok(d.problems.some((p) => p.code === 'dropped'));
    assert.equal(d.counts.sent + d.counts.dropped, d.counts.scheduled);

    assert.equal(failing.code, 1, failing.stderr);
    assert.equal(errorCode(failing.stderr), 'SHOCK_LOAD_TOO_MANY_ERRORS');
    const f = JSON.parse(failing.stdout) as LoadResult;
    assert.equal(f.statusCounts['500'], 50);
    assert.equal(f.errorsByKind.http_5xx, 50);
    assert.equal(f.counts.samples, 50, 'error responses still get exactly one latency sample');
  },
);

test(
  'load - Ctrl-C mid-run prints the figures of the time that ran, marked interrupted, and exits 1',
  { timeout: 90_000 },
  async () => {
    hits = 0;
    const child = spawnCli(['load', `${base}/`, '--rate', '50', '-d', '60s', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    // Mid-run: once the server has answered 50 requests (about a second in), far from the 60 s planned.
    const deadline = Date.now() + 60_000;
    while (hits < 50 && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(hits >= 50, `the run got going: ${hits} requests, ${stderr}`);
    child.kill('SIGINT');
    const code = await exited;
    assert.equal(code, 1, stderr);
    assert.equal(errorCode(stderr), 'SHOCK_LOAD_INTERRUPTED');
    const result = JSON.parse(stdout) as LoadResult;
    assert.equal(result.interrupted, true);
    assert.equal(result.valid, false);
    assert.ok(
      result.problems.some((p) => p.code === 'interrupted'),
      JSON.stringify(result.problems),
    );
    assert.equal(result.meta.durationMs, 60_000, 'the planned duration stays on record');
    const ranMs = result.stoppedAtMs ?? 0;
    assert.ok(ranMs > 0 && ranMs < 60_000, String(ranMs));
    assert.equal(result.counts.responses, hits, 'in-flight requests were awaited');
    // The rates are over the time that ran: responses / run time (in-flight answers may end a little after the
    // stop), about the 50/s sent — not responses / 60 s.
    const perRanSec = result.counts.responses / (ranMs / 1000);
    assert.ok(result.responsesPerSec <= perRanSec * 1.0001, `${result.responsesPerSec} vs ${perRanSec}`);
    assert.ok(result.responsesPerSec > perRanSec * 0.5, `${result.responsesPerSec} vs ${perRanSec}`);
    assert.ok(result.responsesPerSec > 25, `about the 50/s sent: ${result.responsesPerSec}`);
    assert.ok(result.ratePerSecAchieved > 25, `about the 50/s sent: ${result.ratePerSecAchieved}`);
  },
);
