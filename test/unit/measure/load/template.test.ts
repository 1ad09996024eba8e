import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BodyRenderer, compileTemplate, createKeySampler } from '../../../../src/measure/load/index.js';
import { mulberry32 } from '../../../../src/base/index.js';

test('template - fields are filled per request: seq, a random id, a key and a timestamp', () => {
  const r = new BodyRenderer(
    { template: '{"n":{{seq}},"id":"{{id}}","key":"{{ key }}","ts":{{ts}}}', keys: 10 },
    mulberry32(1),
  );
  const a = JSON.parse(r.render(7) as string);
  const b = JSON.parse(r.render(8) as string);
  assert.equal(a.n, 7);
  assert.equal(b.n, 8);
  assert.match(a.id, /^[0-9a-f]{16}$/);
  assert.notEqual(a.id, b.id);
  assert.match(a.key, /^key-\d$/);
  assert.ok(Math.abs(a.ts - Date.now()) < 60_000);
});

test('template - an unknown field fails with SHOCK_LOAD_TEMPLATE_FIELD listing the known ones', () => {
  assert.throws(
    () => compileTemplate('{"a":"{{user}}","b":{{seq}},"c":"{{nope}}"}'),
    (err: { code: string; details: { unknown: string[]; known: string[] } }) => {
      assert.equal(err.code, 'SHOCK_LOAD_TEMPLATE_FIELD');
      assert.deepEqual(err.details.unknown, ['user', 'nope']);
      assert.deepEqual(err.details.known, ['seq', 'id', 'key', 'ts']);
      return true;
    },
  );
});

test('template - a batch renders NDJSON with one record per line and distinct sequence numbers', () => {
  const r = new BodyRenderer({ template: '{"n":{{seq}}}', batch: 3 }, mulberry32(1));
  const lines = (r.render(2) as string)
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l).n);
  assert.deepEqual(lines, [6, 7, 8]);
  assert.equal(new BodyRenderer({ body: 'x' }, mulberry32(1)).render(0), 'x');
  assert.equal(new BodyRenderer({}, mulberry32(1)).render(0), undefined);
});

test('template - Zipf keys follow P(k) ∝ 1/(k+1)^s; uniform keys are flat', () => {
  const keys = 100;
  const s = 1.2;
  const h = Array.from({ length: keys }, (_, k) => 1 / Math.pow(k + 1, s)).reduce((a, b) => a + b, 0);
  const draw = createKeySampler(keys, 'zipf', s, mulberry32(5));
  const counts = new Array(keys).fill(0);
  const n = 200_000;
  for (let i = 0; i < n; i++) counts[draw()]++;
  for (const k of [0, 1, 9, 99]) {
    const expected = n / Math.pow(k + 1, s) / h;
    assert.ok(Math.abs(counts[k] - expected) < 5 * Math.sqrt(expected) + 1, `key ${k}: ${counts[k]} vs ${expected}`);
  }
  const uniform = createKeySampler(keys, 'uniform', 1, mulberry32(5));
  const u = new Array(keys).fill(0);
  for (let i = 0; i < n; i++) u[uniform()]++;
  assert.ok(Math.max(...u) < (n / keys) * 1.15 && Math.min(...u) > (n / keys) * 0.85);
});
