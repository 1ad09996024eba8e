/**
 * Who may use a cell's admin listener, and where its observability pages are (docs/cell.md, "Admin access"), on a
 * real `shock serve`: the admin API wants the token kept in DATA_DIR/admin-token (0600) — a cross-site `text/plain`
 * POST, which a web page can send without a preflight, changes nothing (401 without the token, 415 with it); a Host
 * that is not the listener's own or a loopback name is refused (421) on every route, GETs included (DNS
 * rebinding); `/metrics`, `/v1/stats` and the dashboard are on the admin listener, readable there without the
 * token, and absent from the public listener unless `http.observabilityPublic: true`. `shock dlq` reads the token
 * from `--data-dir`, `--admin-token` or `SHOCK_ADMIN_TOKEN`, and says what to do without one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/cli.js';
import {
  adminCall,
  fetchMetrics,
  fetchStats,
  request,
  startServe,
  testKeys,
  writeConfig,
  type ServeProcess,
} from '../helpers/cell-serve.js';

const temp = tempDir('shock-admin-access-');
let serve: ServeProcess;

before(async () => {
  const config = writeConfig(temp.dir, { tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash] }] });
  serve = await startServe(join(temp.dir, 'data'), ['--config', config]);
});

after(async () => {
  await serve?.stop('SIGTERM');
  temp.cleanup();
});

/** One request with a Host header of our choice (fetch does not let a caller set Host; node:http does). */
function rawRequest(
  url: string,
  options: { method?: string; host?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.host !== undefined) headers.host = options.host;
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
    const req = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname, method: options.method ?? 'GET', headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

async function tenantIds(): Promise<string[]> {
  return (await adminCall(serve, '/admin/tenants')).body.tenants.map((t: { id: string }) => t.id);
}

test('serve admin access - the token is generated in DATA_DIR/admin-token, mode 0600, and named at start', () => {
  const file = join(serve.dataDir, 'admin-token');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(serve.adminToken.length >= 16);
  assert.match(serve.output().stdout, /"adminTokenFile":"[^"]*admin-token"/);
  assert.ok(!serve.output().stdout.includes(serve.adminToken), 'the token itself is never printed');
});

test('serve admin access - a cross-site text/plain POST cannot create or disable a tenant (CSRF)', async () => {
  const forms = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'];
  for (const contentType of forms) {
    const create = await request(`${serve.adminUrl}/admin/tenants`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: JSON.stringify({ id: 'evil' }),
    });
    assert.equal(create.status, 401, contentType);
    assert.equal(create.body.error.code, 'SHOCK_CELL_ADMIN_UNAUTHENTICATED');
    assert.equal(create.headers.get('www-authenticate'), 'Bearer realm="shock admin"');
    const disable = await request(`${serve.adminUrl}/admin/tenants/acme/disable`, {
      method: 'POST',
      headers: { 'content-type': contentType },
    });
    assert.equal(disable.status, 401, contentType);
  }
  // Even with the token, a body that is not declared JSON is refused before it is read.
  const withToken = await request(`${serve.adminUrl}/admin/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serve.adminToken}`, 'content-type': 'text/plain' },
    body: JSON.stringify({ id: 'evil' }),
  });
  assert.equal(withToken.status, 415);
  assert.equal(withToken.body.error.code, 'SHOCK_CELL_ADMIN_MEDIA_TYPE');
  const bodyless = await request(`${serve.adminUrl}/admin/tenants/acme/disable`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serve.adminToken}` },
  });
  assert.equal(bodyless.status, 415, 'a POST without a content type is refused too');
  assert.deepEqual(await tenantIds(), ['acme'], 'no tenant was created');
  const acme = (await adminCall(serve, '/admin/tenants')).body.tenants[0];
  assert.equal(acme.disabled, false, 'acme was not disabled');
});

test('serve admin access - a missing or wrong token is refused, the right one works', async () => {
  const none = await request(`${serve.adminUrl}/admin/tenants`);
  assert.equal(none.status, 401);
  assert.equal(none.body.error.code, 'SHOCK_CELL_ADMIN_UNAUTHENTICATED');
  for (const authorization of [`Bearer ${serve.adminToken}x`, `Basic ${serve.adminToken}`, 'Bearer', 'Bearer  ']) {
    const wrong = await request(`${serve.adminUrl}/admin/tenants`, { headers: { authorization } });
    assert.equal(wrong.status, 401, authorization);
  }
  const stats = await request(`${serve.adminUrl}/admin/stats`);
  assert.equal(stats.status, 401, '/admin/stats needs the token like every /admin route');

  const created = await adminCall(serve, '/admin/tenants', 'POST', { id: 'newco' });
  assert.equal(created.status, 201);
  assert.match(created.body.key, /\S{16,}/);
  assert.deepEqual(await tenantIds(), ['acme', 'newco']);
  const lower = await request(`${serve.adminUrl}/admin/tenants`, {
    headers: { authorization: `bearer ${serve.adminToken}` },
  });
  assert.equal(lower.status, 200, 'the scheme is case-insensitive');
});

test('serve admin access - a Host that is not the listener or a loopback name is refused, GETs included', async () => {
  const port = new URL(serve.adminUrl).port;
  const auth = { authorization: `Bearer ${serve.adminToken}` };
  for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`, 'localhost.evil']) {
    for (const path of ['/admin/tenants', '/metrics', '/v1/stats', '/']) {
      const r = await rawRequest(`${serve.adminUrl}${path}`, { host, headers: auth });
      assert.equal(r.status, 421, `${host} ${path}`);
      assert.equal(r.body.error.code, 'SHOCK_CELL_ADMIN_HOST_REFUSED');
    }
  }
  const post = await rawRequest(`${serve.adminUrl}/admin/tenants`, {
    method: 'POST',
    host: 'evil.example',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'rebound' }),
  });
  assert.equal(post.status, 421);
  for (const host of [
    'localhost',
    `localhost:${port}`,
    `127.0.0.1:${port}`,
    '127.0.0.1',
    `[::1]:${port}`,
    'LOCALHOST',
  ]) {
    const r = await rawRequest(`${serve.adminUrl}/admin/tenants`, { host, headers: auth });
    assert.equal(r.status, 200, host);
  }
  assert.deepEqual(await tenantIds(), ['acme', 'newco']);
});

