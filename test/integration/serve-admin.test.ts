/**
 * The admin listener of a running `shock serve`: tenants (list, add, disable/enable), quotas, schema reload and
 * consumer pause/resume, each checked by its effect on the public listener.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/cli.js';
import {
  adminCall,
  fetchMetrics,
  fetchStats,
  postEvent,
  startServe,
  testKeys,
  waitUntil,
  writeConfig,
  type ServeProcess,
} from '../helpers/cell-serve.js';

const temp = tempDir('shock-serve-admin-');
let serve: ServeProcess;
let configFile: string;
/** The key the admin API gave the tenant it added (used again after a restart). */
let newcoKey = '';
const baseConfig = {
  tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 100_000, burst: 100_000 }],
  log: { partitions: 2 },
  consumers: { workers: 1 },
  schemas: { 'page.view': { type: 'object', required: ['url'] } },
};

before(async () => {
  configFile = writeConfig(temp.dir, baseConfig);
  serve = await startServe(`${temp.dir}/data`, ['--config', configFile]);
});

after(async () => {
  await serve?.stop('SIGTERM');
  temp.cleanup();
});

function admin(path: string, method: 'GET' | 'POST' | 'PUT' = 'GET', body?: unknown) {
  return adminCall(serve, path, method, body);
}

test('serve admin - listens on loopback and lists the configured tenants', async () => {
  assert.match(serve.adminUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  const list = await admin('/admin/tenants');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.tenants, [
    { id: 'acme', ratePerSec: 100_000, burst: 100_000, disabled: false, keyCount: 1 },
  ]);
  const missing = await admin('/admin/nope');
  assert.equal(missing.status, 404);
});

test('serve admin - an added tenant gets a key once, which writes at once; disable gives 403, enable restores', async () => {
  const added = await admin('/admin/tenants', 'POST', { id: 'newco', ratePerSec: 500, burst: 500 });
  assert.equal(added.status, 201);
  assert.equal(added.body.tenant.id, 'newco');
  const key = added.body.key as string;
  newcoKey = key;
  assert.match(key, /^shock_/);
  assert.equal((await postEvent(serve.url, key, { type: 'page.view', payload: { url: '/' } })).status, 202);

  const again = await admin('/admin/tenants', 'POST', { id: 'newco' });
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, 'SHOCK_CELL_TENANT_EXISTS');
  const bad = await admin('/admin/tenants', 'POST', { id: 'x y', ratePerSec: -1 });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'SHOCK_CELL_ADMIN_INVALID');

  assert.equal((await admin('/admin/tenants/newco/disable', 'POST')).body.tenant.disabled, true);
  const forbidden = await postEvent(serve.url, key, { type: 'page.view', payload: { url: '/' } });
  assert.equal(forbidden.status, 403);
  assert.equal((await admin('/admin/tenants/newco/enable', 'POST')).body.tenant.disabled, false);
  assert.equal((await postEvent(serve.url, key, { type: 'page.view', payload: { url: '/' } })).status, 202);
  assert.equal((await admin('/admin/tenants/ghost/disable', 'POST')).status, 404);
});

test('serve admin - a quota change takes effect on the next request', async () => {
  const set = await admin('/admin/tenants/acme/quota', 'PUT', { ratePerSec: 0.01, burst: 1 });
  assert.equal(set.status, 200);
  assert.deepEqual([set.body.tenant.ratePerSec, set.body.tenant.burst], [0.01, 1]);
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    statuses.push((await postEvent(serve.url, testKeys.acme.key, { type: 'page.view', payload: { url: '/' } })).status);
  }
  assert.deepEqual(statuses, [202, 429, 429]);
  await admin('/admin/tenants/acme/quota', 'PUT', { ratePerSec: 100_000, burst: 100_000 });
  assert.equal(
    (await postEvent(serve.url, testKeys.acme.key, { type: 'page.view', payload: { url: '/' } })).status,
    202,
  );
});

