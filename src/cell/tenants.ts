/**
 * The cell's live tenant table: starts from the validated configuration and changes only through the admin API
 * (add, disable/enable, quota). Every change produces a new frozen list that is handed to the gateway, so the
 * gateway never sees a half-applied edit. With a `persist` callback each change is also recorded as an override
 * (tenant-overrides.ts) and saved before the call returns, so it survives a restart; if saving fails the gateway is
 * given the old list back and the call fails — no change that is live but not saved.
 */
import { randomBytes } from 'node:crypto';
import { shockError } from '../base/index.js';
import { deepFreeze, hashApiKey, tenantDefaults, type TenantConfig } from './config.js';
import { emptyTenantOverrides, type TenantOverride, type TenantOverrides } from './tenant-overrides.js';

/** What the admin API shows of a tenant (never the key hashes' secrets — hashes are not secrets, keys are). */
export interface TenantView {
  id: string;
  ratePerSec: number;
  burst: number;
  disabled: boolean;
  keyCount: number;
}

/** A request to add a tenant: give key hashes, or none and get one fresh key back (shown once). */
export interface TenantAdd {
  id: string;
  keyHashes?: string[];
  ratePerSec?: number;
  burst?: number;
}

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const hashPattern = /^sha256:[0-9a-f]{64}$/;

/** Holds the current tenants; `onChange` receives every new list. */
export class TenantTable {
  private tenants: readonly TenantConfig[];
  private overrides: TenantOverrides;

  constructor(
    initial: readonly TenantConfig[],
    private readonly onChange: (tenants: readonly TenantConfig[]) => void,
    private readonly persist?: { overrides: TenantOverrides; save: (overrides: TenantOverrides) => void },
  ) {
    this.tenants = deepFreeze(initial.map((t) => ({ ...t, keyHashes: [...t.keyHashes] })));
    this.overrides = persist?.overrides ?? emptyTenantOverrides();
  }

  /** The current list (frozen). */
  list(): readonly TenantConfig[] {
    return this.tenants;
  }

  views(): TenantView[] {
    return this.tenants.map(viewOf);
  }

  /** Adds a tenant; returns its view and, when no hash was given, the one fresh API key. */
  add(request: TenantAdd): { tenant: TenantView; key?: string } {
    checkId(request.id);
    if (this.tenants.some((t) => t.id === request.id)) {
      throw shockError('SHOCK_CELL_TENANT_EXISTS', `tenant "${request.id}" already exists`, { id: request.id });
    }
    let key: string | undefined;
    let keyHashes = request.keyHashes ?? [];
    if (keyHashes.length === 0) {
      key = 'shock_' + randomBytes(24).toString('base64url');
      keyHashes = [hashApiKey(key)];
    }
    for (const h of keyHashes) {
      if (typeof h !== 'string' || !hashPattern.test(h)) {
        throw shockError('SHOCK_CELL_ADMIN_INVALID', 'keyHashes must be "sha256:<64 hex digits>"', { value: h });
      }
      const owner = this.tenants.find((t) => t.keyHashes.includes(h));
      if (owner) throw shockError('SHOCK_CELL_ADMIN_INVALID', `a key hash already belongs to tenant "${owner.id}"`);
    }
    const quota = checkQuota({
      ratePerSec: request.ratePerSec ?? tenantDefaults.ratePerSec,
      burst: request.burst ?? tenantDefaults.burst,
    });
    const tenant: TenantConfig = { id: request.id, keyHashes: [...keyHashes], disabled: false, ...quota };
    this.replace([...this.tenants, tenant], request.id, { added: { ...tenant, keyHashes: [...tenant.keyHashes] } });
    return key === undefined ? { tenant: viewOf(tenant) } : { tenant: viewOf(tenant), key };
  }

  /** Disables (403 for its keys) or re-enables a tenant. */
  setDisabled(id: string, disabled: boolean): TenantView {
    return this.update(id, (t) => ({ ...t, disabled }), { disabled });
  }

  /** Sets a tenant's token bucket. */
  setQuota(id: string, quota: { ratePerSec?: unknown; burst?: unknown }): TenantView {
    const current = this.tenants.find((t) => t.id === id);
    if (current === undefined) throw shockError('SHOCK_CELL_TENANT_UNKNOWN', `no tenant "${id}"`, { id });
    const checked = checkQuota({
      ratePerSec: quota.ratePerSec ?? current.ratePerSec,
      burst: quota.burst ?? current.burst,
    });
    return this.update(id, (t) => ({ ...t, ...checked }), checked);
  }

  private update(id: string, change: (t: TenantConfig) => TenantConfig, override: TenantOverride): TenantView {
    const index = this.tenants.findIndex((t) => t.id === id);
    if (index < 0) throw shockError('SHOCK_CELL_TENANT_UNKNOWN', `no tenant "${id}"`, { id });
    const next = [...this.tenants];
    next[index] = change({ ...this.tenants[index], keyHashes: [...this.tenants[index].keyHashes] });
    this.replace(next, id, override);
    return viewOf(next[index]);
  }

  /**
   * The gateway validates first; if it refuses the list, the table keeps the old one (no half-applied edit). Then
   * the override is saved; if that fails, the gateway gets the old list back.
   */
  private replace(next: TenantConfig[], id: string, override: TenantOverride): void {
    const frozen = deepFreeze(next);
    this.onChange(frozen);
    if (this.persist !== undefined) {
      const overrides: TenantOverrides = {
        ...this.overrides,
        tenants: { ...this.overrides.tenants, [id]: { ...this.overrides.tenants[id], ...override } },
      };
      try {
        this.persist.save(overrides);
      } catch (err) {
        this.onChange(this.tenants);
        throw err;
      }
      this.overrides = overrides;
    }
    this.tenants = frozen;
  }
}

function viewOf(t: TenantConfig): TenantView {
  return { id: t.id, ratePerSec: t.ratePerSec, burst: t.burst, disabled: t.disabled, keyCount: t.keyHashes.length };
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !idPattern.test(id)) {
    throw shockError('SHOCK_CELL_ADMIN_INVALID', 'id must be 1-64 characters of A-Z a-z 0-9 . _ - ', { value: id });
  }
}

function checkQuota(q: { ratePerSec: unknown; burst: unknown }): { ratePerSec: number; burst: number } {
  const problems: string[] = [];
  if (typeof q.ratePerSec !== 'number' || !(q.ratePerSec > 0) || !Number.isFinite(q.ratePerSec)) {
    problems.push(`ratePerSec must be a number > 0 events/s, got ${JSON.stringify(q.ratePerSec)}`);
  }
  if (typeof q.burst !== 'number' || !(q.burst >= 1) || !Number.isFinite(q.burst)) {
    problems.push(`burst must be a number >= 1 event, got ${JSON.stringify(q.burst)}`);
  }
  if (problems.length > 0) throw shockError('SHOCK_CELL_ADMIN_INVALID', problems.join('; '), { problems });
  return { ratePerSec: q.ratePerSec as number, burst: q.burst as number };
}
