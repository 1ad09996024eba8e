/**
 * Interest retention (the default policy) of the JetStream log against a real nats-server: the streams carry no age
 * or size limit (the server would discard unconsumed messages), the log purges only what every known group has
 * committed past and that is past `maxAge`, and unconsumed messages at `maxBytes` refuse appends with
 * SHOCK_LOG_FULL until the group commits. Retention checks are run on demand (`applyRetention`), so nothing races a
 * timer: the only wait is for the records to grow older than maxAge, which they cannot undo.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import { openJetStreamLog } from '../../../src/log/index.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../../helpers/nats.js';

const skip = natsSkipReason();
let server: NatsServer | undefined;
let nc: NatsConnection | undefined;
let prefixes = 0;
const nextPrefix = () => `ri${process.pid}_${++prefixes}`;
const rec = (i: number) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`value-${i}`.padEnd(100, '.')) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function streamInfo(stream: string) {
  const jsm = await nc!.jetstreamManager();
  return jsm.streams.info(stream);
}

describe('jetstream interest retention', { skip }, () => {
  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });
  after(async () => {
    await nc?.close();
    await server?.cleanup();
  });

  test('jetstream interest retention - nothing unconsumed is purged past maxAge; consumed messages are', async () => {
    const log = await openJetStreamLog({
      servers: server!.url,
      partitions: 1,
      streamPrefix: nextPrefix(),
      maxAge: '1s',
      maxBytes: 1024 * 1024,
      retentionGroups: ['sink'],
    });
    try {
      const stream = log.streamName(0);
      const config = (await streamInfo(stream)).config;
      assert.deepEqual([config.max_age, config.max_bytes], [0, -1], 'no server-side limit that ignores consumers');
      for (let i = 0; i < 20; i++) await log.append(0, [rec(i)]);
      await sleep(1200); // every record is now older than maxAge
      await log.applyRetention();
      await log.applyRetention();
      assert.equal((await streamInfo(stream)).state.messages, 20, 'the group "sink" consumed nothing');
      assert.equal(log.state(0).offsetStart, 0);
      assert.ok(log.stats().partitions[0].retentionChecks >= 2, 'the checks ran (the periodic one may add more)');

      await log.offsets.commit('sink', 0, 12);
      await log.applyRetention();
      const info = await streamInfo(stream);
      assert.deepEqual([info.state.first_seq, info.state.messages], [13, 8], 'offsets below 12 purged, no more');
      assert.equal(log.state(0).offsetStart, 12);
      assert.equal((await log.read(0, 12, { recordsMax: 100 })).length, 8);
      // A second group found in the bucket holds retention back at its own offset.
      await log.offsets.commit('audit', 0, 15);
      await log.offsets.commit('sink', 0, 20);
      await log.applyRetention();
      assert.equal(log.state(0).offsetStart, 15);
    } finally {
      await log.close();
    }
  });

  test('jetstream interest retention - unconsumed messages at maxBytes refuse appends with SHOCK_LOG_FULL until committed', async () => {
    const streamPrefix = nextPrefix();
    const log = await openJetStreamLog({
      servers: server!.url,
      partitions: 2,
      streamPrefix,
      maxBytes: 4096,
      retentionGroups: ['sink'],
    });
    try {
      let accepted = 0;
      let refusal: unknown;
      for (let i = 0; i < 200 && refusal === undefined; i++) {
        await log.append(0, [rec(i)]).then(
          () => accepted++,
          (err: unknown) => (refusal = err),
        );
      }
      assert.ok(refusal !== undefined, 'the partition got full');
      const err = refusal as { code: string; retriable: boolean; httpStatus: number; details: Record<string, unknown> };
      assert.deepEqual([err.code, err.retriable, err.httpStatus], ['SHOCK_LOG_FULL', true, 503]);
      assert.equal(err.details.retentionBytesMax, 4096);
      assert.ok(accepted >= 10, `${accepted} accepted first`);
      const stats = log.stats().partitions;
      assert.deepEqual([stats[0].full, stats[1].full], [true, false]);
      assert.ok(stats[0].unconsumedBytes >= 4096);
      await log.append(1, [rec(0)]);
      // Nothing was discarded to make room.
      assert.equal((await streamInfo(log.streamName(0))).state.messages, accepted);

      await log.offsets.commit('sink', 0, accepted);
      await log.append(0, [rec(1000)]);
      assert.equal(log.stats().partitions[0].full, false);
      await log.applyRetention();
      assert.ok(log.state(0).offsetStart > 0, 'consumed messages past maxBytes are purged');
      assert.ok(log.state(0).offsetStart <= accepted, 'never an unconsumed one');
      assert.equal((await log.read(0, accepted, { recordsMax: 10 })).length, 1);
    } finally {
      await log.close();
    }
  });
});
