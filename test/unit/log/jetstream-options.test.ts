/**
 * The JetStream log's option validation and its one error translation (no server needed: nats.js error values as
 * the client raises them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NatsError } from 'nats';
import { translateNatsError } from '../../../src/log/jetstream/errors.js';
import { parseDurationMs, resolveJetStreamOptions } from '../../../src/log/jetstream/options.js';

test('jetstream options - defaults fill in, the result is frozen', () => {
  const o = resolveJetStreamOptions({ servers: 'nats://127.0.0.1:4222', partitions: 4 });
  assert.deepEqual(o.servers, ['nats://127.0.0.1:4222']);
  assert.equal(o.streamPrefix, 'shock');
  assert.equal(o.replicas, 1);
  assert.equal(o.requestTimeoutMs, 5000);
  assert.ok(Object.isFrozen(o));
});

test('jetstream options - every problem is reported at once', () => {
  assert.throws(
    () =>
      resolveJetStreamOptions({
        servers: [],
        partitions: 0,
        streamPrefix: 'a.b',
        replicas: 7,
        requestTimeoutMs: -1,
      }),
    (err: { code: string; details: { problems: string[] } }) => {
      assert.equal(err.code, 'SHOCK_CONFIG_INVALID');
      assert.equal(err.details.problems.length, 5);
      return true;
    },
  );
});

test('jetstream options - retention: durations with units, -1 as unlimited, every problem named', () => {
  const o = resolveJetStreamOptions({
    servers: 'nats://h:4222',
    partitions: 1,
    retentionPolicy: 'limits',
    maxAge: '2h',
    maxMsgs: 100,
  });
  assert.equal(o.maxAgeMs, 7_200_000);
  assert.equal(o.maxMsgs, 100);
  assert.equal(o.maxBytes, -1);
  assert.equal(o.maxMsgsPerSubject, -1);
  assert.equal(resolveJetStreamOptions({ servers: 'nats://h:4222', partitions: 1 }).maxAgeMs, 0);
  assert.equal(parseDurationMs('90s'), 90_000);
  assert.equal(parseDurationMs('1w'), 604_800_000);
  assert.equal(parseDurationMs('0'), 0);
  assert.equal(parseDurationMs('10'), undefined);
  assert.equal(parseDurationMs('1.5h'), undefined);
  assert.throws(
    () => resolveJetStreamOptions({ servers: 'nats://h:4222', partitions: 1, maxAge: 'soon', maxBytes: 0 }),
    (err: { code: string; details: { problems: string[] } }) => {
      assert.equal(err.code, 'SHOCK_CONFIG_INVALID');
      assert.equal(err.details.problems.length, 2);
      assert.match(err.details.problems[0], /^maxAge must be a duration/);
      assert.match(err.details.problems[1], /^maxBytes must be a whole number >= 1, or -1/);
      return true;
    },
  );
});

test('jetstream errors - timeouts and lost connections are SHOCK_LOG_IO, with the nats error as cause', () => {
  for (const code of ['TIMEOUT', 'CONNECTION_CLOSED', '503', 'DISCONNECT']) {
    const cause = NatsError.errorForCode(code);
    const err = translateNatsError(cause, 'append to partition 0', { partition: 0 });
    assert.equal(err.code, 'SHOCK_LOG_IO');
    assert.equal(err.retriable, true);
    assert.equal(err.cause, cause);
    assert.equal(err.details.partition, 0);
  }
});

test('jetstream errors - a wrong last sequence or msg id is SHOCK_LOG_APPEND_CONFLICT; max_payload is too large', () => {
  for (const errCode of [10071, 10070]) {
    const cause = new NatsError('wrong last sequence: 3', '400');
    cause.api_error = { code: 400, err_code: errCode, description: 'wrong last sequence: 3' };
    assert.equal(translateNatsError(cause, 'append', {}).code, 'SHOCK_LOG_APPEND_CONFLICT');
  }
  const big = NatsError.errorForCode('MAX_PAYLOAD_EXCEEDED');
  assert.equal(translateNatsError(big, 'append', {}).code, 'SHOCK_LOG_RECORD_TOO_LARGE');
});
