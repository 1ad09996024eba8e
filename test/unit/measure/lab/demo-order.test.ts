/**
 * The demonstration's three designs, measured in-process (the real consumer pools and their real timers, no HTTP so
 * it runs in ~25 s) and fitted by the lab: shared-nothing scales near-linearly, the shared lock sets a ceiling with
 * α clearly above 0, and all-to-all coordination gives β > 0 with throughput measured falling past the peak.
 * Assertions are on ratios with wide margins, not on timings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsumerPool } from '../../../../src/measure/lab/demo/consumer-pool.js';
import { createDesign, type DemoDesign, type DemoTiming } from '../../../../src/measure/lab/demo/designs.js';
import { fitWindows, pointsFromWindows } from '../../../../src/measure/lab/fit.js';
import type { WindowRecord } from '../../../../src/measure/lab/windows.js';

const plan = [1, 2, 4, 8, 16, 32];
const timing: DemoTiming = { writeMs: 20, commitMs: 4, entryMs: 0.25 };
const windowMs = 500;

async function measure(design: DemoDesign): Promise<WindowRecord[]> {
  const windows: WindowRecord[] = [];
  for (const n of plan) {
    const pool = new ConsumerPool(createDesign(design, n, timing, n));
    let running = true;
    let done = 0;
    const loop = async () => {
      while (running) {
        await pool.submit().catch(() => {});
        done++;
      }
    };
    const loops = Array.from({ length: 2 * n + 2 }, loop);
    await new Promise((r) => setTimeout(r, 200));
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = done;
      const startMs = performance.now();
      await new Promise((r) => setTimeout(r, windowMs));
      const durationMs = performance.now() - startMs;
      const completed = done - before;
      windows.push({
        kind: 'window',
        n,
        concurrency: 2 * n + 2,
        attempt,
        startedAt: new Date().toISOString(),
        durationMs,
        completed,
        errors: 0,
        aboveStall: 0,
        throughputPerSec: (1000 * completed) / durationMs,
        ratioP99P50: 1,
        stallBoundaryMs: null,
        stealPct: null,
        kept: true,
        reason: null,
        firstError: null,
        histogram: '',
      });
    }
    running = false;
    pool.stop();
    await Promise.allSettled(loops);
  }
  return windows;
}

function at(windows: WindowRecord[], n: number): number {
  return pointsFromWindows(windows).find((p) => p.n === n)!.throughputPerSec;
}

test(
  'lab demo - the three designs come out ordered: linear, Amdahl ceiling, retrograde',
  { timeout: 90_000 },
  async () => {
    const nothing = await measure('shared-nothing');
    const lock = await measure('shared-lock');
    const coordinated = await measure('coordinated');

    // Shared-nothing: 32 consumers do far more than 20× one consumer's work.
    assert.ok(
      at(nothing, 32) > 20 * at(nothing, 1),
      `shared-nothing X(32) ${at(nothing, 32)} vs X(1) ${at(nothing, 1)}`,
    );
    const fitNothing = fitWindows(nothing)!.fit;
    assert.ok(
      fitNothing.alpha.value < 0.03 && fitNothing.beta.value < 0.001,
      JSON.stringify([fitNothing.alpha, fitNothing.beta]),
    );

    // Shared lock: a ceiling near 1/commit (250/s), well under the shared-nothing throughput, flat from 16 to 32.
    assert.ok(at(lock, 32) < 0.5 * at(nothing, 32));
    assert.ok(at(lock, 32) > 0.7 * at(lock, 16), 'a plateau, not a collapse');
    const fitLock = fitWindows(lock)!.fit;
    assert.ok(fitLock.alpha.value > 0.05, `α = ${fitLock.alpha.value}`);
    assert.ok(fitLock.alpha.low !== null && fitLock.alpha.low > 0, 'α clearly above 0');

    // Coordination: β > 0 and throughput measured falling past the peak.
    const fitCoordinated = fitWindows(coordinated)!.fit;
    assert.ok(fitCoordinated.beta.value > 0.003, `β = ${fitCoordinated.beta.value}`);
    assert.ok(fitCoordinated.beta.value > 3 * fitLock.beta.value);
    const peak = Math.max(...plan.map((n) => at(coordinated, n)));
    assert.ok(at(coordinated, 32) < 0.7 * peak, `X(32) ${at(coordinated, 32)} vs peak ${peak}`);
    assert.equal(fitCoordinated.retrograde.measured, true, fitCoordinated.retrograde.note);
  },
);
