/**
 * The admin listener's request checks (admin-access.ts) for the cases a loopback `shock serve` in a test cannot
 * show: a listener bound beyond loopback wants the token for reads too, its own address and configured name are
 * accepted as Host, and malformed Host headers are refused. The requests are plain values of the fields read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { checkAdminAccess, hostName, isLoopbackHost } from '../../../src/cell/admin-access.js';
import { isShockError } from '../../../src/base/index.js';
import { buildCellConfig } from '../../../src/cell/index.js';

const token = 'admin-token-0123456789';

function requestOf(method: string, headers: Record<string, string>, localAddress = '10.1.2.3'): IncomingMessage {
  return { method, headers, socket: { localAddress } } as unknown as IncomingMessage;
}

function refusal(host: string, req: IncomingMessage, path: string): string | null {
  try {
    checkAdminAccess({ token, host }, req, path);
    return null;
  } catch (err) {
    assert.ok(isShockError(err));
    return err.code;
  }
}

test('admin access - hostName keeps the host without the port, brackets IPv6, refuses malformed values', () => {
  assert.equal(hostName('LocalHost:8081'), 'localhost');
  assert.equal(hostName('[::1]:8081'), '[::1]');
  assert.equal(hostName('127.0.0.1'), '127.0.0.1');
  for (const bad of [undefined, '', 'a:b:c', '[::1', 'host:99999999', 'evil.example:80:81']) {
    assert.equal(hostName(bad), null, String(bad));
  }
});

test('admin access - a listener beyond loopback wants the token for /metrics and /v1/stats too', () => {
  const auth = { authorization: `Bearer ${token}` };
  const get = (path: string, headers: Record<string, string>) => refusal('0.0.0.0', requestOf('GET', headers), path);
  assert.equal(get('/metrics', { host: '10.1.2.3:8081' }), 'SHOCK_CELL_ADMIN_UNAUTHENTICATED');
  assert.equal(get('/v1/stats', { host: '10.1.2.3:8081' }), 'SHOCK_CELL_ADMIN_UNAUTHENTICATED');
  assert.equal(get('/metrics', { host: '10.1.2.3:8081', ...auth }), null, 'its own address, with the token');
  assert.equal(get('/metrics', { host: 'cell-3.internal', ...auth }), 'SHOCK_CELL_ADMIN_HOST_REFUSED');
  // The dashboard page itself (static, no data) loads without it; its fetches of /v1/stats carry the token.
  assert.equal(get('/', { host: '10.1.2.3:8081' }), null);
  assert.equal(get('/index.html', { host: '10.1.2.3' }), null);
  assert.equal(get('/', { host: 'evil.example' }), 'SHOCK_CELL_ADMIN_HOST_REFUSED');
  // On loopback the same read needs no token.
  assert.equal(refusal('127.0.0.1', requestOf('GET', { host: 'localhost' }, '127.0.0.1'), '/metrics'), null);
});

test('admin access - the configured admin host name is accepted as Host, a wildcard is not', () => {
  const auth = { authorization: `Bearer ${token}` };
  assert.equal(refusal('cell-3.internal', requestOf('GET', { host: 'cell-3.internal:8081', ...auth }), '/'), null);
  assert.equal(
    refusal('0.0.0.0', requestOf('GET', { host: '0.0.0.0:8081', ...auth }), '/'),
    'SHOCK_CELL_ADMIN_HOST_REFUSED',
  );
});

test('admin access - isLoopbackHost', () => {
  for (const h of ['127.0.0.1', '127.9.9.9', '::1', '[::1]', 'localhost']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'cell.internal']) assert.equal(isLoopbackHost(h), false, h);
});

test('admin access - config: admin.tokenFile defaults to <dataDir>/admin-token, resolves against the file', () => {
  const zero = buildCellConfig({ raw: { dataDir: '/var/lib/shock' } });
  assert.equal(zero.admin.tokenFile, '/var/lib/shock/admin-token');
  assert.equal(zero.http.observabilityPublic, false);
  const file = buildCellConfig({
    file: '/etc/shock/cell.yaml',
    raw: { admin: { tokenFile: 'secrets/admin-token' }, http: { observabilityPublic: true } },
  });
  assert.equal(file.admin.tokenFile, '/etc/shock/secrets/admin-token');
  assert.equal(file.http.observabilityPublic, true);
  assert.throws(
    () => buildCellConfig({ raw: { http: { observabilityPublic: 'yes' }, admin: { token: 'x' } } }),
    (err: unknown) =>
      isShockError(err) &&
      err.code === 'SHOCK_CONFIG_INVALID' &&
      /observabilityPublic: must be boolean/.test(err.message) &&
      /unknown key "token"/.test(err.message),
  );
});
