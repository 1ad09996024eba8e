/**
 * The byte scan of `json-shape.ts` against an oracle that walks the parsed value: for any JSON text (random values,
 * deep nesting, escaped member names, number literals that overflow or not), the scan's verdict on depth and on
 * finite numbers is the oracle's, and the pointers it reports lead to the numbers that are not finite.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkJsonShape, jsonShapes, notFinitePointers } from '../../../src/ingress/json-shape.js';

/** Nesting depth of a parsed value (a scalar is 0, `{}` and `[]` are 1), without recursion. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    max = Math.max(max, d + 1);
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

function hasNotFinite(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'number' && !Number.isFinite(v)) return true;
    if (typeof v === 'object' && v !== null) stack.push(...Object.values(v));
  }
  return false;
}

/** The oracle: what `checkJsonShape` must answer for `text`. */
function expected(text: string, depthMax: number): number {
  const value: unknown = JSON.parse(text);
  if (depthOf(value) > depthMax) return jsonShapes.tooDeep;
  return hasNotFinite(value) ? jsonShapes.notFinite : jsonShapes.ok;
}

/** Number literals as JSON writes them, and ones `JSON.stringify` never writes: overflowing, long, exponents. */
const literal = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)),
  fc.integer().map(String),
  fc.constantFrom('1e400', '-1e400', '1E309', '2e308', '1.7976931348623157e308', '1.8e308', '1e-400', '0e999'),
  fc.constantFrom('-0.0e+0', '12.5E-3', '9.99e307', '1e+308', '123e4567'),
  fc.integer({ min: 300, max: 320 }).map((n) => '9'.repeat(n)),
  fc.integer({ min: 300, max: 320 }).map((n) => '0.' + '9'.repeat(n)),
  fc.integer({ min: 300, max: 320 }).map((n) => '-1' + '0'.repeat(n) + '.5'),
);

/** Member names, some with escapes (`\u0065` is `e`) or bytes that look like structure inside a string. */
const name = fc.oneof(
  fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('"k\\u0065y"', '"\\"[{"', '"a\\\\"', '"}]e1"', '"1e400"', '"\\u005b"'),
);

/**
 * JSON text built from parts, so literals and escapes the serializer would never produce appear in it. Member names
 * do not repeat within an object: `JSON.parse` keeps only the last, and the scan (rightly stricter: the bytes are
 * what is stored) also judges the ones it drops — a test of its own below.
 */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    literal,
    fc.constantFrom('true', 'false', 'null', '"e"', '"1e400"', '"\\\\"'),
    fc.array(tie('value'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
    fc
      .uniqueArray(fc.tuple(name, tie('value')), { maxLength: 4, selector: ([k]) => JSON.parse(k) as string })
      .map((ms) => `{${ms.map(([k, v]) => `${k}:${v}`).join(' , ')}}`),
  ),
})).value;

/** A value wrapped in `levels` arrays or objects: deep nesting, which random values rarely reach. */
const deepText = fc
  .tuple(fc.integer({ min: 0, max: 3000 }), fc.boolean(), jsonText)
  .map(([levels, objects, inner]) =>
    objects
      ? '{"k\\u0065y":'.repeat(levels) + inner + '}'.repeat(levels)
      : '['.repeat(levels) + inner + ']'.repeat(levels),
  );

test('json shape - the scan agrees with a walk of the parsed value on depth and finite numbers', () => {
  fc.assert(
    fc.property(fc.oneof(jsonText, deepText), fc.integer({ min: 1, max: 600 }), (text, depthMax) => {
      const buf = Buffer.from(text);
      assert.equal(checkJsonShape(buf, 0, buf.length, depthMax), expected(text, depthMax), text.slice(0, 200));
    }),
    { numRuns: 2000, seed: 12_003 },
  );
});

test('json shape - a value inside a larger buffer is scanned alone', () => {
  fc.assert(
    fc.property(jsonText, fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), (text, before, after) => {
      const pre = Buffer.from(`[[[[${JSON.stringify(before)},1e999,`);
      const buf = Buffer.concat([pre, Buffer.from(text), Buffer.from(`,${JSON.stringify(after)},1e999]]]]`)]);
      assert.equal(checkJsonShape(buf, pre.length, pre.length + Buffer.byteLength(text), 64), expected(text, 64));
    }),
    { numRuns: 500, seed: 12_004 },
  );
});

test('json shape - the pointers of numbers that are not finite lead to them', () => {
  fc.assert(
    fc.property(jsonText, (text) => {
      const value: unknown = JSON.parse(text);
      const pointers = notFinitePointers(value, Number.MAX_SAFE_INTEGER);
      assert.equal(pointers.length > 0, hasNotFinite(value));
      for (const p of pointers) {
        let at: unknown = value;
        if (p !== '') {
          for (const token of p.slice(1).split('/')) {
            at = (at as Record<string, unknown>)[token.replaceAll('~1', '/').replaceAll('~0', '~')];
          }
        }
        assert.ok(typeof at === 'number' && !Number.isFinite(at), `${p} in ${text}`);
      }
    }),
    { numRuns: 1000, seed: 12_005 },
  );
});

test('json shape - a member whose name repeats is judged too, though JSON.parse keeps only the last one', () => {
  const at = (text: string, max: number) => checkJsonShape(Buffer.from(text), 0, Buffer.byteLength(text), max);
  assert.equal(at('{"a":[[[[1]]]],"a":1}', 3), jsonShapes.tooDeep);
  assert.equal(at('{"a":1e400,"a":1}', 3), jsonShapes.notFinite);
  assert.deepEqual(notFinitePointers(JSON.parse('{"a":1e400,"a":1}')), []);
});

test('json shape - the depth counts the value itself, and ends at the limit exactly', () => {
  const at = (text: string, max: number) => checkJsonShape(Buffer.from(text), 0, Buffer.byteLength(text), max);
  assert.equal(at('{"payload":{}}', 2), jsonShapes.ok);
  assert.equal(at('{"payload":{}}', 1), jsonShapes.tooDeep);
  assert.equal(at('{"a":"[[[[[[{{{{"}', 1), jsonShapes.ok, 'brackets inside strings are text');
  assert.equal(at('{"a":"\\"[["}', 1), jsonShapes.ok, 'an escaped quote does not end the string');
  assert.equal(at('{"amount_cents":1e400}', 8), jsonShapes.notFinite);
  assert.equal(at('{"amount_cents":1.7976931348623157e308,"t":true,"f":false}', 8), jsonShapes.ok);
  assert.deepEqual(notFinitePointers(JSON.parse('{"a/b":[1,{"~":-1e999}],"c":1e400}')), ['/a~1b/1/~0', '/c']);
});
