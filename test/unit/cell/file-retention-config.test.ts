/**
 * Retention in the cell's configuration (`log.retention`: policy, maxAge, maxBytes, diskFreeBytesMin, in the
 * JetStream keys' words): interest policy, unlimited, and a 256 MiB disk floor by default; the commented example
 * block is valid; bad values are reported with their path and a valid example; it maps onto the file log's
 * retentionPolicy / retentionMs / retentionBytesMax / diskFreeBytesMin; maxAge/maxBytes are refused with the
 * JetStream engine (which has its own keys), whose maxMsgs limits need the limits policy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { buildCellConfig, loadCellConfig } from '../../../src/cell/config.js';
import { exampleConfigYaml } from '../../../src/cell/example-config.js';
import { fileRetentionOptions } from '../../../src/log/index.js';

test('cell config file retention - interest policy, unlimited, a 256 MiB disk floor by default', () => {
  const config = loadCellConfig(undefined, { dataDir: '/tmp/x-data' });
  assert.deepEqual(config.log.retention, { policy: 'interest', diskFreeBytesMin: 256 * 1024 * 1024 });
  assert.ok(Object.isFrozen(config.log.retention));
  assert.deepEqual(fileRetentionOptions(config.log.retention), {
    retentionPolicy: 'interest',
    diskFreeBytesMin: 256 * 1024 * 1024,
  });
});

test('cell config file retention - policy limits and no disk floor, by choice', () => {
  const config = buildCellConfig({
    file: 'x.yaml',
    raw: { log: { retention: { policy: 'limits', maxBytes: 4096, diskFreeBytesMin: 0 } } },
  });
  assert.deepEqual(fileRetentionOptions(config.log.retention), { retentionPolicy: 'limits', retentionBytesMax: 4096 });
  assert.throws(
    () =>
      buildCellConfig({ file: 'x.yaml', raw: { log: { retention: { policy: 'workqueue', diskFreeBytesMin: -1 } } } }),
    (err: { message: string }) => {
      assert.match(err.message, /\/log\/retention\/policy: must be "interest" .* or "limits" .* got "workqueue"/);
      assert.match(err.message, /\/log\/retention\/diskFreeBytesMin: must be a whole number of bytes >= 0/);
      return true;
    },
  );
});

test('cell config file retention - the example block, uncommented, is valid and maps onto the file log options', () => {
  const yaml = exampleConfigYaml.replace('  # retention: {', '  retention: {');
  assert.notEqual(yaml, exampleConfigYaml);
  const config = buildCellConfig({ file: 'example.yaml', raw: parseYaml(yaml) });
  assert.equal(config.log.engine, 'file');
  assert.deepEqual(config.log.retention, {
    policy: 'interest',
    maxAge: '7d',
    maxBytes: 10737418240,
    diskFreeBytesMin: 256 * 1024 * 1024,
  });
  assert.deepEqual(fileRetentionOptions(config.log.retention), {
    retentionPolicy: 'interest',
    retentionMs: 7 * 86_400_000,
    retentionBytesMax: 10737418240,
    diskFreeBytesMin: 256 * 1024 * 1024,
  });
});

test('cell config file retention - "0" and -1 mean unlimited, as with the JetStream keys', () => {
  const raw = (retention: object) => ({ log: { retention: { diskFreeBytesMin: 0, ...retention } } });
  const config = buildCellConfig({ file: 'x.yaml', raw: raw({ maxAge: '0', maxBytes: -1 }) });
  assert.deepEqual(fileRetentionOptions(config.log.retention), { retentionPolicy: 'interest' });
  const short = buildCellConfig({ file: 'x.yaml', raw: raw({ maxAge: '2s' }) });
  assert.deepEqual(fileRetentionOptions(short.log.retention), { retentionPolicy: 'interest', retentionMs: 2000 });
});

test('cell config file retention - bad values are reported with their path and a valid example', () => {
  assert.throws(
    () =>
      buildCellConfig({
        file: 'x.yaml',
        raw: { log: { retention: { maxAge: '3 days', maxBytes: 0 } } },
      }),
    (err: { code: string; message: string }) => {
      assert.equal(err.code, 'SHOCK_CONFIG_INVALID');
      assert.match(err.message, /has 2 problem\(s\)/);
      assert.match(
        err.message,
        /\/log\/retention\/maxAge: must be a duration of at least 1s such as "90s".*e\.g\. maxAge: 7d/,
      );
      assert.match(
        err.message,
        /\/log\/retention\/maxBytes: must be a whole number of bytes per partition >= 1, or -1 for unlimited, got 0; e\.g\. maxBytes: 10737418240/,
      );
      return true;
    },
  );
  assert.throws(
    () => buildCellConfig({ file: 'x.yaml', raw: { log: { retention: { maxAge: '500ms', maxBytes: 1.5 } } } }),
    (err: { message: string }) => {
      assert.match(err.message, /\/log\/retention\/maxAge: must be a duration of at least 1s/);
      assert.match(err.message, /\/log\/retention\/maxBytes: .* got 1\.5/);
      return true;
    },
  );
  assert.throws(
    () => buildCellConfig({ file: 'x.yaml', raw: { log: { retention: { maxAgeMs: 5 } } } }),
    /\/log\/retention: unknown key "maxAgeMs"/,
  );
  assert.throws(
    () => buildCellConfig({ file: 'x.yaml', raw: { log: { retention: { maxAge: true } } } }),
    /\/log\/retention\/maxAge: must be string,number/,
  );
});

test('cell config file retention - maxAge/maxBytes refused with the jetstream engine, pointing at its own keys', () => {
  const jetstream = { servers: ['nats://h:4222'] };
  assert.throws(
    () =>
      buildCellConfig({
        file: 'x.yaml',
        raw: { log: { engine: 'jetstream', jetstream, retention: { maxAge: '7d' } } },
      }),
    /\/log\/retention: maxAge and maxBytes apply to the file engine; with engine jetstream set log\.jetstream\.maxAge \/ maxBytes/,
  );
  // The policy applies to both engines; maxMsgs would remove unconsumed events, so it needs the limits policy.
  const limits = buildCellConfig({
    file: 'x.yaml',
    raw: { log: { engine: 'jetstream', jetstream: { ...jetstream, maxMsgs: 10 }, retention: { policy: 'limits' } } },
  });
  assert.equal(limits.log.retention.policy, 'limits');
  assert.throws(
    () =>
      buildCellConfig({
        file: 'x.yaml',
        raw: { log: { engine: 'jetstream', jetstream: { ...jetstream, maxMsgs: 10 } } },
      }),
    /\/log\/jetstream\/maxMsgs: removes records whoever is behind, so it needs log\.retention\.policy: limits/,
  );
});