test('serve admin access - /metrics, /v1/stats and the dashboard are on the admin listener, not the public one', async () => {
  // On the (loopback) admin listener a read needs no token: the dashboard in a browser and Prometheus just GET.
  assert.equal((await fetchStats(serve)).cell.ready, true);
  assert.match(await fetchMetrics(serve), /^shock_cell_ready 1$/m);
  const page = await request(`${serve.adminUrl}/`);
  assert.equal(page.status, 200);
  assert.match(page.text, /<title>shock cell<\/title>/);

  for (const path of ['/metrics', '/v1/stats', '/', '/index.html']) {
    const r = await request(`${serve.url}${path}`);
    assert.equal(r.status, 404, path);
    assert.equal(r.body.error.code, 'SHOCK_INGRESS_NOT_FOUND');
    assert.match(r.body.error.details.hint, /observabilityPublic/);
  }
  assert.equal((await request(`${serve.url}/healthz`)).status, 200, 'health stays public');
  assert.equal((await request(`${serve.url}/readyz`)).status, 200, 'readiness stays public');
});

test('serve admin access - http.observabilityPublic serves them on the public listener too', async () => {
  const t = tempDir('shock-admin-public-');
  const config = writeConfig(t.dir, { http: { observabilityPublic: true } });
  const open = await startServe(join(t.dir, 'data'), ['--config', config]);
  try {
    assert.equal((await request(`${open.url}/v1/stats`)).body.cell.ready, true);
    assert.match((await request(`${open.url}/metrics`)).text, /^shock_cell_ready 1$/m);
    assert.equal((await request(`${open.url}/`)).status, 200);
    assert.equal((await request(`${open.url}/admin/tenants`)).status, 404, 'the admin API stays on its listener');
  } finally {
    await open.stop('SIGTERM');
    t.cleanup();
  }
});

test('serve admin access - SHOCK_ADMIN_TOKEN gives the token: no file is written, the CLI reads the variable', async () => {
  const t = tempDir('shock-admin-env-');
  const token = 'env-admin-token-0123456789';
  const cell = await startServe(join(t.dir, 'data'), [], 30_000, { SHOCK_ADMIN_TOKEN: token });
  try {
    assert.equal(existsSync(join(t.dir, 'data', 'admin-token')), false);
    assert.match(cell.output().stdout, /"adminTokenFile":null/);
    assert.equal((await adminCall(cell, '/admin/tenants')).status, 200);
    const cli = await runCli(['dlq', 'list', '--json', '--admin', cell.adminUrl], {
      env: { SHOCK_ADMIN_TOKEN: token },
    });
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(JSON.parse(cli.stdout).total, 0);
  } finally {
    await cell.stop('SIGTERM');
    t.cleanup();
  }
});

test('serve admin access - shock dlq reads the token from --data-dir or --admin-token, and says what to do without', async () => {
  const admin = ['--admin', serve.adminUrl];
  const env = { SHOCK_ADMIN_TOKEN: '' };
  const fromDir = await runCli(['dlq', 'list', '--json', ...admin, '--data-dir', serve.dataDir], { env });
  assert.equal(fromDir.code, 0, fromDir.stderr);
  assert.equal(JSON.parse(fromDir.stdout).total, 0);
  const fromFlag = await runCli(['dlq', 'list', '--json', ...admin, '--admin-token', serve.adminToken], { env });
  assert.equal(fromFlag.code, 0, fromFlag.stderr);

  // A wrong token: the cell answers 401 and the CLI says where the right one is.
  const wrong = await runCli(['dlq', 'list', ...admin, '--admin-token', 'not-the-token-at-all'], { env });
  assert.equal(wrong.code, 64, wrong.stderr);
  assert.match(wrong.stderr, /SHOCK_CELL_ADMIN_UNAUTHENTICATED/);
  assert.match(wrong.stderr, /does not match \(token from --admin-token\)/);
  assert.match(wrong.stderr, /what to do: pass the cell's --data-dir/);
  const noFile = await runCli(['dlq', 'list', ...admin, '--data-dir', join(temp.dir, 'nowhere')], { env });
  assert.notEqual(noFile.code, 0);
  assert.match(noFile.stderr, /SHOCK_CLI_INPUT_UNREADABLE/);
  assert.match(noFile.stderr, /admin-token/);
});
