/**
 * The hand-over of a prepared batch between a batch worker and the gateway (src/ingress/batch-pool.ts): packed by
 * `toWire`, sent through a real MessageChannel with its slabs transferred, unpacked by `fromWire`, any batch —
 * valid and invalid records, JSON arrays and NDJSON, escapes and non-ASCII keys — arrives as the very
 * `PreparedBatch` inline preparation returns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import fc from 'fast-check';
import { EventWriter, limits, ManualClock, priorities, isShockError } from '../../../src/base/index.js';
import { fromWire, toWire, type WireBatch } from '../../../src/ingress/batch-pool.js';
import { EventIdGenerator, EventValidator } from '../../../src/ingress/index.js';
import { prepareBatch, type BatchRejection, type PreparedBatch } from '../../../src/ingress/prepare.js';

const schemas = {
  'page.view': {
    type: 'object',
    required: ['url'],
    properties: { url: { type: 'string', maxLength: 64 } },
  },
};

/** Records: valid events (client id or not, any key), wrong types, unknown types, non-objects, escaped names. */
const record = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        event_id: fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
        type: fc.constantFrom('page.view', 'page.view', 'page.view', 'nope'),
        key: fc.string({ unit: 'binary', maxLength: 12 }),
        priority: fc.constantFrom(...priorities),
        payload: fc.oneof(
          { weight: 4, arbitrary: fc.record({ url: fc.string({ unit: 'binary', maxLength: 60 }) }) },
          { weight: 1, arbitrary: fc.constant({ url: 3 }) },
        ),
      },
      { requiredKeys: ['type', 'payload'] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

function snapshot(result: PreparedBatch | BatchRejection): unknown {
  if ('err' in result) return { code: result.err.code, message: result.err.message, records: result.records };
  return result.prepared.map((p, i) => {
    const f = result.failures[i];
    if (f !== null) {
      assert.ok(isShockError(f.err));
      return {
        code: f.err.code,
        status: f.err.httpStatus,
        message: f.err.message,
        details: f.err.details,
        id: f.eventId,
      };
    }
    assert.ok(p !== null);
    assert.ok(Buffer.isBuffer(p.keyBytes) && Buffer.isBuffer(p.value), 'key and value arrive as Buffers');
    return { ...p, keyBytes: [...p.keyBytes], value: p.value.toString('utf8') };
  });
}

function roundTrip(wire: WireBatch, port1: MessagePort, port2: MessagePort): Promise<WireBatch> {
  return new Promise((resolve) => {
    port2.once('message', resolve);
    port1.postMessage(wire, wire.slabs);
  });
}

test('batch wire - a prepared batch crosses threads unchanged, slabs transferred', async () => {
  const ctx = {
    validator: new EventValidator(schemas, limits),
    ids: new EventIdGenerator(new ManualClock(1_700_000_000_000)),
    writer: new EventWriter(),
    limits: { ...limits, eventBytesMax: 190 },
  };
  const { port1, port2 } = new MessageChannel();
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 12 }),
        fc.constantFrom('json', 'ndjson'),
        fc.integer({ min: 1, max: 16 }),
        async (records, format, partitions) => {
          const text = format === 'json' ? JSON.stringify(records) : records.map((r) => JSON.stringify(r)).join('\n');
          const principal = { tenant: 'acme', disabled: false, types: null };
          // A fresh writer per batch, as a worker uses: its slabs are handed over.
          const result = prepareBatch(
            { ...ctx, writer: new EventWriter() },
            partitions,
            principal,
            Buffer.from(text, 'utf8'),
            format,
            5,
          );
          const expected = snapshot(result);
          const wire = toWire(7, result);
          const received = await roundTrip(wire, port1, port2);
          assert.equal(received.id, 7);
          for (const slab of wire.slabs) assert.equal(slab.byteLength, 0, 'the slabs were transferred, not copied');
          assert.deepEqual(snapshot(fromWire(received)), expected);
        },
      ),
      { numRuns: 200 },
    );
  } finally {
    port1.close();
  }
});
