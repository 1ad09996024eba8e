/**
 * Batch workers in the cell's configuration (`batchWorkers`: workers, bytesMin): absent means the gateway's default,
 * the example block is valid and reaches the gateway's resolved configuration, bad values name their path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { buildCellConfig, loadCellConfig } from '../../../src/cell/config.js';
import { exampleConfigYaml } from '../../../src/cell/example-config.js';
import { batchWorkerDefaults, resolveGatewayConfig } from '../../../src/ingress/config.js';

test('cell config batch workers - absent means the gateway default', () => {
  const config = loadCellConfig(undefined, { dataDir: '/tmp/x-data' });
  assert.deepEqual(config.batchWorkers, {});
  const gateway = resolveGatewayConfig({ tenants: [], schemas: {}, batchWorkers: config.batchWorkers });
  assert.deepEqual(gateway.batchWorkers, batchWorkerDefaults());
});

test('cell config batch workers - the example block is valid and reaches the gateway', () => {
  const config = buildCellConfig({ file: 'example.yaml', raw: parseYaml(exampleConfigYaml) });
  assert.deepEqual(config.batchWorkers, { workers: 1, bytesMin: 16384 });
  const off = buildCellConfig({ file: 'x.yaml', raw: { batchWorkers: { workers: 0 } } });
  const gateway = resolveGatewayConfig({ tenants: [], schemas: {}, batchWorkers: off.batchWorkers });
  assert.deepEqual(gateway.batchWorkers, { workers: 0, bytesMin: 16384 });
});

test('cell config batch workers - bad values are reported with their path', () => {
  assert.throws(
    () => buildCellConfig({ file: 'x.yaml', raw: { batchWorkers: { workers: -1, bytesMin: 1.5, threads: 2 } } }),
    (err: { code: string; message: string }) => {
      assert.equal(err.code, 'SHOCK_CONFIG_INVALID');
      assert.match(err.message, /batchWorkers\/workers/);
      assert.match(err.message, /batchWorkers\/bytesMin/);
      assert.match(err.message, /threads/);
      return true;
    },
  );
});
