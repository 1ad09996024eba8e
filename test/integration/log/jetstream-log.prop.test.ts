/**
 * Properties of the JetStream log against a real nats-server: random interleavings of appends across partitions
 * (some issued together, so they are pipelined) keep per-partition offsets dense and in call order; with two logs
 * appending to the same stream at once, every call resolves (no conflicts: the server orders), each record is at
 * the offsets its call answered, a call's records in call order, and retried calls (same ids) store nothing twice.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  appendedOffset,
  openJetStreamLog,
  type AppendRecord,
  type AppendResult,
  type Log,
} from '../../../src/log/index.js';
import { arbitraryAppends, assertSameRecords, readAll } from '../../helpers/log-records.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../../helpers/nats.js';

const skip = natsSkipReason();
let server: NatsServer | undefined;
let prefixes = 0;
const nextPrefix = () => `prop${process.pid}_${++prefixes}`;

const appends = arbitraryAppends;

describe('jetstream log properties', { skip }, () => {
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

  test('jetstream log - two writers on one partition: every call resolves at its offsets, retries store nothing twice', async () => {
    const calls = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.boolean()), {
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
          const results: Promise<AppendResult>[] = [];
          const retries: Promise<{ call: number; r: AppendResult }>[] = [];
          const sent: AppendRecord[][] = [];
          let together: Promise<unknown>[] = [];
          for (const [second, count, concurrent, retry] of plan) {
            const call = sent.length;
            const records = Array.from({ length: count }, (_, j) => ({
              key: Buffer.alloc(0),
              value: Buffer.from(`c${call}.${j}`),
              id: `tenant\u0000c${call}.${j}`,
            }));
            sent.push(records);
            const first = writers[second ? 1 : 0].append(0, records);
            results.push(first);
            // A retry (as after a lost PubAck) through the other writer, once the first is stored.
            if (retry) {
              const again = first.then(() => writers[second ? 0 : 1].append(0, records));
              retries.push(again.then((r) => ({ call, r })));
            }
            together.push(first);
            if (!concurrent) {
              await Promise.all(together);
              together = [];
            }
          }
          const answered = await Promise.all(results);
          const retried = await Promise.all(retries);
          const reader = await openJetStreamLog({ servers: server!.url, partitions: 1, streamPrefix });
          try {
            // readAll checks that offsets are dense.
            const all = (await readAll(reader, 0)).map((r) => r.value.toString());
            assert.equal(
              all.length,
              sent.reduce((n, r) => n + r.length, 0),
              'every record stored exactly once',
            );
            answered.forEach((r, call) => {
              const offsets = sent[call].map((_, j) => appendedOffset(r, j));
              assert.deepEqual(
                offsets.map((o) => all[o]),
                sent[call].map((x) => x.value.toString()),
                `call ${call} at its offsets`,
              );
              for (let j = 1; j < offsets.length; j++) assert.ok(offsets[j] > offsets[j - 1], 'call order kept');
            });
            for (const { call, r } of retried) {
              const offsets = (x: AppendResult) => sent[call].map((_, j) => appendedOffset(x, j));
              assert.deepEqual(offsets(r), offsets(answered[call]), `the retry of call ${call} answers its offsets`);
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
});
