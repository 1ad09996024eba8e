/** Media types and charsets the gateway accepts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isShockError } from '../../../src/base/index.js';
import { bodyFormat, checkUtf8 } from '../../../src/ingress/body.js';

test('body - JSON everywhere, NDJSON only for batches, UTF-8 only', () => {
  assert.equal(bodyFormat('application/json', false), 'json');
  assert.equal(bodyFormat('Application/JSON; charset=UTF-8', false), 'json');
  assert.equal(bodyFormat('application/x-ndjson', true), 'ndjson');
  assert.equal(bodyFormat('application/jsonl', true), 'ndjson');
  for (const [ct, batch] of [
    ['application/x-ndjson', false],
    ['text/plain', true],
    [undefined, true],
    ['application/json; charset=iso-8859-1', true],
  ] as const) {
    const r = bodyFormat(ct, batch);
    assert.ok(isShockError(r) && r.code === 'SHOCK_INGRESS_UNSUPPORTED_MEDIA_TYPE', String(ct));
  }
});

test('body - invalid UTF-8 is refused, valid multi-byte text passes', () => {
  assert.equal(checkUtf8(Buffer.from('{"a":"ü€𝄞"}')), null);
  assert.equal(checkUtf8(Buffer.from([0xc3, 0x28]))?.code, 'SHOCK_INGRESS_INVALID_UTF8');
  assert.equal(checkUtf8(Buffer.from([0xed, 0xa0, 0x80]))?.code, 'SHOCK_INGRESS_INVALID_UTF8'); // a lone surrogate
});