test('serve admin - schemas reload re-reads the file and recompiles the validators', async () => {
  const before = await postEvent(serve.url, testKeys.acme.key, { type: 'signup', payload: { email: 'a@b.c' } });
  assert.equal(before.status, 400);
  assert.equal(before.body.error.code, 'SHOCK_INGRESS_UNKNOWN_TYPE');
  writeConfig(temp.dir, {
    ...baseConfig,
    schemas: { ...baseConfig.schemas, signup: { type: 'object', required: ['email'] } },
  });
  const reload = await admin('/admin/schemas/reload', 'POST');
  assert.equal(reload.status, 200);
  assert.deepEqual(reload.body.types, ['page.view', 'signup']);
  assert.equal(
    (await postEvent(serve.url, testKeys.acme.key, { type: 'signup', payload: { email: 'a@b.c' } })).status,
    202,
  );

  writeConfig(temp.dir, { ...baseConfig, schemas: { broken: { type: 'nonsense' } } });
  const refused = await admin('/admin/schemas/reload', 'POST');
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error.code, 'SHOCK_CELL_ADMIN_INVALID');
  assert.match(refused.body.error.message, /\/schemas\/broken/);
  assert.equal(
    (await postEvent(serve.url, testKeys.acme.key, { type: 'signup', payload: { email: 'a@b.c' } })).status,
    202,
    'a refused reload changes nothing',
  );
  writeConfig(temp.dir, baseConfig);
});

test('serve admin - paused consumers let lag build; resumed consumers drain it to zero', async () => {
  const stats = async () => await fetchStats(serve);
  // Caught up, in a sample taken after the last append (the sampler runs once a second).
  await waitUntil(async () => {
    const s = await stats();
    const inLog = s.consumers.partitions.reduce((sum: number, p: { offsetEnd: number }) => sum + p.offsetEnd, 0);
    return inLog === s.ingress.acceptedTotal && s.consumers.lagEvents === 0;
  });
  assert.equal((await admin('/admin/consumers/pause', 'POST')).body.consumers, 'paused');
  for (let i = 0; i < 20; i++) {
    assert.equal(
      (await postEvent(serve.url, testKeys.acme.key, { type: 'page.view', payload: { url: `/${i}` } })).status,
      202,
    );
  }
  // The pause reaches the worker thread asynchronously and a batch in flight still completes, so a few of the 20
  // may be consumed; after that the lag holds still while paused.
  let settled = -1;
  await waitUntil(async () => {
    const before = (await stats()).consumers.lagEvents;
    await new Promise((r) => setTimeout(r, 1500));
    const after = (await stats()).consumers.lagEvents;
    settled = after;
    return after > 0 && after === before;
  }, 30_000);
  assert.ok(settled > 0 && settled <= 20, `lag while paused: ${settled}`);
  const paused = await stats();
  assert.equal(paused.consumers.paused, true);
  assert.ok(paused.consumers.lagSecondsMax > 0, 'lag in seconds grows while paused');
  const metrics = await fetchMetrics(serve);
  const lagSum = [...metrics.matchAll(/^shock_consumer_lag\{group="sink",partition="\d+"\} (\d+)$/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
  assert.equal(lagSum, settled, 'the lag gauges add up to the events waiting');

  assert.equal((await admin('/admin/consumers/resume', 'POST')).body.consumers, 'running');
  await waitUntil(async () => (await stats()).consumers.lagEvents === 0);
  assert.equal((await stats()).consumers.paused, false);
});

test('serve admin - tenant changes made through admin survive a restart (tenants.admin.json)', async () => {
  assert.equal((await admin('/admin/tenants/acme/quota', 'PUT', { ratePerSec: 777, burst: 888 })).status, 200);
  assert.equal((await admin('/admin/tenants/newco/disable', 'POST')).status, 200);
  const beforeRestart = (await admin('/admin/tenants')).body.tenants;
  assert.deepEqual(
    beforeRestart.map((t: { id: string }) => t.id),
    ['acme', 'newco'],
  );
  assert.equal((await serve.stop('SIGTERM')).code, 0);
  serve = await startServe(`${temp.dir}/data`, ['--config', configFile]);
  assert.deepEqual((await admin('/admin/tenants')).body.tenants, beforeRestart);
  // The added tenant's key is still known (403: disabled, not 401: unknown), and enabling it lets it write.
  assert.equal((await postEvent(serve.url, newcoKey, { type: 'page.view', payload: { url: '/' } })).status, 403);
  assert.equal((await admin('/admin/tenants/newco/enable', 'POST')).status, 200);
  assert.equal((await postEvent(serve.url, newcoKey, { type: 'page.view', payload: { url: '/' } })).status, 202);
  assert.deepEqual(serve.output().stdout.includes('tenantNotices'), true);
});
