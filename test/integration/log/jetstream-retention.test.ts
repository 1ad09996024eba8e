/**
 * Limits retention (`retentionPolicy: 'limits'`, the opt-in) of the JetStream log against a real nats-server:
 * the configured limits are the streams' limits (read
 * back from the server, changed at the next open), and a read below what retention removed is
 * SHOCK_LOG_OFFSET_OUT_OF_RANGE with the new `offsetStart` in its details (as for the file log), never a silent
 * skip and never a corrupt-record error — also for a reader whose ordered consumer was already past the old start.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import { openJetStreamLog, type JetStreamLog } from '../../../src/log/index.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../../helpers/nats.js';

const skip = natsSkipReason();
let server: NatsServer | undefined;
let nc: NatsConnection | undefined;
let prefixes = 0;
const nextPrefix = () => `r${process.pid}_${++prefixes}`;
const rec = (v: string) => ({ key: Buffer.from('k'), value: Buffer.from(v) });

async function streamConfig(stream: string) {
  const jsm = await nc!.jetstreamManager();
  return (await jsm.streams.info(stream)).config;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('jetstream retention', { skip }, () => {
  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });
  after(async () => {
    await nc?.close();
    await server?.cleanup();
  });

  test('jetstream retention - the limits are set on every partition stream, and changed at the next open', async () => {
    const streamPrefix = nextPrefix();
    let log: JetStreamLog | undefined = await openJetStreamLog({
      retentionPolicy: 'limits',
      servers: server!.url,
      partitions: 2,
      streamPrefix,
      maxAge: '24h',
      maxBytes: 64 * 1024 * 1024,
      maxMsgs: 1_000_000,
      maxMsgsPerSubject: 500_000,
    });
    try {
      for (const p of [0, 1]) {
        const c = await streamConfig(log.streamName(p));
        assert.equal(c.max_age, 24 * 3600 * 1e9);
        assert.equal(c.max_bytes, 64 * 1024 * 1024);
        assert.equal(c.max_msgs, 1_000_000);
        assert.equal(c.max_msgs_per_subject, 500_000);
        assert.equal(c.discard, 'old');
        assert.ok(c.max_msg_size <= c.max_bytes);
      }
      const info = await log.partitionInfo(1);
      assert.deepEqual(info.limits, {
        maxAgeMs: 86_400_000,
        maxBytes: 64 * 1024 * 1024,
        maxMsgs: 1_000_000,
        maxMsgsPerSubject: 500_000,
      });
      await log.close();
      // The configuration is the truth: another value, then none at all (unlimited, as NATS writes it).
      log = await openJetStreamLog({
        retentionPolicy: 'limits',
        servers: server!.url,
        partitions: 2,
        streamPrefix,
        maxAge: '7d',
      });
      let c = await streamConfig(log.streamName(0));
      assert.equal(c.max_age, 7 * 86_400 * 1e9);
      assert.equal(c.max_bytes, -1);
      assert.equal(c.max_msgs, -1);
      assert.equal(c.max_msgs_per_subject, -1);
      await log.close();
      log = await openJetStreamLog({ retentionPolicy: 'limits', servers: server!.url, partitions: 2, streamPrefix });
      c = await streamConfig(log.streamName(1));
      assert.equal(c.max_age, 0);
    } finally {
      await log?.close();
    }
  });

  test('jetstream retention - a read below the removed messages is OFFSET_OUT_OF_RANGE with the new start, also for a reader already positioned there', async () => {
    const streamPrefix = nextPrefix();
    const log = await openJetStreamLog({
      retentionPolicy: 'limits',
      servers: server!.url,
      partitions: 1,
      streamPrefix,
      maxMsgsPerSubject: 5,
    });
    const reader = await openJetStreamLog({
      retentionPolicy: 'limits',
      servers: server!.url,
      partitions: 1,
      streamPrefix,
      maxMsgsPerSubject: 5,
    });
    try {
      await log.append(0, [rec('0'), rec('1'), rec('2'), rec('3')]);
      // The reader's ordered consumer now stands at offset 2.
      assert.deepEqual(
        (await reader.read(0, 0, { recordsMax: 2 })).map((r) => r.offset),
        [0, 1],
      );
      await log.offsets.commit('g', 0, 2);
      for (let i = 4; i < 12; i++) await log.append(0, [rec(String(i))]);
      // Seven records were removed: offsets 0..6. The reader's next read (its consumer at 2) is refused clearly.
      await assert.rejects(reader.read(0, 2), (err: { code: string; details: Record<string, number> }) => {
        assert.equal(err.code, 'SHOCK_LOG_OFFSET_OUT_OF_RANGE');
        assert.equal(err.details.offsetStart, 7);
        assert.equal(err.details.offsetEnd, 12);
        return true;
      });
      assert.deepEqual(reader.state(0), { partition: 0, offsetStart: 7, offsetEnd: 12 });
      await assert.rejects(log.read(0, 0), { code: 'SHOCK_LOG_OFFSET_OUT_OF_RANGE' });
      // Resuming at offsetStart reads what is left, in order.
      assert.deepEqual(
        (await reader.read(0, reader.state(0).offsetStart)).map((r) => r.value.toString()),
        ['7', '8', '9', '10', '11'],
      );
      // The committed offset stays where the group left it: below the start (a consumer resumes at offsetStart).
      assert.equal(log.offsets.get('g', 0), 2);
      assert.equal(log.offsets.removedBeforeConsumed('g', 0), 0);
      // Once the group commits past the start, the records it never consumed (2..6) stay counted, durably.
      await log.offsets.commit('g', 0, 12);
      assert.equal(log.offsets.removedBeforeConsumed('g', 0), 5);
      // Another process sees it through its watch on the bucket (bounded wait).
      await until('the commit to reach the other log', async () => reader.offsets.get('g', 0) === 12);
      assert.equal(reader.offsets.removedBeforeConsumed('g', 0), 5);
      const info = await log.partitionInfo(0);
      assert.equal(info.messages, 5);
      assert.equal(info.offsetStart, 7);
    } finally {
      await reader.close();
      await log.close();
    }
  });

  test('jetstream retention - maxAge removes old messages; the start follows, appends go on at the end', async () => {
    const streamPrefix = nextPrefix();
    const log = await openJetStreamLog({
      retentionPolicy: 'limits',
      servers: server!.url,
      partitions: 1,
      streamPrefix,
      maxAge: '1s',
    });
    try {
      await log.append(0, [rec('a'), rec('b'), rec('c')]);
      await until('the messages to expire', async () => (await log.partitionInfo(0)).messages === 0);
      await assert.rejects(log.read(0, 0), (err: { code: string; details: Record<string, number> }) => {
        assert.equal(err.code, 'SHOCK_LOG_OFFSET_OUT_OF_RANGE');
        assert.equal(err.details.offsetStart, 3);
        return true;
      });
      assert.deepEqual(log.state(0), { partition: 0, offsetStart: 3, offsetEnd: 3 });
      assert.deepEqual(await log.append(0, [rec('d')]), { baseOffset: 3, count: 1 });
      assert.deepEqual(
        (await log.read(0, 3)).map((r) => r.value.toString()),
        ['d'],
      );
    } finally {
      await log.close();
    }
  });

  test('jetstream retention - maxBytes keeps a partition within its bytes; a record above it is too large', async () => {
    const streamPrefix = nextPrefix();
    const log = await openJetStreamLog({
      retentionPolicy: 'limits',
      servers: server!.url,
      partitions: 1,
      streamPrefix,
      maxBytes: 4096,
    });
    try {
      for (let i = 0; i < 40; i++) await log.append(0, [rec('x'.repeat(200))]);
      const info = await log.partitionInfo(0);
      assert.ok(info.bytes <= 4096, `${info.bytes} bytes`);
      assert.ok(info.offsetStart > 0 && info.offsetEnd === 40, JSON.stringify(info));
      await assert.rejects(log.append(0, [rec('y'.repeat(5000))]), { code: 'SHOCK_LOG_RECORD_TOO_LARGE' });
    } finally {
      await log.close();
    }
  });
});
