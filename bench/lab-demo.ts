/**
 * Lab demonstration benchmark: `shock lab --demo` end to end — the three consumer designs (shared-nothing, one
 * shared lock, all-to-all coordination) run as real server processes per N, measured by the recipe over real HTTP,
 * and fitted. The anchor is the shared-nothing design in the same run: each design's measured throughput at the
 * largest N is printed as a ratio of the shared-nothing throughput there, beside the fitted γ, α, β (90% intervals),
 * N_max and whether the retrograde was confirmed.
 *
 * Run: node --import tsx bench/lab-demo.ts [OUT_DIR]     (about 3 minutes on 2 cores; OUT_DIR default /tmp/shock-lab-demo)
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoDefaults, demoDesigns, demoTimingDefault, runDemo } from '../src/measure/lab/index.js';
import type { Estimate } from '../src/measure/report/certificate.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const outDir = resolve(process.argv[2] ?? '/tmp/shock-lab-demo');

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : a === 0 ? '0' : v.toPrecision(3);
}

function est(e: Estimate | null): string {
  if (!e) return '∞';
  return e.low === null || e.high === null ? fmt(e.value) : `${fmt(e.value)} [${fmt(e.low)}, ${fmt(e.high)}]`;
}

const startMs = performance.now();
const result = await runDemo({
  outDir,
  selfCommand: [process.execPath, '--import', 'tsx', join(root, 'src/cli/main.ts')],
  plan: [...demoDefaults.plan],
  windows: demoDefaults.windows,
  windowMs: demoDefaults.windowMs,
  warmupMs: demoDefaults.warmupMs,
  latencyMs: demoDefaults.latencyMs,
  timing: demoTimingDefault,
  designs: [...demoDesigns],
  seed: 1,
  onProgress: (design, p) => {
    if (p.phase === 'capacity' && /window 1\//.test(p.message)) process.stderr.write(`${design}: ${p.message}\n`);
  },
});
const elapsedS = (performance.now() - startMs) / 1000;
const nTop = Math.max(...demoDefaults.plan);
const anchor = result.designs.find((d) => d.design === 'shared-nothing')?.certificate.points.find((p) => p.n === nTop);
console.log(
  `demo: ${fmt(elapsedS)} s, timing ${JSON.stringify(demoTimingDefault)}, report ${join(outDir, 'report.html')}`,
);
console.log(
  '| design | X(1) /s | peak X /s (at N) | X(32) /s | X(32) ÷ shared-nothing | γ [90%] | α [90%] | β [90%] | N_max [90%] | retrograde |',
);
console.log('| --- | ---: | ---: | ---: | ---: | --- | --- | --- | --- | --- |');
for (const d of result.designs) {
  const c = d.certificate;
  const f = c.fit;
  const first = c.points.find((p) => p.n === 1);
  const peak = c.points.reduce((a, b) => (b.throughputPerSec > a.throughputPerSec ? b : a), c.points[0]);
  const last = c.points.find((p) => p.n === nTop);
  const ratio = last && anchor ? last.throughputPerSec / anchor.throughputPerSec : null;
  console.log(
    `| ${d.design} | ${fmt(first?.throughputPerSec)} | ${fmt(peak?.throughputPerSec)} (${peak?.n}) | ${fmt(last?.throughputPerSec)} | ${fmt(ratio)} | ${f ? est(f.gamma) : '—'} | ${f ? est(f.alpha) : '—'} | ${f ? est(f.beta) : '—'} | ${f ? est(f.nMax) : '—'} | ${f ? (f.retrograde.confirmed ? 'confirmed' : f.retrograde.measured ? 'measured' : 'no') : '—'} |`,
  );
}
if (result.error) console.log(`ended with ${result.error.code}: ${result.error.message}`);
