/**
 * Tenant changes made through the admin API survive a restart: they are kept as overrides in
 * `<dataDir>/tenants.admin.json` (written atomically and fsynced before the admin call answers) and laid over the
 * configuration's tenants at start.
 *
 * An override is per tenant id: `added` (a tenant the admin API created: id, key hashes — never keys — and quota),
 * and/or `ratePerSec`, `burst`, `disabled`. At start the configuration comes first, then the overrides:
 * - an added tenant whose id the configuration now defines too is not added again (the file wins; reported);
 * - a quota or disabled override applies to whichever tenant has that id, from the file or added;
 * - an override for an id that no longer exists is dropped (reported).
 * To go back to exactly the configuration file, stop the cell and delete `tenants.admin.json`.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { shockError } from '../base/index.js';
import type { TenantConfig } from './config.js';

/** What the admin API changed about one tenant. */
export interface TenantOverride {
  /** Set when the admin API created the tenant. */
  added?: TenantConfig;
  ratePerSec?: number;
  burst?: number;
  disabled?: boolean;
}

/** The overrides file. */
export interface TenantOverrides {
  format: 'shock-tenant-overrides';
  version: 1;
  tenants: Record<string, TenantOverride>;
}

export const tenantOverridesFile = 'tenants.admin.json';

export function emptyTenantOverrides(): TenantOverrides {
  return { format: 'shock-tenant-overrides', version: 1, tenants: {} };
}

export function tenantOverridesPath(dataDir: string): string {
  return join(dataDir, tenantOverridesFile);
}

/** Reads the overrides (none when the file does not exist). A damaged file stops the start with what to do. */
export function loadTenantOverrides(path: string): TenantOverrides {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyTenantOverrides();
    throw shockError('SHOCK_CONFIG_INVALID', `cannot read the admin tenant overrides ${path}`, { file: path }, err);
  }
  const bad = (why: string) =>
    shockError('SHOCK_CONFIG_INVALID', `the admin tenant overrides ${path} are damaged: ${why}`, {
      file: path,
      hint: 'restore it from a backup, or delete it to start from the configuration file alone',
    });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw bad((err as Error).message);
  }
  const o = parsed as Partial<TenantOverrides>;
  if (o === null || typeof o !== 'object' || o.format !== 'shock-tenant-overrides' || o.version !== 1) {
    throw bad('not a version 1 overrides file');
  }
  if (o.tenants === null || typeof o.tenants !== 'object' || Array.isArray(o.tenants)) throw bad('no tenants map');
  for (const [id, t] of Object.entries(o.tenants)) {
    if (t === null || typeof t !== 'object') throw bad(`tenant "${id}" is not an object`);
    if (t.added !== undefined && (t.added.id !== id || !Array.isArray(t.added.keyHashes))) {
      throw bad(`tenant "${id}": the added tenant does not match its id`);
    }
  }
  return o as TenantOverrides;
}

/** Writes the overrides durably: a temporary file, fsync, rename over the old one, fsync of the directory. */
export function saveTenantOverrides(path: string, overrides: TenantOverrides): void {
  const tmp = `${path}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(overrides, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch (err) {
    throw shockError(
      'SHOCK_CELL_ADMIN_INVALID',
      `cannot save the tenant change to ${path}: ${(err as Error).message}; nothing was changed`,
      { file: path, hint: 'check the data directory is writable and has space, then repeat the request' },
      err,
    );
  }
}

/** The configuration's tenants with the overrides laid over them, and the overrides that no longer apply. */
export function applyTenantOverrides(
  base: readonly TenantConfig[],
  overrides: TenantOverrides,
): { tenants: TenantConfig[]; ignored: string[] } {
  const tenants = base.map((t) => ({ ...t, keyHashes: [...t.keyHashes] }));
  const ignored: string[] = [];
  for (const [id, o] of Object.entries(overrides.tenants)) {
    if (o.added !== undefined) {
      if (tenants.some((t) => t.id === id)) ignored.push(`tenant "${id}" added by the admin API is now in the file`);
      else tenants.push({ ...o.added, keyHashes: [...o.added.keyHashes] });
    }
    const index = tenants.findIndex((t) => t.id === id);
    if (index < 0) {
      ignored.push(`override of tenant "${id}": no such tenant any more`);
      continue;
    }
    const t = tenants[index];
    tenants[index] = {
      ...t,
      ratePerSec: o.ratePerSec ?? t.ratePerSec,
      burst: o.burst ?? t.burst,
      disabled: o.disabled ?? t.disabled,
    };
  }
  return { tenants, ignored };
}
