/** docs/errors.md and the registry must agree (fastify `test/internals/errors.test.js`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorRegistry } from '../../../src/base/index.js';
import { repoRoot } from '../../helpers/cli.js';

test('errors - docs/errors.md documents every code with its HTTP status, retriable flag and exit code', () => {
  const text = readFileSync(join(repoRoot, 'docs/errors.md'), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^\| `(SHOCK_[A-Z0-9_]+)` \|(.*)\|$/.exec(line);
    if (m)
      rows.set(
        m[1],
        m[2].split('|').map((cell) => cell.trim()),
      );
  }
  assert.deepEqual([...rows.keys()].sort(), Object.keys(errorRegistry).sort(), 'the same codes in docs and registry');
  for (const [code, spec] of Object.entries(errorRegistry)) {
    const [http, retriable, exit, meaning, whatToDo] = rows.get(code)!;
    assert.equal(Number(http), spec.httpStatus, `${code} HTTP status`);
    assert.equal(retriable, spec.retriable ? 'yes' : 'no', `${code} retriable`);
    assert.equal(Number(exit), spec.exitCode, `${code} exit code`);
    assert.ok(meaning.length > 0 && whatToDo.length > 0, `${code} has a meaning and what to do`);
  }
});
