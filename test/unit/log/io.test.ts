import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateIoError } from '../../../src/log/file/io.js';
import { shockError } from '../../../src/base/index.js';

/** Errors shaped like Node's fs errors: a double for EIO and EACCES, which this machine cannot produce on demand. */
function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code, errno: -5, syscall: 'fdatasync' });
}

test('file log io - every errno becomes SHOCK_LOG_IO with the original as cause and a hint', () => {
  for (const code of ['EIO', 'ENOSPC', 'EROFS', 'EACCES', 'EDQUOT', 'EBADF']) {
    const original = errnoError(code);
    const err = translateIoError(original, 'fdatasync', '/data/log/partitions/0/00000000000000000000.log') as {
      code: string;
      message: string;
      cause: unknown;
      retriable: boolean;
      details: { errno: string; op: string; path: string; hint: string };
    };
    assert.equal(err.code, 'SHOCK_LOG_IO');
    assert.equal(err.cause, original);
    assert.equal(err.retriable, true);
    assert.equal(err.details.errno, code);
    assert.equal(err.details.op, 'fdatasync');
    assert.match(err.message, new RegExp(`fdatasync failed on .*\\.log: ${code}`));
    assert.ok(err.details.hint.length > 10);
  }
});

test('file log io - ShockErrors and non-OS errors pass through unchanged', () => {
  const shock = shockError('SHOCK_LOG_CORRUPT_RECORD', 'x');
  assert.equal(translateIoError(shock, 'read', '/x'), shock);
  const bug = new TypeError('not an OS error');
  assert.equal(translateIoError(bug, 'read', '/x'), bug);
});
