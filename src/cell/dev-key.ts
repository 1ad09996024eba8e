/**
 * The zero-config tenant: when the configuration names no tenant, the cell creates `default` with a development
 * key. The key is generated once per data directory and kept in `<dataDir>/dev-key` (mode 0600) so that the curl
 * line printed at start keeps working across restarts; only its hash is handed to the gateway.
 * The admin token (admin-access.ts) is kept the same way; `ensureSecretFile` does both.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { shockError } from '../base/index.js';
import { hashApiKey, tenantDefaults, type TenantConfig } from './config.js';

/** The id of the tenant created when the configuration lists none. */
export const defaultTenantId = 'default';

/** Shortest secret read back from a file; a shorter one is replaced (dev key) or refused (admin token). */
export const secretCharsMin = 16;

/**
 * Reads the secret kept in `file`, creating it on first use: `prefix` + 24 random bytes (base64url), written
 * atomically (temporary file, fsync, rename) with mode 0600. `what` names it in errors ("the development key").
 */
export function ensureSecretFile(file: string, prefix: string, what: string): { secret: string; created: boolean } {
  try {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= secretCharsMin) return { secret, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw shockError('SHOCK_CLI_INPUT_UNREADABLE', `cannot read ${what} ${file}`, { file }, err);
    }
  }
  const secret = prefix + randomBytes(18).toString('base64url');
  try {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = file + '.tmp';
    const fd = openSync(tmp, 'w', 0o600);
    writeSync(fd, secret + '\n');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
  } catch (err) {
    throw shockError('SHOCK_CLI_OUTPUT_UNWRITABLE', `cannot write ${what} ${file}`, { file }, err);
  }
  return { secret, created: true };
}

/** Reads `<dataDir>/dev-key`, creating it (atomic write + fsync) on first use. */
export function ensureDevKey(dataDir: string): { key: string; created: boolean } {
  const { secret, created } = ensureSecretFile(join(dataDir, 'dev-key'), 'shock_dev_', 'the development key');
  return { key: secret, created };
}

/** The `default` tenant that owns the development key. */
export function devTenant(key: string): TenantConfig {
  return { id: defaultTenantId, keyHashes: [hashApiKey(key)], ...tenantDefaults };
}
