/**
 * Properties of the JetStream log against a real nats-server: random interleavings of appends across partitions
 * (some issued together, so they are pipelined) keep per-partition offsets dense and in call order; two logs
 * appending to the same streams never double-write or interleave inside the records of a resolved call.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { openJetStreamLog, type AppendRecord, type Log } from '../../../src/log/index.js';
import { assertSameRecords, readAll } from '../../helpers/log-records.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../../helpers/nats.js';

const skip = natsSkipReason();
let server: NatsServer | undefined;
let prefixes = 0;
const nextPrefix = () => `prop${process.pid}_${++prefixes}`;

const record: fc.Arbitrary<AppendRecord> = fc.record({
  key: fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)),
  value: fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)),
  timestampMs: fc.integer({ min: 0, max: 2 ** 42 }),
});

/** (partition, records, issued together with the next call) */
const appends = fc.array(fc.tuple(fc.nat(2), fc.array(record, { minLength: 1, maxLength: 4 }), fc.boolean()), {
  maxLength: 25,
});

if (skip) {
  test('jetstream log properties - need nats-server', { skip }, () => {});
} else {
  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await server?.cleanup();
  });

  test('jetstream log - any interleaving of appends keeps dense offsets in call order, also after a reopen', async () => {
    await fc.assert(
      fc.asyncProperty(appends, async (calls) => {
        const streamPrefix = nextPrefix();
        let log: Log = await openJetStreamLog({ servers: server!.url, partitions: 3, streamPrefix });
        try {
          const expected: AppendRecord[][] = [[], [], []];
          let together: Promise<unknown>[] = [];
          for (const [p, records, concurrent] of calls) {
            const base = expected[p].length;
            expected[p].push(...records);
            together.push(
              log.append(p, records).then((r) => assert.deepEqual(r, { baseOffset: base, count: records.length })),
            );
            if (!concurrent) {
              await Promise.all(together);
              together = [];
            }
          }
          await Promise.all(together);
          for (let p = 0; p < 3; p++) assertSameRecords(await readAll(log, p), expected[p]);
          await log.close();
          log = await openJetStreamLog({ servers: server!.url, partitions: 3, streamPrefix });
          for (let p = 0; p < 3; p++) assertSameRecords(await readAll(log, p), expected[p]);
        } finally {
          await log.close();
        }
      }),
      { numRuns: 25 },
    );
  });

  test('jetstream log - two writers on one partition: no double write, each resolved call whole at its offsets', async () => {
    const calls = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 4 }), fc.boolean()), {
      minLength: 1,
      maxLength: 20,
    });
    await fc.assert(
      fc.asyncProperty(calls, async (plan) => {
        const streamPrefix = nextPrefix();
        const writers = [
          await openJetStreamLog({ servers: server!.url, partitions: 1, streamPrefix }),
          await openJetStreamLog({ servers: server!.url, partitions: 1, streamPrefix }),
        ];
        try {
          const resolved: { baseOffset: number; values: string[] }[] = [];
          let together: Promise<unknown>[] = [];
          let serial = 0;
          for (const [second, count, concurrent] of plan) {
            const values = Array.from({ length: count }, () => `v${serial++}`);
            const records = values.map((v) => ({ key: Buffer.alloc(0), value: Buffer.from(v) }));
            together.push(
              appendRetrying(writers[second ? 1 : 0], records).then((r) => {
                if (r) resolved.push({ baseOffset: r.baseOffset, values });
              }),
            );
            if (!concurrent) {
              await Promise.all(together);
              together = [];
            }
          }
          await Promise.all(together);
          await writers[0].waitFor(0, 0, 0);
          const reader = await openJetStreamLog({ servers: server!.url, partitions: 1, streamPrefix });
          try {
            const all = (await readAll(reader, 0)).map((r) => r.value.toString());
            // Dense offsets are checked by readAll; no value is stored twice.
            assert.equal(new Set(all).size, all.length, 'no record is stored twice');
            for (const r of resolved) {
              assert.deepEqual(all.slice(r.baseOffset, r.baseOffset + r.values.length), r.values);
            }
          } finally {
            await reader.close();
          }
        } finally {
          for (const w of writers) await w.close();
        }
      }),
      { numRuns: 15 },
    );
  });
}

/** An append that retries a conflict with the other writer a few times; undefined when it never got through. */
async function appendRetrying(log: Log, records: AppendRecord[]) {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await log.append(0, records);
    } catch (err) {
      if ((err as { code?: string }).code !== 'SHOCK_LOG_APPEND_CONFLICT') throw err;
    }
  }
  return undefined;
}
