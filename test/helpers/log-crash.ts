/**
 * The crash experiment shared by the fault test and the soak benchmark: start a child that appends under load,
 * SIGKILL it at a random moment, reopen the log and check that every append the child was told is durable is
 * present, valid and unchanged. Repeat on the same directory.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { mulberry32, randomInt } from '../../src/base/index.js';
import { openFileLog } from '../../src/log/index.js';
import { readJournalFiles } from '../../src/log/file/journal.js';
import { parseSegmentName, segmentName } from '../../src/log/file/segment.js';
import { repoRoot } from './cli.js';
import { readAll } from './log-records.js';

/**
 * Small segments so that crashes also land around segment rolls; a small journal so that they land around its
 * checkpoints too. Every sync round goes through the journal (no round is large enough to sync its own segment),
 * which is what lets `dropUnsyncedSegmentTails` know exactly which segment bytes a power loss could take.
 */
export const CRASH_LOG_OPTIONS = {
  partitions: 2,
  segmentBytesMax: 32 * 1024,
  groupCommitWindowMs: 0,
  journalBytesMax: 16 * 1024,
  journalWriteBytesMax: 2 ** 30,
} as const;

/**
 * FAKE power loss (a real one cannot be produced here): drops from each partition's active segment every byte the
 * journal still holds for it, the most a power loss could take — with every round journaled, what precedes a segment's first entry in
 * the journal files left was made durable by a checkpoint or a roll before the older files were removed. Half of the
 * cut tails are replaced by random bytes (blocks written back out of order). Returns the segments cut.
 */
export async function dropUnsyncedSegmentTails(dir: string, rng: { next(): number }): Promise<number> {
  // Only the active (newest) segment of a partition: a segment that rolled was fdatasynced at its roll.
  const active = new Map<number, number>();
  if (!existsSync(join(dir, 'partitions'))) return 0; // killed before the log was created
  for (const p of readdirSync(join(dir, 'partitions'))) {
    const bases = readdirSync(join(dir, 'partitions', p))
      .map(parseSegmentName)
      .filter((b): b is number => b !== undefined);
    if (bases.length > 0) active.set(Number(p), Math.max(...bases));
  }
  const first = new Map<string, number>();
  for (const f of await readJournalFiles(dir)) {
    for (const e of f.entries) {
      if (active.get(e.partition) !== e.segmentBase) continue;
      const path = join(dir, 'partitions', String(e.partition), segmentName(e.segmentBase));
      first.set(path, Math.min(first.get(path) ?? Infinity, e.position));
    }
  }
  let cut = 0;
  for (const [path, position] of first) {
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      continue; // removed by retention
    }
    if (position >= size) continue;
    truncateSync(path, position);
    cut++;
    if (rng.next() < 0.5) {
      const junk = Buffer.alloc(1 + randomInt(rng, size - position));
      for (let i = 0; i < junk.length; i++) junk[i] = randomInt(rng, 256);
      appendFileSync(path, junk);
    }
  }
  return cut;
}

/** The value of record `seq` of an appender in a run (variable length, so frames straddle pages). */
export function recordValue(run: number, appender: number, seq: number): string {
  return `r${run}-a${appender}-s${seq}-` + 'x'.repeat((seq * 37 + appender) % 300);
}

export interface CrashCycle {
  run: number;
  /** Appends acknowledged by the killed child. */
  acked: number;
  /** Records in the log after recovery, per partition. */
  offsetEnds: number[];
  /** Recovery truncated a torn tail in this cycle. */
  truncated: boolean;
  /** Segments cut by the fake power loss (`powerLoss`), and whether recovery replayed the journal. */
  segmentsCut: number;
  replayed: boolean;
}

const childEntry = new URL('./log-crash-child.ts', import.meta.url).pathname;

/**
 * Bundles the child into one plain JavaScript file (esbuild, which tsx itself runs on), so each restart costs a
 * bare Node start rather than a TypeScript loader start: more kills fit in the same time.
 */
