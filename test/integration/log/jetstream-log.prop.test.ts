/**
 * Properties of the JetStream log against a real nats-server: random interleavings of appends across partitions
 * (some issued together, so they are pipelined) keep per-partition offsets dense and in call order; with two logs
 * appending to the same stream, every resolved call is whole at its offsets, and a call refused for a conflict
 * leaves at most a prefix of its records (never a record after a hole), so only retries can duplicate.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { openJetStreamLog, type AppendRecord, type Log } from '../../../src/log/index.js';
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

  test('jetstream log - two writers on one partition: resolved calls whole, refused calls leave at most a prefix', async () => {
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
          const outcomes: Outcome[] = [];
          let together: Promise<unknown>[] = [];
          for (const [second, count, concurrent] of plan) {
            const call = outcomes.length;
            const records = Array.from({ length: count }, (_, j) => ({
              key: Buffer.alloc(0),
              value: Buffer.from(`c${call}.${j}`),
            }));
            const outcome: Outcome = { count, attempts: 0 };
            outcomes.push(outcome);
            together.push(appendRetrying(writers[second ? 1 : 0], records, outcome));
            if (!concurrent) {
              await Promise.all(together);
              together = [];
            }
          }
          await Promise.all(together);
          const reader = await openJetStreamLog({ servers: server!.url, partitions: 1, streamPrefix });
          try {
            // readAll checks that offsets are dense.
            const all = (await readAll(reader, 0)).map((r) => parseValue(r.value.toString()));
            all.forEach(({ call, j }, offset) => {
              // The chain: a call's record j > 0 is stored only right after its record j − 1 (no hole in a call).
              if (j > 0) assert.deepEqual(all[offset - 1], { call, j: j - 1 }, `record before offset ${offset}`);
              const stored = all.filter((x) => x.call === call && x.j === j).length;
              // Stored once per attempt at most; more than once only when an attempt was refused.
              assert.ok(stored <= outcomes[call].attempts, `c${call}.${j} stored ${stored} times`);
            });
            outcomes.forEach((o, call) => {
              if (o.baseOffset === undefined) return;
              const got = all.slice(o.baseOffset, o.baseOffset + o.count);
              assert.deepEqual(
                got,
                Array.from({ length: o.count }, (_, j) => ({ call, j })),
                `call ${call} whole at ${o.baseOffset}`,
              );
            });
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

interface Outcome {
  count: number;
  attempts: number;
  baseOffset?: number;
}

function parseValue(v: string): { call: number; j: number } {
  const m = /^c(\d+)\.(\d+)$/.exec(v);
  assert.ok(m, `a value of this test: ${v}`);
  return { call: Number(m[1]), j: Number(m[2]) };
}

/** An append that retries a conflict with the other writer a few times, recording attempts and the outcome. */
async function appendRetrying(log: Log, records: AppendRecord[], outcome: Outcome): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    outcome.attempts++;
    try {
      outcome.baseOffset = (await log.append(0, records)).baseOffset;
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SHOCK_LOG_APPEND_CONFLICT') throw err;
    }
  }
}
