import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorRegistry, ShockError, shockError } from '../../../src/base/index.js';

test('errors - every code follows SHOCK_<AREA>_<WHAT> and has a sane spec', () => {
  for (const [code, spec] of Object.entries(errorRegistry)) {
    assert.match(code, /^SHOCK_[A-Z0-9]+(_[A-Z0-9]+)*$/);
    assert.ok(spec.message.length > 0, code);
    assert.ok(spec.httpStatus >= 400 && spec.httpStatus < 600, code);
    assert.ok(Number.isInteger(spec.exitCode) && spec.exitCode > 0, code);
  }
});

test('errors - ShockError carries code, status, retriable, details and cause', () => {
  const cause = new Error('disk on fire');
  const err = shockError('SHOCK_LOG_IO', 'append failed', { file: 'x' }, cause);
  assert.ok(err instanceof ShockError);
  assert.equal(err.code, 'SHOCK_LOG_IO');
  assert.equal(err.httpStatus, 503);
  assert.equal(err.retriable, true);
  assert.deepEqual(err.details, { file: 'x' });
  assert.equal(err.cause, cause);
  assert.deepEqual(JSON.parse(JSON.stringify(err)), {
    code: 'SHOCK_LOG_IO',
    message: 'append failed',
    details: { file: 'x' },
  });
});
