/**
 * The cell's sink choice in the configuration: `sink.engine` defaults to sqlite; `postgres` needs a URL and a schema
 * that is an identifier; the commented PostgreSQL block of the example, uncommented, is valid; what the cell
 * describes never shows a password.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { buildCellConfig, loadCellConfig } from '../../../src/cell/config.js';
import { cellSinkChoice } from '../../../src/cell/consumers.js';
import { exampleConfigYaml } from '../../../src/cell/example-config.js';
import { describeSink } from '../../../src/consume/index.js';

test('cell config postgres - the default engine is sqlite on <dataDir>/sink.sqlite', () => {
  const config = loadCellConfig(undefined, { dataDir: '/tmp/x-data' });
  assert.deepEqual(config.sink, { engine: 'sqlite', postgres: { url: '', schema: 'shock', poolMax: 2 } });
  assert.deepEqual(cellSinkChoice(config), { engine: 'sqlite', path: '/tmp/x-data/sink.sqlite' });
});

test('cell config postgres - the example block, uncommented, selects PostgreSQL', () => {
  const yaml = exampleConfigYaml
    .replace('  engine: sqlite ', '  engine: postgres ')
    .replace('  # postgres:', '  postgres:')
    .replace(/^ {2}# {3}(url|schema|poolMax):/gm, '    $1:');
  const config = buildCellConfig({ file: 'example.yaml', raw: parseYaml(yaml) });
  assert.deepEqual(cellSinkChoice(config), {
    engine: 'postgres',
    url: 'postgres://shock@127.0.0.1:5432/shock',
    schema: 'shock',
    poolMax: 2,
  });
});

test('cell config postgres - a missing URL, a bad schema, a bad pool and an unknown key are reported together', () => {
  assert.throws(
    () =>
      buildCellConfig({
        raw: { sink: { engine: 'postgres', postgres: { schema: 'Bad-Name', poolMax: 0, database: 'x' } } },
      }),
    (err: { code?: string; message: string }) => {
      assert.equal(err.code, 'SHOCK_CONFIG_INVALID');
      assert.match(err.message, /\/sink\/postgres\/schema/);
      assert.match(err.message, /\/sink\/postgres\/poolMax/);
      assert.match(err.message, /unknown key "database"/);
      return true;
    },
  );
  assert.throws(() => buildCellConfig({ raw: { sink: { engine: 'postgres' } } }), /\/sink\/postgres\/url/);
  assert.throws(() => buildCellConfig({ raw: { sink: { engine: 'mysql' } } }), /\/sink\/engine: must be one of/);
});

test('cell config postgres - the sink is described without its password', () => {
  const config = buildCellConfig({
    raw: {
      sink: { engine: 'postgres', postgres: { url: 'postgres://u:s3cret@db.example:6543/events', schema: 'ev' } },
    },
  });
  const described = describeSink(cellSinkChoice(config));
  assert.equal(described, 'postgres db.example:6543/events schema ev');
  assert.ok(!described.includes('s3cret'));
});
