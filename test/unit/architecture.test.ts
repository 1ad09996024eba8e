/**
 * The layering of ARCHITECTURE.md, kept true by reading the import graph (the way fastify's tests keep its error
 * docs true): imports point one way, physics is pure, the data plane never imports the measurement lab, and only
 * the CLI knows argv, stdout and exit codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '../helpers/cli.js';

const src = join(repoRoot, 'src');

/** Which areas each area may import (itself always allowed). */
const allowed: Record<string, string[]> = {
  base: [],
  physics: ['base'],
  measure: ['base', 'physics'],
  log: ['base'],
  consume: ['base', 'log', 'physics'],
  ingress: ['base', 'log', 'physics'],
  cell: ['base', 'log', 'consume', 'ingress', 'physics'],
  cli: ['base', 'physics', 'measure', 'log', 'consume', 'ingress', 'cell'],
};

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

function areaOf(file: string): string {
  return relative(src, file).split('/')[0];
}

const importPattern = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

test('architecture - every import between areas follows the one-way layering', () => {
  const violations: string[] = [];
  const files = walk(src);
  assert.ok(files.length > 0);
  for (const file of files) {
    const from = areaOf(file);
    assert.ok(from in allowed, `unknown area ${from} (${relative(repoRoot, file)}): add it to the layering`);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(importPattern)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(src)) continue;
      const to = areaOf(target);
      if (to !== from && !allowed[from].includes(to)) {
        violations.push(`${relative(repoRoot, file)} imports ${spec} (${from} → ${to})`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('architecture - only the CLI touches process.exit and argv', () => {
  const offenders = walk(src)
    .filter((f) => areaOf(f) !== 'cli')
    .filter((f) => /process\.exit\(|process\.argv/.test(readFileSync(f, 'utf8')))
    .map((f) => relative(repoRoot, f));
  assert.deepEqual(offenders, []);
});
