/**
 * `shock fit`, `shock fanout` and `shock plan` as a user runs them: readable output, JSON, and bad input that ends
 * in one clear message with a stable code and a non-zero exit, never a stack trace or a NaN.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { run } from '../../src/cli/main.js';

/** Runs `shock ARGS` in this process (fast: no child, no compile), capturing stdout and stderr. */
async function runInProcess(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => (
    (stdout += String(chunk)),
    true
  )) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => (
    (stderr += String(chunk)),
    true
  )) as typeof process.stderr.write;
  try {
    const code = await run(args);
    return { code, signal: null, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = undefined;
  }
}

function assertClean(text: string) {
  // A NaN the user typed may be quoted back ("NaN"); a computed one never appears.
  assert.doesNotMatch(text, /(?<!")NaN(?!")/, 'no NaN in output');
  assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

test('fit cli - the README command prints the coefficients both ways, N_max, the ROI table and the warnings', async () => {
  const r = await runCli(['fit', 'examples/counter-shard.csv']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /α \(σ\)\s+contention\s+0\.0399/);
  for (const s of [
    'α (σ)',
    'β (κ)',
    'γ (λ)',
    'N_max',
    'node ROI',
    'past N_max',
    'SHOCK_FIT_W_NO_INTERVAL',
    'SHOCK_FIT_W_RETROGRADE_UNCONFIRMED',
    'what to do',
  ]) {
    assert.ok(r.stdout.includes(s), `stdout mentions ${s}`);
  }
  assertClean(r.stdout + r.stderr);
});

test('fit cli - a full campaign: intervals, ceiling, report file; --json is parseable and has no NaN', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const report = join(dir, 'r.html');
    const r = await runCli([
      'fit',
      'examples/counter-shard-campaign.csv',
      '--json',
      '--bootstrap',
      '300',
      '--seed',
      '5',
      '--report',
      report,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assertClean(r.stdout);
    const out = JSON.parse(r.stdout);
    assert.equal(out.command, 'fit');
    assert.equal(out.method, 'nls');
    assert.ok(out.alpha > 0 && out.beta > 0);
    assert.ok(out.nMax > 8 && out.nMax < 12);
    assert.equal(out.bootstrap.resamples, 300);
    assert.equal(out.bootstrap.seed, 5);
    assert.equal(out.ceiling.nodes, Math.floor(out.bootstrap.nMax.lower) - 2);
    assert.equal(typeof out.warnings, 'object');
    const again = await runInProcess([
      'fit',
      'examples/counter-shard-campaign.csv',
      '--json',
      '--bootstrap',
      '300',
      '--seed',
      '5',
    ]);
    assert.deepEqual(JSON.parse(again.stdout).bootstrap.nMax, out.bootstrap.nMax, 'same seed, same interval');
  } finally {
    cleanup();
  }
});

test('fit cli - an unbounded N_max is null in JSON, with the bound warning', async () => {
  const r = await runInProcess(['fit', 'examples/raytracer.csv', '--json', '--bootstrap', '0']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.nMax, null);
  assert.equal(out.nMaxUnbounded, true);
  assert.equal(out.beta, 0);
  assert.ok(out.warnings.some((w: { code: string }) => w.code === 'SHOCK_FIT_W_BOUND_ACTIVE'));
});

test('fit cli - methods, JSON input and standard input', async () => {
  const closed = await runInProcess([
    'fit',
    'examples/specsdm91.csv',
    '--method',
    'closed',
    '--json',
    '--bootstrap',
    '0',
  ]);
  assert.equal(closed.code, 0, closed.stderr);
  assert.equal(Number(JSON.parse(closed.stdout).alpha.toPrecision(4)), 0.01705);
  const quantile = await runCli(['fit', '-', '--method', 'quantile', '--tau', '0.5', '--bootstrap', '0'], {
    input: JSON.stringify([
      { n: 1, x: 1 },
      { n: 2, x: 1.8868 },
      { n: 4, x: 3.0769 },
      { n: 6, x: 3.5294 },
      { n: 8, x: 3.5398 },
      { n: 10, x: 3.3557 },
    ]),
  });
  assert.equal(quantile.code, 0, quantile.stderr);
  assert.match(quantile.stdout, /quantile regression at τ = 0.5/);
});

test('fit cli - bad input: one message, a stable code, a non-zero exit', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = (name: string, content: string) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    };
    const cases: [string[], number, string, RegExp][] = [
      [['fit', join(dir, 'missing.csv')], 66, 'SHOCK_CLI_INPUT_UNREADABLE', /no such file/],
      [['fit', dir], 66, 'SHOCK_CLI_INPUT_UNREADABLE', /directory/],
      [['fit', file('empty.csv', '')], 65, 'SHOCK_FIT_INPUT_INVALID', /empty/],
      [
        ['fit', file('text.csv', 'N,X\n1,100\n2,abc\n4,300\n')],
        65,
        'SHOCK_FIT_INPUT_INVALID',
        /line 3: X is not a number: "abc"/,
      ],
      [['fit', file('zero.csv', 'N,X\n0,100\n2,150\n4,300\n')], 65, 'SHOCK_FIT_INPUT_INVALID', /N must be >= 1/],
      [['fit', file('one.csv', 'N,X\n4,100\n4,110\n')], 65, 'SHOCK_FIT_TOO_FEW_POINTS', /two distinct N/],
      [['fit', file('flat.csv', 'N,X\n1,100\n2,100\n4,100\n')], 65, 'SHOCK_FIT_FLAT_THROUGHPUT', /no scaling curve/],
      [
        ['fit', file('nan.csv', 'N,X\n1,NaN\n2,150\n4,300\n')],
        65,
        'SHOCK_FIT_INPUT_INVALID',
        /line 2: X is not a number/,
      ],
      [['fit', file('inf.csv', 'N,X\n1,100\n2,Infinity\n4,300\n')], 65, 'SHOCK_FIT_INPUT_INVALID', /finite/],
      [['fit', file('bad.json', '[{"n": 1, "x": 1}, {"n": "two"}]')], 65, 'SHOCK_FIT_INPUT_INVALID', /item 2/],
      [
        ['fit', file('super.csv', 'N,X\n1,100\n2,246\n4,606\n8,1493\n16,3676\n32,9051\n')],
        65,
        'SHOCK_FIT_NON_PHYSICAL',
        /negative/,
      ],
      [['fit', 'examples/counter-shard.csv', '--method', 'magic'], 64, 'SHOCK_CLI_USAGE', /--method must be one of/],
      [['fit', 'examples/counter-shard.csv', '--bootstrap', '-3'], 64, 'SHOCK_CLI_USAGE', /--bootstrap must be >= 0/],
    ];
    for (const [args, exitCode, code, message] of cases) {
      const r = await runInProcess(args);
      assert.equal(r.code, exitCode, `${args.join(' ')}: exit ${r.code}, stderr ${r.stderr}`);
      assert.ok(r.stderr.includes(`[${code}]`), `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
      assertClean(r.stderr);
    }
    // The real process too: the exit code reaches the shell and JSON errors go to stderr.
    const json = await runCli(['fit', file('flat2.csv', 'N,X\n1,5\n2,5\n'), '--json']);
    assert.equal(json.code, 65);
    assert.equal(JSON.parse(json.stderr).error.code, 'SHOCK_FIT_FLAT_THROUGHPUT');
    const missing = await runCli(['fit', join(dir, 'nope.csv')]);
    assert.equal(missing.code, 66);
    assertClean(missing.stderr);
  } finally {
    cleanup();
  }
});

test('fanout cli - required percentiles, a tree, JSON and usage errors', async () => {
  const r = await runInProcess(['fanout']);
  assert.equal(r.code, 0, r.stderr);
  for (const s of ['P99.9', 'P99.99', 'P99.999']) assert.ok(r.stdout.includes(s), s);
  const j = await runInProcess(['fanout', '--width', '10', '--depth', '2', '--correlated', '0.001', '--json']);
  assert.equal(j.code, 0, j.stderr);
  const out = JSON.parse(j.stdout);
  assert.equal(out.rows[0].fanout, 100);
  assert.ok(Math.abs(out.rows[0].requiredPercentile - 0.9999) < 1e-6);
  assert.equal(out.correlatedFloor, 0.999);
  const { dir, cleanup } = tempDir();
  try {
    const samples = join(dir, 's.txt');
    writeFileSync(
      samples,
      Array.from({ length: 2000 }, (_, i) => String(1 + (i % 100) / 10 + (i % 97 === 0 ? 80 : 0))).join('\n'),
    );
    const h = await runInProcess([
      'fanout',
      '--samples',
      samples,
      '--fanout',
      '1,10',
      '--sla',
      '50',
      '--hedge',
      '0.9',
      '--trials',
      '2000',
    ]);
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /hedged requests/);
    assertClean(h.stdout);
  } finally {
    cleanup();
  }
  const bad = await runInProcess(['fanout', '--width', '10']);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /SHOCK_CLI_USAGE/);
});

test('plan cli - partitions, cell, shadow, shards, roi, queue; --json; --help everywhere', async () => {
  const p = await runInProcess(['plan', 'partitions', '--target', '1200000', '--consumer', '200000', '--json']);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(JSON.parse(p.stdout).deployed, 12);
  const c = await runInProcess([
    'plan',
    'cell',
    '--network-gbps',
    '10',
    '--event-bytes',
    '1000',
    '--db-writes',
    '100000',
    '--consumers',
    '6',
    '--consumer',
    '200000',
  ]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /bottleneck: database/);
  const s = await runInProcess([
    'plan',
    'shadow',
    '--gamma',
    '1',
    '--alpha',
    '0.02',
    '--beta',
    '0.001',
    '--alpha-hot',
    '0.3',
    '--hot-share',
    '0.8',
    '--json',
  ]);
  assert.equal(s.code, 0, s.stderr);
  assert.ok(Math.abs(JSON.parse(s.stdout).shadow - 4.1667) < 1e-3);
  const sh = await runInProcess([
    'plan',
    'shards',
    '--gamma',
    '1000',
    '--alpha',
    '0.04',
    '--beta',
    '0.01',
    '--shards',
    '5',
    '--cross',
    '0.05',
  ]);
  assert.equal(sh.code, 0, sh.stderr);
  assert.match(sh.stdout, /0\.0024/);
  const roi = await runInProcess([
    'plan',
    'roi',
    '--gamma',
    '1000',
    '--alpha',
    '0.02',
    '--beta',
    '0.003',
    '--nodes',
    '4,8,16,18,20,32',
  ]);
  assert.equal(roi.code, 0, roi.stderr);
  assert.match(roi.stdout, /6,962/);
  const q = await runInProcess(['plan', 'queue', '--arrival', '1000', '--service', '1000']);
  assert.equal(q.code, 64);
  assert.match(q.stderr, /SHOCK_PHYSICS_DOMAIN/);
  const missing = await runInProcess(['plan', 'shadow', '--gamma', '1']);
  assert.notEqual(missing.code, 0);
  for (const args of [
    ['fit', '--help'],
    ['fanout', '--help'],
    ['plan', '--help'],
    ['plan', 'cell', '--help'],
  ]) {
    const h = await runInProcess(args);
    assert.equal(h.code, 0, args.join(' '));
    assert.match(h.stdout, /Usage: shock/);
  }
});
