/**
 * API-key authentication. Keys are configured only as SHA-256 hashes (`sha256:<hex>` or bare 64-hex); a request's
 * key (`Authorization: Bearer <key>` or `x-api-key: <key>`) is hashed and looked up, then the stored digest is
 * compared with `crypto.timingSafeEqual`. The tenant comes from the key alone.
 *
 * 401 `SHOCK_INGRESS_UNAUTHENTICATED`: no key, or a key nobody owns. 403 `SHOCK_INGRESS_FORBIDDEN`: the key's
 * tenant is disabled, or it writes a type outside its `types` allow-list, or the body names another tenant.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { shockError, type ShockError } from '../base/index.js';
import { rejection } from './rejection.js';

/** A tenant as the gateway needs it. Compatible with the cell's TenantConfig (extra fields are ignored). */
export interface GatewayTenant {
  id: string;
  /** SHA-256 of each API key: `sha256:<64 hex>` (or the bare 64 hex digits). */
  keyHashes: readonly string[];
  /** Sustained events per second (token-bucket refill rate), before the process share. */
  ratePerSec: number;
  /** Token-bucket capacity in events, before the process share. */
  burst: number;
  /** A disabled tenant's keys answer 403. */
  disabled?: boolean;
  /** Event types this tenant may write; absent means every registered type. */
  types?: readonly string[];
}

/** The authenticated caller. */
export interface Principal {
  tenant: string;
  disabled: boolean;
  /** Allowed types, or null for all. */
  types: ReadonlySet<string> | null;
}

interface Entry {
  digest: Buffer;
  principal: Principal;
}

const hexPattern = /^(?:sha256:)?([0-9a-f]{64})$/;

/** SHA-256 hex of an API key (what the configuration stores after `sha256:`). */
export function sha256Hex(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Keys remembered after a successful lookup (saves a SHA-256 per request); cleared when full or on reload. */
const knownKeysMax = 4096;

/** Maps key hashes to tenants. Built once; `replace` swaps the table when tenants are reloaded. */
export class Authenticator {
  private byHash = new Map<string, Entry>();
  /** Presented key → its entry, for keys already verified against the hash table (memory only, never logged). */
  private known = new Map<string, Entry>();

  constructor(tenants: readonly GatewayTenant[]) {
    this.replace(tenants);
  }

  /** Rebuilds the table (admin reload). Throws SHOCK_CONFIG_INVALID for a malformed hash or a shared key. */
  replace(tenants: readonly GatewayTenant[]): void {
    const table = new Map<string, Entry>();
    for (const t of tenants) {
      const principal: Principal = {
        tenant: t.id,
        disabled: t.disabled === true,
        types: t.types === undefined ? null : new Set(t.types),
      };
      for (const h of t.keyHashes) {
        const m = hexPattern.exec(h.toLowerCase());
        if (m === null) {
          throw shockError('SHOCK_CONFIG_INVALID', `tenant ${t.id}: key hash must be "sha256:<64 hex>"`, {
            tenant: t.id,
          });
        }
        const owner = table.get(m[1]);
        if (owner !== undefined && owner.principal.tenant !== t.id) {
          throw shockError('SHOCK_CONFIG_INVALID', `tenants ${owner.principal.tenant} and ${t.id} share a key`, {});
        }
        table.set(m[1], { digest: Buffer.from(m[1], 'hex'), principal });
      }
    }
    this.byHash = table;
    this.known = new Map();
  }

  /** The caller of a request, or the 401/403 to answer. */
  authenticate(headers: IncomingHttpHeaders): Principal | ShockError {
    const key = keyFrom(headers);
    if (key === undefined) {
      return rejection('SHOCK_INGRESS_UNAUTHENTICATED', 'missing API key: send "Authorization: Bearer <key>"', {
        header: 'authorization',
      });
    }
    let entry = this.known.get(key);
    if (entry === undefined) {
      const digest = createHash('sha256').update(key, 'utf8').digest();
      entry = this.byHash.get(digest.toString('hex'));
      // The map lookup finds the candidate; the constant-time compare is the decision.
      if (entry === undefined || !timingSafeEqual(entry.digest, digest)) {
        return rejection('SHOCK_INGRESS_UNAUTHENTICATED', 'unknown API key', {});
      }
      if (this.known.size >= knownKeysMax) this.known.clear();
      this.known.set(key, entry);
    }
    if (entry.principal.disabled) {
      return rejection('SHOCK_INGRESS_FORBIDDEN', `tenant ${entry.principal.tenant} is disabled`, {
        tenant: entry.principal.tenant,
      });
    }
    return entry.principal;
  }
}

/** The key of a request: `Authorization: Bearer <key>` or `x-api-key`. Empty or malformed: undefined. */
function keyFrom(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    if (authorization.length > 7 && authorization.slice(0, 7).toLowerCase() === 'bearer ') {
      const key = authorization.slice(7).trim();
      return key === '' ? undefined : key;
    }
    return undefined;
  }
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.trim() !== '') return apiKey.trim();
  return undefined;
}

/** 403 when a principal may not write `type` (null when it may). */
export function checkTypeAllowed(principal: Principal, type: string): ShockError | null {
  if (principal.types === null || principal.types.has(type)) return null;
  return rejection('SHOCK_INGRESS_FORBIDDEN', `tenant ${principal.tenant} may not write events of type "${type}"`, {
    tenant: principal.tenant,
    type,
  });
}
