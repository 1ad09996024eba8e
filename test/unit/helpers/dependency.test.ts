/**
 * The rule for tests that need something outside Node (test/helpers/dependency.ts): a missing dependency skips
 * locally and fails the run under CI=true — checked on a real test file run by Node's test runner, with a binary
 * that does not exist. Also where PostgreSQL's binaries are looked for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, tempDir } from '../../helpers/cli.js';
import { DependencyMissingError, findBinary, skipUnlessAvailable } from '../../helpers/dependency.js';
import { findPostgresBinDir } from '../../helpers/postgres.js';

const missingBinary = 'shock-test-no-such-binary';

/** Runs a test file that needs `missingBinary` through `node --test`, with or without CI=true. */
function runNeedingMissingBinary(ci: boolean): { status: number | null; output: string } {
  const t = tempDir('shock-dependency-');
  try {
    const helper = pathToFileURL(join(repoRoot, 'test/helpers/dependency.ts')).href;
    const file = join(t.dir, 'needs-binary.test.ts');
    writeFileSync(
      file,
      `import { test } from 'node:test';
import { findBinary, skipUnlessAvailable } from '${helper}';
const skip = skipUnlessAvailable(findBinary('${missingBinary}') ? undefined : '${missingBinary} is not installed');
test('needs ${missingBinary}', { skip }, () => {});
`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.CI;
    delete env.NODE_TEST_CONTEXT; // a fresh test run, not a child of this one
    if (ci) env.CI = 'true';
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], {
      cwd: repoRoot,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: run.status, output: run.stdout + run.stderr };
  } finally {
    t.cleanup();
  }
}

test('dependency - under CI=true a missing binary fails the test run, naming it', () => {
  assert.equal(findBinary(missingBinary), undefined);
  const run = runNeedingMissingBinary(true);
  assert.equal(run.status, 1, run.output);
  assert.match(run.output, new RegExp(`${missingBinary} is not installed — CI=true`));
  assert.match(run.output, /# fail 1/);
});

test('dependency - without CI a missing binary skips the test with its reason', () => {
  const run = runNeedingMissingBinary(false);
  assert.equal(run.status, 0, run.output);
  assert.match(run.output, new RegExp(`# SKIP ${missingBinary} is not installed`));
});

test('dependency - the skip option: false when present, the reason locally, a throw under CI', () => {
  assert.equal(skipUnlessAvailable(undefined, { CI: 'true' }), false);
  assert.equal(skipUnlessAvailable(undefined, {}), false);
  assert.equal(skipUnlessAvailable('x is missing', {}), 'x is missing');
  assert.equal(skipUnlessAvailable('x is missing', { CI: 'false' }), 'x is missing');
  assert.throws(() => skipUnlessAvailable('x is missing', { CI: 'true' }), DependencyMissingError);
  assert.ok(findBinary('sh'), 'sh is on PATH');
});

test('dependency - PostgreSQL binaries: SHOCK_POSTGRES_BIN wins, else a directory that holds initdb', () => {
  assert.equal(findPostgresBinDir({ SHOCK_POSTGRES_BIN: '/opt/pg/bin' }), '/opt/pg/bin');
  const found = findPostgresBinDir({});
  if (found !== undefined) assert.ok(existsSync(join(found, 'initdb')), found);
  else assert.notEqual(process.env.CI, 'true', 'CI installs PostgreSQL (.ci/run)');
});
