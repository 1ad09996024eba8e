/**
 * The cell's configuration: the commented example is valid, unknown keys and bad values are all reported at once
 * with their paths, overrides win over the file, the result is frozen, and the `shock serve` helpers print the
 * example and key hashes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { buildCellConfig, cellConfigDefaults, hashApiKey, loadCellConfig } from '../../src/cell/config.js';
import { exampleConfigYaml } from '../../src/cell/example-config.js';
import { isShockError } from '../../src/base/index.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { writeConfig } from '../helpers/cell-serve.js';

test('cell config - the commented example validates and matches the defaults where it says so', () => {
  const config = buildCellConfig({ file: 'example.yaml', raw: parseYaml(exampleConfigYaml) });
  assert.equal(config.http.port, cellConfigDefaults.http.port);
  assert.equal(config.log.partitions, cellConfigDefaults.log.partitions);
  assert.equal(config.tenants.length, 2);
  assert.equal(config.tenants[0].keyHashes[0], hashApiKey('acme-secret-key'));
  assert.deepEqual(config.tenants[1].types, ['page.view']);
});

test('cell config - log.journal defaults to true, takes false, and rejects anything else with its path', () => {
  assert.equal(loadCellConfig(undefined, { dataDir: '/tmp/x' }).log.journal, true);
  assert.equal(buildCellConfig({ file: 'a.yaml', raw: { log: { journal: false } } }).log.journal, false);
  assert.throws(
    () => buildCellConfig({ file: 'a.yaml', raw: { log: { journal: 'yes' } } }),
    (err: unknown) => isShockError(err) && err.code === 'SHOCK_CONFIG_INVALID' && /\/log\/journal/.test(err.message),
  );
});

test('cell config - zero-config gives the defaults, resolved paths, and a frozen object', () => {
  const config = loadCellConfig(undefined, { dataDir: '/tmp/x-data' });
  assert.equal(config.dataDir, '/tmp/x-data');
  assert.equal(config.consumers.sinkPath, '/tmp/x-data/sink.sqlite');
  assert.equal(config.tenants.length, 0);
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.http));
  assert.ok(Object.isFrozen(config.schemas));
  assert.throws(() => {
    (config.http as { port: number }).port = 1;
  }, TypeError);
});

test('cell config - every problem is reported at once, with its path', () => {
  const raw = {
    http: { port: 70000, hots: 'x' },
    log: { partitons: 4 },
    tenants: [{ id: 'a', keyHashes: ['plain-text-key'] }],
    shedding: { mode: 'explode' },
    extra: true,
  };
  let caught: unknown;
  try {
    buildCellConfig({ file: 'bad.yaml', raw });
  } catch (err) {
    caught = err;
  }
  assert.ok(isShockError(caught));
  assert.equal(caught.code, 'SHOCK_CONFIG_INVALID');
  for (const expected of [
    '/http/port',
    '/http: unknown key "hots"',
    '/log: unknown key "partitons"',
    '/tenants/0/keyHashes/0',
    '--hash-key',
    '/shedding/mode: must be one of reject, delay',
    '/: unknown key "extra"',
  ]) {
    assert.ok(caught.message.includes(expected), `message names ${expected}:\n${caught.message}`);
  }
});

test('cell config - relations are checked: duplicate tenants, shared keys, limits, schemas, ports', () => {
  const hash = hashApiKey('shared-key-123');
  const raw = {
    http: { port: 9000 },
    admin: { port: 9000 },
    tenants: [
      { id: 'a', keyHashes: [hash] },
      { id: 'a', keyHashes: [] },
      { id: 'b', keyHashes: [hash] },
    ],
    limits: { eventBytesMax: 10, bodyBytesMax: 5 },
    schemas: { broken: { type: 'no-such-type' } },
  };
  assert.throws(
    () => buildCellConfig({ raw }),
    (err: unknown) => {
      assert.ok(isShockError(err));
      const m = err.message;
      assert.match(m, /tenant "a" appears twice/);
      assert.match(m, /shared with tenant "a"/);
      assert.match(m, /eventBytesMax must be <= bodyBytesMax/);
      assert.match(m, /\/schemas\/broken: not a valid JSON Schema/);
      assert.match(m, /admin listener needs its own port/);
      return true;
    },
  );
});

test('cell config - command-line overrides win over the file; relative paths follow the file', () => {
  const t = tempDir();
  try {
    const file = writeConfig(
      t.dir,
      'http:\n  port: 9100\nlog:\n  partitions: 3\nconsumers:\n  handler: ./h.js\n',
      'c.yaml',
    );
    const fromFile = loadCellConfig(file);
    assert.equal(fromFile.http.port, 9100);
    assert.equal(fromFile.log.partitions, 3);
    assert.equal(fromFile.consumers.handler, `${t.dir}/h.js`);
    const overridden = loadCellConfig(file, { port: 0, partitions: 5, host: '0.0.0.0' });
    assert.equal(overridden.http.port, 0);
    assert.equal(overridden.http.host, '0.0.0.0');
    assert.equal(overridden.log.partitions, 5);
  } finally {
    t.cleanup();
  }
});

test('cell config - a YAML syntax error names the file', () => {
  const t = tempDir();
  try {
    const file = writeConfig(t.dir, 'http: [unclosed\n', 'broken.yaml');
    assert.throws(
      () => loadCellConfig(file),
      (err: unknown) => isShockError(err) && err.code === 'SHOCK_CONFIG_INVALID' && err.message.includes(file),
    );
  } finally {
    t.cleanup();
  }
});

test('serve - --example-config prints the example, --hash-key prints sha256, a bad config exits 64 listing all problems', async () => {
  const example = await runCli(['serve', '--example-config']);
  assert.equal(example.code, 0);
  assert.equal(example.stdout.trim(), exampleConfigYaml.trim());

  const hashed = await runCli(['serve', '--hash-key', 'my-secret-key']);
  assert.equal(hashed.code, 0);
  assert.equal(hashed.stdout.trim(), 'sha256:' + createHash('sha256').update('my-secret-key').digest('hex'));
  const fromStdin = await runCli(['serve', '--hash-key', '-'], { input: 'my-secret-key\n' });
  assert.equal(fromStdin.stdout.trim(), hashed.stdout.trim());

  const t = tempDir();
  try {
    const file = writeConfig(t.dir, { http: { port: -1 }, log: { partitons: 2 } });
    const bad = await runCli(['serve', '--config', file, '--data-dir', t.dir]);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /SHOCK_CONFIG_INVALID/);
    assert.match(bad.stderr, /\/http\/port/);
    assert.match(bad.stderr, /unknown key "partitons"/);
  } finally {
    t.cleanup();
  }
});
