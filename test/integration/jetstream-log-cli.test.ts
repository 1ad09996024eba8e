/**
 * `shock log inspect` and `shock log read` on a JetStream log (TARGET a NATS URL) against a real nats-server:
 * streams, offsets, messages, bytes and retention limits per partition; committed offsets and lag per group, with
 * what retention removed before a group consumed it; records as text and NDJSON; --verify; and clear errors for a
 * prefix with no log, a removed offset, and a server that is not there. Nothing is created on the server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'nats';
import { openJetStreamLog } from '../../src/log/index.js';
import { runCli } from '../helpers/cli.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../helpers/nats.js';

const skip = natsSkipReason();
let server: NatsServer | undefined;

describe('jetstream log cli', { skip }, () => {
  before(async () => {
    server = await startNatsServer();
    const log = await openJetStreamLog({
      servers: server.url,
      partitions: 2,
      streamPrefix: 'clitest',
      retentionPolicy: 'limits',
      maxMsgsPerSubject: 8,
      maxAge: '24h',
    });
    try {
      for (let i = 0; i < 12; i++) {
        await log.append(1, [
          { key: Buffer.from(`k${i}`), value: Buffer.from(`{"n":${i}}`), timestampMs: 1_700_000_000_000 + i },
        ]);
      }
      await log.append(0, [{ key: Buffer.alloc(0), value: Buffer.from([0xff, 0xfe, 0x00]), timestampMs: 5 }]);
      await log.offsets.commit('billing', 1, 2); // then retention removed offsets 0..3 of partition 1
      await log.offsets.commit('billing', 0, 0);
      await log.offsets.commit('audit', 1, 10);
    } finally {
      await log.close();
    }
  });
  after(async () => {
    await server?.cleanup();
  });

  test('jetstream log cli - inspect: streams, offsets, retention, lag per group, behind retention', async () => {
    const text = await runCli(['log', 'inspect', server!.url, '--stream-prefix', 'clitest']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /partition 1: stream clitest_1 {2}offsets \[4, 12\) {2}8 messages {2}\d+ bytes {2}retention: max_age 1d max_msgs_per_subject 8/,
    );
    assert.match(text.stdout, /partition 0: stream clitest_0 {2}offsets \[0, 1\) {2}1 messages/);
    assert.match(text.stdout, /group audit: lag 2/);
    assert.match(text.stdout, /group billing: lag 9/);
    assert.match(
      text.stdout,
      /partition 1: committed 2 {2}lag 8 {2}\(behind retention: 2 record\(s\) removed before they were consumed/,
    );

    const json = await runCli(['log', 'inspect', server!.url, '--stream-prefix', 'clitest', '--verify', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.equal(report.engine, 'jetstream');
    assert.equal(report.partitions, 2);
    assert.equal(report.recordsVerified, 9);
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.partitionReports[1].limits, {
      maxAgeMs: 86_400_000,
      maxBytes: -1,
      maxMsgs: -1,
      maxMsgsPerSubject: 8,
    });
    const billing = report.groups.find((g: { group: string }) => g.group === 'billing');
    assert.deepEqual(billing.partitions[1], {
      partition: 1,
      committed: 2,
      lag: 8,
      behindRetention: true,
      removedBeforeConsumed: 2,
    });
  });

  test('jetstream log cli - read prints records as text and NDJSON; a removed offset is a clear error', async () => {
    const r = await runCli([
      'log',
      'read',
      server!.url,
      '--stream-prefix',
      'clitest',
      '--partition',
      '1',
      '--from',
      '5',
      '--limit',
      '3',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => l.offset),
      [5, 6, 7],
    );
    assert.deepEqual(lines[0], {
      partition: 1,
      offset: 5,
      // Not an event (a raw record of this test): no identity to show.
      tenant: null,
      eventId: null,
      timestampMs: 1_700_000_000_005,
      key: 'k5',
      keyEncoding: 'utf8',
      value: '{"n":5}',
      valueEncoding: 'utf8',
    });
    // Default: from the oldest retained record; binary values as base64.
    const all = await runCli(['log', 'read', server!.url, '--stream-prefix', 'clitest', '--partition', '0']);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, `0\t1970-01-01T00:00:00.005Z\tkey=""\tbase64://4A\n`);
    const oldest = await runCli(['log', 'read', server!.url, '--stream-prefix', 'clitest', '-p', '1', '-n', '1']);
    assert.match(oldest.stdout, /^4\t/);

    const removed = await runCli(['log', 'read', server!.url, '--stream-prefix', 'clitest', '-p', '1', '--from', '1']);
    assert.notEqual(removed.code, 0);
    assert.match(removed.stderr, /SHOCK_LOG_OFFSET_OUT_OF_RANGE/);
    assert.match(removed.stderr, /offsetStart: 4/);
    const bad = await runCli(['log', 'read', server!.url, '--stream-prefix', 'clitest', '-p', '7']);
    assert.match(bad.stderr, /SHOCK_LOG_BAD_PARTITION/);
  });

  test('jetstream log cli - an unknown prefix or an absent server is a clear error, and nothing is created', async () => {
    const none = await runCli(['log', 'inspect', server!.url, '--stream-prefix', 'nosuch', '--json']);
    assert.equal(none.code, 66, none.stderr);
    const err = JSON.parse(none.stderr).error;
    assert.equal(err.code, 'SHOCK_CLI_INPUT_UNREADABLE');
    assert.match(err.details.hint, /--stream-prefix/);
    const nc = await connect({ servers: server!.url });
    try {
      const jsm = await nc.jetstreamManager();
      const names: string[] = [];
      for await (const s of jsm.streams.list()) names.push(s.config.name);
      assert.deepEqual(names.sort(), ['KV_clitest_offsets', 'clitest_0', 'clitest_1']);
      // The reader's ephemeral consumers went away with it.
      assert.equal((await jsm.streams.info('clitest_1')).state.consumer_count, 0);
    } finally {
      await nc.close();
    }

    const down = await runCli(['log', 'inspect', 'nats://127.0.0.1:1', '--json'], { timeoutMs: 30_000 });
    assert.notEqual(down.code, 0);
    assert.equal(JSON.parse(down.stderr).error.code, 'SHOCK_LOG_IO');
  });

  test('jetstream log cli - help names both kinds of target', async () => {
    const help = await runCli(['log', 'inspect', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /NATS URL/);
    assert.match(help.stdout, /--stream-prefix <prefix>/);
    const readHelp = await runCli(['log', 'read', '--help']);
    assert.match(readHelp.stdout, /--stream-prefix <prefix>/);
  });
});
