/**
 * The cell's log engine in the configuration: `log.engine` defaults to the file log; `jetstream` needs NATS URLs,
 * rejects unknown keys and bad values with their paths; the commented JetStream block of the example, uncommented,
 * is valid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { buildCellConfig, loadCellConfig } from '../../../src/cell/config.js';
import { exampleConfigYaml } from '../../../src/cell/example-config.js';

test('cell config jetstream - the default engine is the file log', () => {
  const config = loadCellConfig(undefined, { dataDir: '/tmp/x-data' });
  assert.equal(config.log.engine, 'file');
  assert.deepEqual(config.log.jetstream, { servers: [], streamPrefix: 'shock', replicas: 1 });
  assert.ok(Object.isFrozen(config.log.jetstream.servers));
});

test('cell config jetstream - servers are required, and every bad key is reported with its path', () => {
  assert.throws(
    () => buildCellConfig({ file: 'x.yaml', raw: { log: { engine: 'jetstream' } } }),
    (err: { code: string; message: string }) => {
      assert.equal(err.code, 'SHOCK_CONFIG_INVALID');
      assert.match(err.message, /\/log\/jetstream\/servers: the jetstream log needs NATS URLs/);
      return true;
    },
  );
  assert.throws(
    () =>
      buildCellConfig({
        file: 'x.yaml',
        raw: {
          log: { engine: 'kafka', jetstream: { servers: ['nats://h:4222'], streamPrefix: 'a.b', replicas: 9, x: 1 } },
        },
      }),
    (err: { code: string; message: string }) => {
      assert.equal(err.code, 'SHOCK_CONFIG_INVALID');
      for (const path of ['/log/engine', '/log/jetstream/streamPrefix', '/log/jetstream/replicas', '/log/jetstream']) {
        assert.ok(err.message.includes(`${path}:`), `${path} in ${err.message}`);
      }
      return true;
    },
  );
});

test('cell config jetstream - the example block, uncommented, is valid', () => {
  const yaml = exampleConfigYaml
    .replace('engine: file ', 'engine: jetstream ')
    .replace('  # jetstream:', '  jetstream:')
    .replace(/^ {2}# {3}(servers|streamPrefix|replicas|maxAge|maxBytes|maxMsgs|maxMsgsPerSubject):/gm, '    $1:');
  const config = buildCellConfig({ file: 'example.yaml', raw: parseYaml(yaml) });
  assert.equal(config.log.engine, 'jetstream');
  assert.deepEqual(config.log.jetstream, {
    servers: ['nats://127.0.0.1:4222'],
    streamPrefix: 'shock',
    replicas: 1,
    maxAge: '7d',
    maxBytes: 10737418240,
    maxMsgs: -1,
    maxMsgsPerSubject: -1,
  });
});

test('cell config jetstream - retention limits are checked with their path and what a valid value looks like', () => {
  const ok = buildCellConfig({
    file: 'x.yaml',
    raw: {
      log: {
        engine: 'jetstream',
        jetstream: {
          servers: ['nats://h:4222'],
          maxAge: '24h',
          maxBytes: 1_000_000,
          maxMsgs: 10,
          maxMsgsPerSubject: -1,
        },
        // maxMsgs removes events whoever is behind: only under the limits policy.
        retention: { policy: 'limits' },
      },
    },
  });
  assert.equal(ok.log.jetstream.maxAge, '24h');
  assert.equal(ok.log.jetstream.maxBytes, 1_000_000);
  assert.throws(
    () =>
      buildCellConfig({
        file: 'x.yaml',
        raw: {
          log: {
            engine: 'jetstream',
            jetstream: {
              servers: ['nats://h:4222'],
              maxAge: '3 days',
              maxBytes: 0,
              maxMsgs: -5,
              maxMsgsPerSubject: 2.5,
            },
          },
        },
      }),
    (err: { code: string; message: string }) => {
      assert.equal(err.code, 'SHOCK_CONFIG_INVALID');
      assert.match(err.message, /\/log\/jetstream\/maxAge: must be a duration such as "90s", "30m", "24h", "7d"/);
      assert.match(err.message, /\/log\/jetstream\/maxBytes: must be a whole number >= 1, or -1 for unlimited, got 0/);
      assert.match(err.message, /\/log\/jetstream\/maxMsgs: must be a whole number >= 1, or -1 for unlimited, got -5/);
      assert.match(
        err.message,
        /\/log\/jetstream\/maxMsgsPerSubject: must be a whole number >= 1, or -1 for unlimited, got 2.5/,
      );
      return true;
    },
  );
  // Shorter than the 1-second window in which the streams remember message ids.
  assert.throws(
    () =>
      buildCellConfig({
        file: 'x.yaml',
        raw: { log: { engine: 'jetstream', jetstream: { servers: ['nats://h:4222'], maxAge: '500ms' } } },
      }),
    /\/log\/jetstream\/maxAge: must be at least 1s/,
  );
});
