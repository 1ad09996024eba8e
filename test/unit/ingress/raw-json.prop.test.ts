/**
 * Properties of the byte-span scanner (src/ingress/raw-json.ts) and of the spliced event encoding: on any JSON the
 * parser accepts, in any layout, the spans cut out exactly the values `JSON.parse` sees, and a record built by
 * copying the payload bytes decodes to the same event as one built by `JSON.stringify`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEvent, encodeEvent, EventWriter, priorities } from '../../../src/base/index.js';
import { arrayMemberSpans, memberValueSpan } from '../../../src/ingress/raw-json.js';

/** JSON values with any Unicode in strings (escapes, surrogate pairs, quotes, backslashes). */
const value = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' });
/** JSON.stringify's indent argument: compact, spaces, or a tab. */
const indent = fc.constantFrom<string | number | undefined>(undefined, 0, 1, 2, 4, '\t');

function parseSpan(buf: Buffer, start: number, end: number): unknown {
  return JSON.parse(buf.toString('utf8', start, end));
}

/** Arrays whose elements are often objects with a `payload` member, sometimes repeated or among other members. */
const elements = fc.array(
  fc.oneof(
    value,
    fc.record({ payload: value }),
    fc.dictionary(fc.constantFrom('payload', 'type', 'pay\\load', 'p'), value, { maxKeys: 3 }),
  ),
  { maxLength: 8 },
);

test('raw-json - arrayMemberSpans cuts out exactly the elements of any JSON array and their member, in any layout', () => {
  fc.assert(
    fc.property(elements, indent, fc.constantFrom('', ' ', '\n', '\r\n\t'), (arr, ind, pad) => {
      const buf = Buffer.from(pad + JSON.stringify(arr, null, ind) + pad, 'utf8');
      const spans = arrayMemberSpans(buf, 0, buf.length, 'payload');
      assert.ok(spans !== null);
      assert.equal(spans.length, 4 * arr.length);
      const parsed = JSON.parse(buf.toString('utf8')) as unknown[];
      for (let i = 0; i < arr.length; i++) {
        const start: number = spans[4 * i];
        const end: number = spans[4 * i + 1];
        const memberStart: number = spans[4 * i + 2];
        const memberEnd: number = spans[4 * i + 3];
        assert.deepEqual(parseSpan(buf, start, end), parsed[i]);
        // The same answer as memberValueSpan on the element alone.
        const alone = memberValueSpan(buf, start, end, 'payload');
        assert.deepEqual(memberStart === -1 ? null : [memberStart, memberEnd], alone);
        if (alone !== null)
          assert.deepEqual(parseSpan(buf, alone[0], alone[1]), (parsed[i] as { payload: unknown }).payload);
      }
    }),
    { numRuns: 400 },
  );
});

test('raw-json - arrayMemberSpans is null for anything but an array', () => {
  for (const text of ['{"payload":1}', '"[1]"', '42', 'null', ' true ']) {
    const buf = Buffer.from(text);
    assert.equal(arrayMemberSpans(buf, 0, buf.length, 'payload'), null, text);
  }
});

test('raw-json - memberValueSpan finds the member JSON.parse keeps (the last of repeated names), or null', () => {
  fc.assert(
    fc.property(
      fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), value, { maxKeys: 5 }),
      fc.option(value, { nil: undefined }),
      fc.option(value, { nil: undefined }),
      indent,
      (members, payload, repeated, ind) => {
        const obj: Record<string, unknown> = { ...members };
        if (payload !== undefined) obj.payload = payload;
        let text = JSON.stringify(obj, null, ind);
        // A repeated member name after the others: JSON.parse keeps the later value.
        if (repeated !== undefined)
          text = text.replace(
            /\}\s*$/,
            (Object.keys(obj).length > 0 ? ',' : '') + `"payload":${JSON.stringify(repeated)}}`,
          );
        const buf = Buffer.from(text, 'utf8');
        const parsed = JSON.parse(text) as Record<string, unknown>;
        const span = memberValueSpan(buf, 0, buf.length, 'payload');
        if (!Object.prototype.hasOwnProperty.call(parsed, 'payload')) {
          assert.equal(span, null);
          return;
        }
        // An escaped member name may make the scanner give up (null), never give a wrong span.
        if (span === null) {
          assert.ok(text.includes('\\'), 'only escaped member names make the scanner give up');
          return;
        }
        assert.deepEqual(parseSpan(buf, span[0], span[1]), parsed.payload);
      },
    ),
    { numRuns: 400 },
  );
});

test('raw-json - memberValueSpan is null for anything but an object', () => {
  for (const text of ['[1,2]', '"payload"', '42', 'null', ' true ']) {
    const buf = Buffer.from(text);
    assert.equal(memberValueSpan(buf, 0, buf.length, 'payload'), null, text);
  }
});

test('event - EventWriter.spliced writes the bytes of encodeEvent, whatever the strings hold', () => {
  const writer = new EventWriter();
  fc.assert(
    fc.property(
      fc.record({
        event_id: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        tenant: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
        type: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
        ts: fc.integer({ min: 0, max: 8_640_000_000_000_000 }),
        priority: fc.constantFrom(...priorities),
        key: fc.string({ unit: 'binary', maxLength: 30 }),
      }),
      fc.dictionary(fc.string({ maxLength: 8 }), value, { maxKeys: 6 }),
      indent,
      (head, payload, ind) => {
        const body = Buffer.from(`{"payload": ${JSON.stringify(payload, null, ind)} }`, 'utf8');
        const span = memberValueSpan(body, 0, body.length, 'payload');
        assert.ok(span !== null);
        const spliced = writer.spliced(head, body, span[0], span[1]);
        const plain = encodeEvent({ ...head, payload: payload as Record<string, unknown> });
        assert.deepEqual(decodeEvent(spliced), decodeEvent(plain));
        assert.deepEqual(
          Object.keys(decodeEvent(spliced)),
          Object.keys(decodeEvent(plain)),
          'same members, same order',
        );
        // Compact payload bytes: the very bytes of JSON.stringify.
        const compact = Buffer.from(JSON.stringify(payload), 'utf8');
        assert.deepEqual(writer.spliced(head, compact, 0, compact.length), plain);
      },
    ),
    { numRuns: 300 },
  );
});

test('event - EventWriter.utf8 is Buffer.from(s, "utf8") for any string, and earlier results stay intact', () => {
  const writer = new EventWriter();
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 5000 }), { maxLength: 40 }), (strings) => {
      const written = strings.map((s) => writer.utf8(s));
      strings.forEach((s, i) => assert.deepEqual(written[i], Buffer.from(s, 'utf8')));
    }),
    { numRuns: 200 },
  );
});
