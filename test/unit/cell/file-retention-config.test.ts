/**
 * Retention of the file engine in the cell's configuration (`log.retention`: maxAge, maxBytes, in the JetStream
 * keys' words): unlimited by default, the commented example block is valid, bad values are reported with their path
 * and a valid example, it maps onto the file log's retentionMs / retentionBytesMax, and it is refused with the
 * JetStream engine (which has its own keys).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { buildCellConfig, loadCellConfig } from '../../../src/cell/config.js';
import { exampleConfigYaml } from '../../../src/cell/example-config.js';
import { fileRetentionOptions } from '../../../src/log/index.js';

test('cell config file retention - unlimited by default', () => {
  const config = loadCellConfig(undefined, { dataDir: '/tmp/x-data' });
  assert.deepEqual(config.log.retention, {});
  assert.ok(Object.isFrozen(config.log.retention));
  assert.deepEqual(fileRetentionOptions(config.log.retention), {});
});

test('cell config file retention - the example block, uncommented, is valid and maps onto the file log options', () => {
  const yaml = exampleConfigYaml.replace('  # retention: {', '  retention: {');
  assert.notEqual(yaml, exampleConfigYaml);
  const config = buildCellConfig({ file: 'example.yaml', raw: parseYaml(yaml) });
  assert.equal(config.log.engine, 'file');
  assert.deepEqual(config.log.retention, { maxAge: '7d', maxBytes: 10737418240 });
  assert.deepEqual(fileRetentionOptions(config.log.retention), {
    retentionMs: 7 * 86_400_000,
    retentionBytesMax: 10737418240,
  });
});

test('cell config file retention - "0" and -1 mean unlimited, as with the JetStream keys', () => {
  const config = buildCellConfig({ file: 'x.yaml', raw: { log: { retention: { maxAge: '0', maxBytes: -1 } } } });
  assert.deepEqual(fileRetentionOptions(config.log.retention), {});
  const short = buildCellConfig({ file: 'x.yaml', raw: { log: { retention: { maxAge: '2s' } } } });
  assert.deepEqual(fileRetentionOptions(short.log.retention), { retentionMs: 2000 });
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

test('cell config file retention - refused with the jetstream engine, pointing at its own keys', () => {
  assert.throws(
    () =>
      buildCellConfig({
        file: 'x.yaml',
        raw: { log: { engine: 'jetstream', jetstream: { servers: ['nats://h:4222'] }, retention: { maxAge: '7d' } } },
      }),
    /\/log\/retention: applies to the file engine; with engine jetstream set log\.jetstream\.maxAge \/ maxBytes/,
  );
});