function bundleChild(): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'shock-crash-child-'));
  const file = join(dir, 'child.mjs');
  buildSync({
    entryPoints: [childEntry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: file,
    logLevel: 'error',
    // Bundled CommonJS dependencies call require(): give the ES module one.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `cycles` kill-and-verify rounds on `dir`; throws on the first lost or altered acknowledged record. */
export async function runCrashCycles(opts: {
  dir: string;
  cycles: number;
  seed: number;
  killAfterMsMax: number;
  /** After each kill, also drop the segments' unsynced tails (`dropUnsyncedSegmentTails`) before reopening. */
  powerLoss?: boolean;
  onCycle?: (c: CrashCycle) => void;
}): Promise<CrashCycle[]> {
  const rng = mulberry32(opts.seed);
  const expected = new Map<string, string>();
  const out: CrashCycle[] = [];
  const child = bundleChild();
  try {
    for (let run = 0; run < opts.cycles; run++) out.push(await crashOnce(opts, child.file, run, rng, expected));
  } finally {
    child.cleanup();
  }
  return out;
}

async function crashOnce(
  opts: { dir: string; killAfterMsMax: number; powerLoss?: boolean; onCycle?: (c: CrashCycle) => void },
  childFile: string,
  run: number,
  rng: { next(): number },
  expected: Map<string, string>,
): Promise<CrashCycle> {
  {
    // One kill in four lands at a random moment after the start, maybe during recovery; the others under load.
    const duringStart = randomInt(rng, 4) === 0;
    const acked = await runChild(
      childFile,
      opts.dir,
      run,
      duringStart,
      1 + randomInt(rng, opts.killAfterMsMax),
      expected,
    );
    const segmentsCut = opts.powerLoss ? await dropUnsyncedSegmentTails(opts.dir, rng) : 0;
    let truncated = false;
    let replayed = false;
    const log = await openFileLog({
      dir: opts.dir,
      ...CRASH_LOG_OPTIONS,
      logger: (e) => {
        truncated ||= /truncated/.test(e.message);
        replayed ||= /from the journal/.test(e.message);
      },
    });
    try {
      const offsetEnds: number[] = [];
      for (let p = 0; p < CRASH_LOG_OPTIONS.partitions; p++) {
        const records = await readAll(log, p);
        offsetEnds.push(records.length);
        const byOffset = new Map(records.map((r) => [r.offset, r.value.toString()]));
        for (const [key, value] of expected) {
          const [kp, ko] = key.split(':').map(Number);
          if (kp !== p) continue;
          const got = byOffset.get(ko);
          if (got !== value)
            throw new Error(
              `run ${run}: acknowledged record ${key} is ${got === undefined ? 'missing' : `altered (${got.slice(0, 40)})`}`,
            );
        }
      }
      const cycle = { run, acked, offsetEnds, truncated, segmentsCut, replayed };
      opts.onCycle?.(cycle);
      return cycle;
    } finally {
      await log.close();
    }
  }
}

/** Starts the child, kills it `killAfterMs` after it is ready, records its acknowledgements. Returns their count. */
function runChild(
  file: string,
  dir: string,
  run: number,
  duringStart: boolean,
  killAfterMs: number,
  expected: Map<string, string>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, dir, String(run)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let acked = 0;
    let buffered = '';
    let stderr = '';
    let killTimer = duringStart ? setTimeout(() => child.kill('SIGKILL'), killAfterMs) : undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('READY') && !duringStart) killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        if (!line.startsWith('A ')) continue;
        const [, p, base, count, r, a, seq] = line.split(' ').map(Number);
        for (let i = 0; i < count; i++) expected.set(`${p}:${base + i}`, recordValue(r, a, seq + i));
        acked++;
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      clearTimeout(killTimer);
      if (signal !== 'SIGKILL')
        reject(new Error(`crash child ended by itself (code ${code}, signal ${signal}): ${stderr.slice(0, 2000)}`));
      else resolve(acked);
    });
  });
}
