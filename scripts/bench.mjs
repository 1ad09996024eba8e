#!/usr/bin/env node
// Runs the benchmarks in bench/ one after another (never part of `npm test`).
// Usage: npm run bench [-- NAME...]   (a name keeps only the files whose name contains it, e.g. `npm run bench -- log`)
// Each benchmark measures its anchor in the same run and prints the ratio; copy the figures into BENCHMARKS.md.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const helpers = new Set(['cell-serve-process.ts', 'ingress-wrk.ts']);
const names = process.argv.slice(2);
const files = readdirSync('bench')
  .filter((f) => f.endsWith('.ts') && !helpers.has(f))
  .filter((f) => names.length === 0 || names.some((n) => f.includes(n)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matched ${names.join(', ')}; available: ${readdirSync('bench').join(', ')}`);
  process.exit(64);
}
let failed = 0;
for (const file of files) {
  console.log(`\n=== bench/${file} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `bench/${file}`], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
