/**
 * Admin tenant overrides: laid over the configuration in a defined way, saved durably, refused clearly when the file
 * is damaged, and a failed save leaves the live table and the gateway unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/cli.js';
import type { TenantConfig } from '../../../src/cell/config.js';
import {
  applyTenantOverrides,
  emptyTenantOverrides,
  loadTenantOverrides,
  saveTenantOverrides,
  type TenantOverrides,
} from '../../../src/cell/tenant-overrides.js';
import { TenantTable } from '../../../src/cell/tenants.js';
import { isShockError } from '../../../src/base/index.js';

const hash = (c: string) => `sha256:${c.repeat(64)}`;
const acme: TenantConfig = { id: 'acme', keyHashes: [hash('a')], ratePerSec: 100, burst: 100, disabled: false };
const globex: TenantConfig = { id: 'globex', keyHashes: [hash('b')], ratePerSec: 10, burst: 10, disabled: false };

test('tenant overrides - configuration first, then overrides; stale ones are reported, not applied', () => {
  const overrides: TenantOverrides = {
    ...emptyTenantOverrides(),
    tenants: {
      acme: { ratePerSec: 5 },
      newco: {
        added: { id: 'newco', keyHashes: [hash('c')], ratePerSec: 1, burst: 2, disabled: false },
        disabled: true,
      },
      globex: { added: { ...globex, ratePerSec: 999 }, burst: 50 },
      gone: { disabled: true },
    },
  };
  const { tenants, ignored } = applyTenantOverrides([acme, globex], overrides);
  assert.deepEqual(tenants, [
    { ...acme, ratePerSec: 5 },
    { ...globex, burst: 50 }, // the file's globex, not the one once added by admin; its burst override applies
    { id: 'newco', keyHashes: [hash('c')], ratePerSec: 1, burst: 2, disabled: true },
  ]);
  assert.equal(ignored.length, 2);
  assert.match(ignored.join('\n'), /"globex" added by the admin API is now in the file/);
  assert.match(ignored.join('\n'), /"gone": no such tenant any more/);
});

test('tenant overrides - saved atomically and read back; a damaged file is refused with what to do', () => {
  const t = tempDir('shock-overrides-');
  try {
    const file = join(t.dir, 'tenants.admin.json');
    assert.deepEqual(loadTenantOverrides(file), emptyTenantOverrides(), 'no file: no overrides');
    const o = { ...emptyTenantOverrides(), tenants: { acme: { burst: 3 } } };
    saveTenantOverrides(file, o);
    assert.deepEqual(loadTenantOverrides(file), o);
    assert.equal(existsSync(`${file}.tmp`), false);
    for (const damaged of [
      '{',
      '{"format":"other","version":1,"tenants":{}}',
      '{"format":"shock-tenant-overrides","version":1,"tenants":{"x":{"added":{"id":"y","keyHashes":[]}}}}',
    ]) {
      writeFileSync(file, damaged);
      assert.throws(
        () => loadTenantOverrides(file),
        (err: unknown) =>
          isShockError(err) && err.code === 'SHOCK_CONFIG_INVALID' && /delete it/.test(String(err.details.hint)),
      );
    }
  } finally {
    t.cleanup();
  }
});

test('tenant table - each change is saved before it returns; a failed save gives the gateway the old list back', () => {
  const given: (readonly TenantConfig[])[] = [];
  const saved: TenantOverrides[] = [];
  let failSave = false;
  const table = new TenantTable([acme], (list) => given.push(list), {
    overrides: emptyTenantOverrides(),
    save: (o) => {
      if (failSave) throw new Error('disk full');
      saved.push(o);
    },
  });
  table.add({ id: 'newco', keyHashes: [hash('c')], ratePerSec: 1, burst: 1 });
  table.setQuota('acme', { ratePerSec: 7 });
  table.setDisabled('newco', true);
  assert.deepEqual(saved[saved.length - 1].tenants, {
    newco: { added: { id: 'newco', keyHashes: [hash('c')], disabled: false, ratePerSec: 1, burst: 1 }, disabled: true },
    acme: { ratePerSec: 7, burst: 100 },
  });
  const before = table.list();
  failSave = true;
  assert.throws(() => table.setQuota('acme', { ratePerSec: 9 }), /disk full/);
  assert.equal(table.list(), before, 'the table keeps its list');
  assert.equal(given[given.length - 1], before, 'the gateway got the old list back');
});
