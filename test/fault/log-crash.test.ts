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

test(
  'file log - every acknowledged append survives SIGKILL plus a simulated power loss of every unsynced segment tail (journal replay, 16 kills)',
  { timeout: 120_000 },
  async () => {
    const { dir, cleanup } = tempDir('shock-logpower-');
    try {
      const cycles = await runCrashCycles({ dir, cycles: 16, seed: 20_261_124, killAfterMsMax: 400, powerLoss: true });
      assert.equal(cycles.length, 16);
      assert.ok(cycles.reduce((s, c) => s + c.acked, 0) > 0, 'the children acknowledged appends before being killed');
      // Not vacuous: the fake power loss took acknowledged bytes from segments, and recovery wrote them back.
      assert.ok(
        cycles.some((c) => c.segmentsCut > 0 && c.replayed),
        `some cycle cut segments and replayed the journal: ${JSON.stringify(cycles.map((c) => [c.segmentsCut, c.replayed]))}`,
      );
    } finally {
      cleanup();
    }
  },
);
