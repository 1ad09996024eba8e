/**
 * The zero-config tenant: when the configuration names no tenant, the cell creates `default` with a development
 * key. The key is generated once per data directory and kept in `<dataDir>/dev-key` (mode 0600) so that the curl
 * line printed at start keeps working across restarts; only its hash is handed to the gateway.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { shockError } from '../base/index.js';
import { hashApiKey, tenantDefaults, type TenantConfig } from './config.js';

/** The id of the tenant created when the configuration lists none. */
export const defaultTenantId = 'default';

/** Reads `<dataDir>/dev-key`, creating it (atomic write + fsync) on first use. */
export function ensureDevKey(dataDir: string): { key: string; created: boolean } {
  const file = join(dataDir, 'dev-key');
  try {
    const key = readFileSync(file, 'utf8').trim();
    if (key.length >= 16) return { key, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw shockError('SHOCK_CLI_INPUT_UNREADABLE', `cannot read the development key ${file}`, { file }, err);
    }
  }
  const key = 'shock_dev_' + randomBytes(18).toString('base64url');
  try {
    mkdirSync(dataDir, { recursive: true });
    const tmp = file + '.tmp';
    const fd = openSync(tmp, 'w', 0o600);
    writeSync(fd, key + '\n');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
  } catch (err) {
    throw shockError('SHOCK_CLI_OUTPUT_UNWRITABLE', `cannot write the development key ${file}`, { file }, err);
  }
  return { key, created: true };
}

/** The `default` tenant that owns the development key. */
export function devTenant(key: string): TenantConfig {
  return { id: defaultTenantId, keyHashes: [hashApiKey(key)], ...tenantDefaults };
}
