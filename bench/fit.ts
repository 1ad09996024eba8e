/**
 * Fit benchmark: `fitUsl` on 10 measured points with 1,000 bootstrap resamples (the target: well under a
 * second), for each method, beside its anchor in the same run — 1,000 bare point estimates of the same method on the
 * same data — so the ratio shows what the bootstrap harness and the honesty checks cost on top of the fits.
 *
 * Run: node --import tsx bench/fit.ts        (about 20 seconds; prints a table)
 *      SHOCK_BENCH_REPEATS=9 to change the repeats per figure (default 5; the median is printed).
 */
import { fitCore, fitUsl, uslThroughput, type FitMethod, type Measurement } from '../src/physics/index.js';
import { mulberry32 } from '../src/base/index.js';

const repeats = Number(process.env.SHOCK_BENCH_REPEATS ?? 5);

function data(): Measurement[] {
  const rng = mulberry32(11);
  const law = { gamma: 1000, alpha: 0.04, beta: 0.01 };
  return [1, 2, 3, 4, 6, 8, 10, 12, 16, 20].map((n) => ({
    n,
    x: uslThroughput(law, n) * (1 + 0.04 * (rng.next() - 0.5)),
  }));
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(run: () => void): number {
  const samples: number[] = [];
  run(); // warm-up
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    run();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

const rows = data();
const input = { rows, weights: rows.map(() => 1) };
console.log(
  `fit benchmark: 10 points, 1,000 bootstrap resamples, median of ${repeats} (node ${process.version}, ${process.arch})`,
);
console.log('method     fit + 1,000 bootstrap   1,000 bare fits (anchor)   ratio');
for (const method of ['closed', 'nls', 'quantile'] as FitMethod[]) {
  const full = time(() => fitUsl(rows, { method, bootstrap: 1000, seed: 1 }));
  const anchor = time(() => {
    for (let i = 0; i < 1000; i++) fitCore(method, input, { tau: 0.1 });
  });
  console.log(
    `${method.padEnd(9)}  ${full.toFixed(0).padStart(10)} ms ${anchor.toFixed(0).padStart(22)} ms ${(full / anchor).toFixed(2).padStart(12)}`,
  );
}
