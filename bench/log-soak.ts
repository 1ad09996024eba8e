/**
 * Crash soak of the file log: the crash test with many more kills. A child appends under load from 16 concurrent
 * appenders and prints every offset acknowledged as durable; it is SIGKILLed at a random moment (one kill in four
 * during start-up and recovery); the log is reopened and every acknowledged record must be present and unchanged.
 * Repeats on the same directory, so recovery runs on top of earlier recoveries and across segment rolls.
 *
 * With --power-loss each kill is followed by a simulated power loss (a fake: every byte the shared journal still holds
 * is cut from the partitions' active segments, see test/helpers/log-crash.ts), so recovery must replay the journal.
 *
 * Run: node --import tsx bench/log-soak.ts [--kills N] [--seed S] [--dir DIR] [--power-loss]   (default 60 kills)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCrashCycles } from '../test/helpers/log-crash.js';

const args = process.argv.slice(2);
const argOf = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const kills = Number(argOf('--kills', '60'));
const seed = Number(argOf('--seed', String(Date.now() % 2 ** 31)));
const dir = mkdtempSync(join(argOf('--dir', tmpdir()), 'shock-soak-'));
const t0 = performance.now();
let acked = 0;
let truncations = 0;
let replays = 0;
const powerLoss = args.includes('--power-loss');
try {
  const cycles = await runCrashCycles({
    dir,
    cycles: kills,
    seed,
    killAfterMsMax: 400,
    powerLoss,
    onCycle: (c) => {
      acked += c.acked;
      if (c.truncated) truncations++;
      if (c.replayed) replays++;
      if ((c.run + 1) % 10 === 0)
        process.stderr.write(`${c.run + 1}/${kills} kills, ${acked} acknowledged appends verified\n`);
    },
  });
  const last = cycles[cycles.length - 1].offsetEnds;
  const s = (performance.now() - t0) / 1000;
  console.log(
    `soak: ${kills} SIGKILLs${powerLoss ? ' + simulated power losses' : ''} (seed ${seed}) in ${s.toFixed(1)} s: ` +
      `every one of ${acked} acknowledged appends present and valid; ${truncations} recoveries truncated a torn tail, ` +
      `${replays} replayed the journal; final offsets ${last.join(', ')}`,
  );
  console.log(
    JSON.stringify({
      date: new Date().toISOString(),
      node: process.version,
      kills,
      powerLoss,
      seed,
      acked,
      replays,
      truncations,
      seconds: s,
      offsetEnds: last,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
