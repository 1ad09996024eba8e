/**
 * Who may talk to the admin listener, checked on every request before any route runs (docs/cell.md, "Admin
 * access"):
 *
 *   1. the `Host` header must name the listener itself — its own address, its configured host, or a loopback name
 *      (`localhost`, `127.0.0.1`, `[::1]`, any port) — else 421 SHOCK_CELL_ADMIN_HOST_REFUSED. A page on an
 *      attacker's domain that re-points its DNS name at 127.0.0.1 (DNS rebinding) sends its own name as Host;
 *   2. `Authorization: Bearer <admin token>`, compared in constant time, else 401 SHOCK_CELL_ADMIN_UNAUTHENTICATED.
 *      A browser cannot add that header to a cross-site request without a CORS preflight, which the listener never
 *      grants, so no web page can act on the cell (CSRF). Exceptions, GET/HEAD only: the dashboard page (static
 *      HTML, no data), and `/metrics` and `/v1/stats` when the listener is bound to loopback — step 1 already keeps
 *      other sites from reading them, and the dashboard opened in a browser and a local Prometheus need no secret;
 *   3. POST, PUT and PATCH must say `Content-Type: application/json`, else 415 SHOCK_CELL_ADMIN_MEDIA_TYPE: the types
 *      an HTML form or a "simple" cross-origin fetch can send (text/plain, form encodings) are refused.
 *
 * The token is kept like the development key: generated at first start in `<dataDir>/admin-token` (mode 0600), or
 * the file `admin.tokenFile` names, or given by `SHOCK_ADMIN_TOKEN` (read by `shock serve`, and by the CLI).
 */
import type { IncomingMessage } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { shockError } from '../base/index.js';
import { ensureSecretFile, secretCharsMin } from './dev-key.js';

/** The paths both listeners may serve for observability (the public one only with `http.observabilityPublic`). */
export const observabilityPaths: ReadonlySet<string> = new Set(['/', '/index.html', '/v1/stats', '/metrics']);

/** The dashboard page: static HTML, the same for every cell, so it is served without the token. */
const dashboardPaths: ReadonlySet<string> = new Set(['/', '/index.html']);

/** The admin token and where it came from. */
export interface AdminToken {
  token: string;
  /** The file it is kept in, or null when it was given directly (`SHOCK_ADMIN_TOKEN`). */
  file: string | null;
}

/**
 * The admin token: `given` (from `SHOCK_ADMIN_TOKEN`) when set, else the one kept in `file`, created with a fresh
 * random token on first start.
 */
export function resolveAdminToken(file: string, given: string | undefined): AdminToken {
  if (given !== undefined && given !== '') {
    if (given.length < secretCharsMin) {
      throw shockError(
        'SHOCK_CONFIG_INVALID',
        `SHOCK_ADMIN_TOKEN must be at least ${secretCharsMin} characters, got ${given.length}`,
        { hint: 'use a random token, e.g. `openssl rand -base64 24`' },
      );
    }
    return { token: given, file: null };
  }
  return { token: ensureSecretFile(file, 'shock_admin_', 'the admin token').secret, file };
}

/** What the admin listener checks requests against. */
export interface AdminAccess {
  token: string;
  /** `admin.host` as configured (a name or address is accepted as Host; a wildcard such as 0.0.0.0 is not). */
  host: string;
}

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);
const wildcardHosts = new Set(['0.0.0.0', '::', '[::]', '']);
const bodyMethods = new Set(['POST', 'PUT', 'PATCH']);

/** True when `host` (a listener's bind address) is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Throws the admin error a request deserves, or returns when it may proceed to its route. */
export function checkAdminAccess(access: AdminAccess, req: IncomingMessage, path: string): void {
  const method = req.method ?? 'GET';
  const host = hostName(req.headers.host);
  if (host === null || !hostAllowed(access, host, req.socket.localAddress)) {
    throw shockError(
      'SHOCK_CELL_ADMIN_HOST_REFUSED',
      `the admin API answers only requests addressed to itself or to a loopback name, not Host "${req.headers.host ?? ''}"`,
      { host: req.headers.host ?? null, hint: 'use http://127.0.0.1:PORT or http://localhost:PORT' },
    );
  }
  const readOnly = method === 'GET' || method === 'HEAD';
  // The dashboard page holds no data (it fetches /v1/stats, with the token from its #token= fragment off loopback).
  const openRead =
    readOnly && (dashboardPaths.has(path) || (observabilityPaths.has(path) && isLoopbackHost(access.host)));
  if (!openRead && !tokenMatches(access.token, req.headers.authorization)) {
    throw shockError(
      'SHOCK_CELL_ADMIN_UNAUTHENTICATED',
      req.headers.authorization === undefined
        ? 'the admin API needs its token: send Authorization: Bearer <token>'
        : 'the admin token does not match',
      { hint: 'the token is in DATA_DIR/admin-token (or SHOCK_ADMIN_TOKEN); shock dlq and shock reshard read it' },
    );
  }
  if (bodyMethods.has(method) && !isJson(req.headers['content-type'])) {
    throw shockError(
      'SHOCK_CELL_ADMIN_MEDIA_TYPE',
      `the admin API accepts only application/json request bodies, got "${req.headers['content-type'] ?? 'none'}"`,
      { contentType: req.headers['content-type'] ?? null, hint: 'send Content-Type: application/json' },
    );
  }
}

/** The host part of a Host header, lower-cased, without the port (IPv6 in brackets); null if malformed. */
export function hostName(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(header.trim().toLowerCase());
  return m === null ? null : m[1];
}

function hostAllowed(access: AdminAccess, host: string, localAddress: string | undefined): boolean {
  if (loopbackHosts.has(host)) return true;
  const configured = bracketed(access.host.toLowerCase());
  if (!wildcardHosts.has(configured) && host === configured) return true;
  // The address the client connected to: a literal IP is never a rebinding vector (that needs a DNS name).
  return localAddress !== undefined && host === bracketed(localAddress.replace(/^::ffff:/, '').toLowerCase());
}

function bracketed(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address;
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';')[0].trim().toLowerCase() === 'application/json';
}

function tokenMatches(token: string, authorization: string | undefined): boolean {
  const m = /^bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (m === null) return false;
  // Hash both sides so that the comparison takes the same time whatever the lengths (timingSafeEqual needs equal).
  return timingSafeEqual(sha256(m[1]), sha256(token));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
