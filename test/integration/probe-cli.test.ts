/** `shock probe` end to end: storage on a temporary directory, network to a loopback echo server, the steal gate. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/cli.js';

test(
  'probe - storage measures the single-writer fsync ceiling and the multi-writer IOPS, and cleans up',
  { timeout: 60_000 },
  async () => {
    const tmp = tempDir();
    try {
      const r = await runCli(['probe', 'storage', tmp.dir, '-d', '300ms', '--writers', '2', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.schema, 'shock.probe.storage/1');
      assert.ok(out.single.ops > 0 && out.single.opsPerSec > 0);
      assert.equal(out.single.writers, 1);
      assert.equal(out.multi.writers, 2);
      assert.ok(out.single.latencyMs.p99 >= out.single.latencyMs.p50);
      assert.equal(out.single.latencyMs.count, out.single.ops, 'one sample per flush');
      assert.deepEqual(readdirSync(tmp.dir), [], 'the probe leaves nothing behind');
      const text = await runCli(['probe', 'storage', tmp.dir, '-d', '200ms', '--writers', '1']);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /single writer: \d+ ops\/s/);
      const missing = await runCli(['probe', 'storage', join(tmp.dir, 'nope'), '--json']);
      assert.equal(missing.code, 74);
      assert.match(missing.stderr, /SHOCK_PROBE_FAILED/);
    } finally {
      tmp.cleanup();
    }
  },
);

test(
  'probe - network reports RTT percentiles to a loopback echo server; bad targets fail clearly',
  { timeout: 60_000 },
  async () => {
    const server = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const [echo, bad] = await Promise.all([
        runCli(['probe', 'network', `127.0.0.1:${port}`, '--mode', 'echo', '-n', '20', '--json']),
        runCli(['probe', 'network', 'localhost', '--json']),
      ]);
      assert.equal(echo.code, 0, echo.stderr);
      const out = JSON.parse(echo.stdout);
      assert.equal(out.mode, 'echo');
      assert.equal(out.samples, 20);
      assert.ok(out.rttMs.p99 >= out.rttMs.p50 && out.rttMs.p50 > 0);
      assert.equal(bad.code, 64);
      assert.match(bad.stderr, /SHOCK_CLI_USAGE/);
    } finally {
      server.close();
    }
  },
);

test('probe - steal applies the 2% gate: exit 0 below it, exit 1 above it', { timeout: 60_000 }, async () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'stat');
    const stat = (steal: number, idle: number) => `cpu  1000 0 500 ${idle} 0 0 0 ${steal} 0 0\n`;
    // A host whose counters advance 5 steal jiffies in every 100: any two readings apart show 5% steal,
    // whenever the CLI happens to take them.
    let tick = 0;
    writeFileSync(file, stat(0, 1000));
    const advance = setInterval(() => {
      tick++;
      writeFileSync(`${file}.next`, stat(5 * tick, 1000 + 95 * tick));
      renameSync(`${file}.next`, file); // atomic: a reader never sees a half-written file
    }, 20);
    const noisy = await runCli(['probe', 'steal', '-i', '500ms', '--proc-stat', file, '--json']).finally(() =>
      clearInterval(advance),
    );
    assert.equal(noisy.code, 1, noisy.stderr);
    assert.match(noisy.stderr, /SHOCK_PROBE_GATE_FAILED/);
    const noisyOut = JSON.parse(noisy.stdout);
    assert.ok(Math.abs(noisyOut.stealFraction - 0.05) < 1e-9, String(noisyOut.stealFraction));
    assert.equal(noisyOut.passed, false);
    const real = await runCli(['probe', 'steal', '-i', '200ms', '--max-steal', '1', '--json']);
    assert.equal(real.code, 0, real.stderr);
    const out = JSON.parse(real.stdout);
    assert.ok(out.stealFraction >= 0 && out.stealFraction <= 1);
    assert.equal(out.passed, true);
  } finally {
    tmp.cleanup();
  }
});
