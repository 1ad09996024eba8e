import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/cli.js';
import { runCrashCycles } from '../helpers/log-crash.js';

test(
  'file log - every acknowledged append survives SIGKILL at random moments (22 kills)',
  { timeout: 120_000 },
  async () => {
    const { dir, cleanup } = tempDir('shock-logcrash-');
    try {
      const cycles = await runCrashCycles({ dir, cycles: 22, seed: 20_261_123, killAfterMsMax: 400 });
      assert.equal(cycles.length, 22);
      const acked = cycles.reduce((s, c) => s + c.acked, 0);
      assert.ok(acked > 0, 'the children acknowledged appends before being killed');
      const last = cycles[cycles.length - 1].offsetEnds;
      assert.ok(last[0] + last[1] > 0);
    } finally {
      cleanup();
    }
  },
);
