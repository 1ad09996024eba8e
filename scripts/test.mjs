#!/usr/bin/env node
// Runs every test file under test/ with Node's own test runner through tsx (TypeScript without a build step).
// Usage: npm test [-- PATTERN...]   (a pattern keeps only the files whose path contains it)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const patterns = process.argv.slice(2);
const files = walk('test')
  .filter((f) => patterns.length === 0 || patterns.some((p) => f.includes(p)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = process.env.SHOCK_TEST_CONCURRENCY ?? '2';
// Safety nets for CI: a test that hangs fails after 5 minutes, and a file whose tests are done exits even if a
// failed test left something running (tests still stop what they start in their own \`finally\`).
const args = [
  '--import',
  'tsx',
  '--test',
  `--test-concurrency=${concurrency}`,
  '--test-timeout=300000',
  '--test-force-exit',
  '--test-reporter=spec',
  ...files,
];
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
