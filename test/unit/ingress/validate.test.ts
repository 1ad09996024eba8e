/** Envelope and payload validation: every problem reported at once, each with the path of its field. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isShockError } from '../../../src/base/index.js';
import { EventValidator } from '../../../src/ingress/validate.js';

const validator = new EventValidator(
  {
    'page.view': { type: 'object', required: ['url'], properties: { url: { type: 'string', format: 'uri' } } },
  },
  { eventIdBytesMax: 16, keyBytesMax: 8 },
);

test('validate - a valid event gets its defaults (priority normal), optional fields stay undefined', () => {
  const v = validator.validate({ type: 'page.view', payload: { url: 'https://x.example/' } });
  assert.ok(!isShockError(v));
  assert.equal(v.priority, 'normal');
  assert.equal(v.event_id, undefined);
  assert.equal(v.key, undefined);
});

test('validate - every problem is listed with its JSON pointer, payload formats included (ajv-formats)', () => {
  const v = validator.validate({
    type: 'page.view',
    priority: 'high',
    ts: -1,
    payload: { url: 'not a uri' },
    tenant: 5,
    other: 1,
  });
  assert.ok(isShockError(v));
  assert.equal(v.code, 'SHOCK_INGRESS_INVALID_EVENT');
  const paths = (v.details.problems as Array<{ path: string }>).map((p) => p.path).sort();
  assert.deepEqual(paths, ['/other', '/payload/url', '/priority', '/tenant', '/ts']);
  assert.match(v.message, /\/priority must be one of critical, normal, low/);
});

test('validate - key and event id limits count UTF-8 bytes, not characters', () => {
  const key = validator.validate({ type: 'page.view', payload: { url: 'https://x/' }, key: 'ééééé' }); // 10 bytes
  assert.ok(isShockError(key));
  assert.equal(key.code, 'SHOCK_INGRESS_KEY_TOO_LONG');
  const id = validator.validate({ type: 'page.view', payload: { url: 'https://x/' }, event_id: 'ü'.repeat(9) }); // 18 bytes
  assert.ok(isShockError(id));
  assert.equal(id.code, 'SHOCK_INGRESS_INVALID_EVENT');
  assert.equal((id.details.problems as Array<{ path: string }>)[0].path, '/event_id');
});

test('validate - an unknown type names the registered ones; non-objects are refused', () => {
  const v = validator.validate({ type: 'nope', payload: {} });
  assert.ok(isShockError(v));
  assert.equal(v.code, 'SHOCK_INGRESS_UNKNOWN_TYPE');
  assert.deepEqual(v.details.types, ['page.view']);
  for (const bad of [null, 1, 'x', [], true]) {
    const r = validator.validate(bad);
    assert.ok(isShockError(r) && r.code === 'SHOCK_INGRESS_INVALID_EVENT');
  }
});

test('validate - an invalid payload schema is a configuration error naming the type', () => {
  assert.throws(
    () => new EventValidator({ broken: { type: 'no-such-type' } }, { eventIdBytesMax: 16, keyBytesMax: 8 }),
    (err: unknown) => isShockError(err) && err.code === 'SHOCK_CONFIG_INVALID' && /\/schemas\/broken/.test(err.message),
  );
});
