import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseProcStat, probeSteal, stealFraction } from '../../../../src/measure/probe/index.js';
import { tempDir } from '../../../helpers/cli.js';

const stat = (steal: number, idle: number) =>
  `cpu  1000 10 500 ${idle} 20 0 5 ${steal} 300 0\ncpu0 500 5 250 ${idle / 2} 10 0 3 ${steal / 2} 150 0\nintr 12345\n`;

test('steal - the aggregate cpu line parses; guest time is not counted twice', () => {
  const t = parseProcStat(stat(40, 8000));
  assert.ok(t);
  assert.equal(t.steal, 40);
  assert.equal(t.total, 1000 + 10 + 500 + 8000 + 20 + 0 + 5 + 40);
  assert.equal(parseProcStat('intr 1\n'), null);
  assert.equal(parseProcStat('cpu  1 2 x 4\n'), null);
});

test('steal - the fraction is Δsteal / Δtotal between two readings', () => {
  const a = parseProcStat(stat(100, 8000));
  const b = parseProcStat(stat(130, 8070));
  assert.ok(a && b);
  assert.equal(stealFraction(a, b), 30 / 100);
  assert.equal(stealFraction(a, a), 0);
});

test('steal - the probe reads the file at the start and end of the interval and applies the 2% gate', async () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'stat');
    writeFileSync(file, stat(100, 8000));
    setTimeout(() => writeFileSync(file, stat(101, 8099)), 50);
    const quiet = await probeSteal({ intervalMs: 300, statPath: file });
    assert.equal(quiet.stealFraction, 0.01);
    assert.equal(quiet.passed, true);
    writeFileSync(file, stat(100, 8000));
    setTimeout(() => writeFileSync(file, stat(105, 8095)), 50);
    const noisy = await probeSteal({ intervalMs: 300, statPath: file });
    assert.equal(noisy.stealFraction, 0.05);
    assert.equal(noisy.passed, false);
    await assert.rejects(probeSteal({ intervalMs: 10, statPath: join(tmp.dir, 'missing') }), {
      code: 'SHOCK_PROBE_FAILED',
    });
  } finally {
    tmp.cleanup();
  }
});
