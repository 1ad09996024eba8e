/** API keys: hashed in configuration, the tenant from the key only, 401 vs 403. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isShockError } from '../../../src/base/index.js';
import { Authenticator, checkTypeAllowed, sha256Hex } from '../../../src/ingress/auth.js';

const auth = new Authenticator([
  { id: 'a', keyHashes: [`sha256:${sha256Hex('ka')}`, sha256Hex('ka2')], ratePerSec: 1, burst: 1, types: ['t1'] },
  { id: 'b', keyHashes: [`sha256:${sha256Hex('kb').toUpperCase()}`], ratePerSec: 1, burst: 1, disabled: true },
]);

test('auth - sha256Hex matches the published SHA-256 test vector for "abc"', () => {
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('auth - a known key (Bearer or x-api-key) yields its tenant', () => {
  const p = auth.authenticate({ authorization: 'Bearer ka' });
  assert.ok(!isShockError(p));
  assert.equal(p.tenant, 'a');
  const q = auth.authenticate({ 'x-api-key': 'ka2' });
  assert.ok(!isShockError(q) && q.tenant === 'a');
});

test('auth - missing, malformed or unknown keys are 401; a disabled tenant is 403', () => {
  for (const headers of [
    {},
    { authorization: 'Basic a2E=' },
    { authorization: 'Bearer ' },
    { authorization: 'Bearer nope' },
  ]) {
    const r = auth.authenticate(headers);
    assert.ok(isShockError(r) && r.code === 'SHOCK_INGRESS_UNAUTHENTICATED', JSON.stringify(headers));
  }
  const disabled = auth.authenticate({ authorization: 'bearer kb' });
  assert.ok(isShockError(disabled) && disabled.code === 'SHOCK_INGRESS_FORBIDDEN');
});

test('auth - a type outside the allow-list is 403', () => {
  const p = auth.authenticate({ authorization: 'Bearer ka' });
  assert.ok(!isShockError(p));
  assert.equal(checkTypeAllowed(p, 't1'), null);
  assert.equal(checkTypeAllowed(p, 't2')?.code, 'SHOCK_INGRESS_FORBIDDEN');
});

test('auth - malformed hashes and keys shared between tenants are configuration errors', () => {
  assert.throws(() => new Authenticator([{ id: 'x', keyHashes: ['md5:abc'], ratePerSec: 1, burst: 1 }]), /key hash/);
  const h = sha256Hex('same');
  assert.throws(
    () =>
      new Authenticator([
        { id: 'x', keyHashes: [h], ratePerSec: 1, burst: 1 },
        { id: 'y', keyHashes: [`sha256:${h}`], ratePerSec: 1, burst: 1 },
      ]),
    /share a key/,
  );
});
