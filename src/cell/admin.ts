/**
 * The admin listener: a small JSON API on its own port, bound to loopback by default, for the operations an
 * operator does while the cell runs (docs/cell.md lists every route with an example):
 *
 *   GET  /admin/tenants                      list tenants (id, rate, burst, disabled, key count)
 *   POST /admin/tenants                      add {id, keyHashes?, ratePerSec?, burst?} → 201 (+ a fresh key once)
 *   POST /admin/tenants/:id/disable|enable   403 for its keys / back to normal
 *   PUT  /admin/tenants/:id/quota            set {ratePerSec?, burst?}
 *   POST /admin/schemas/reload               re-read the configuration file, recompile the validators
 *   POST /admin/consumers/pause|resume       stop / restart consuming (lag grows while paused)
 *   GET  /admin/stats                        the same JSON as /v1/stats
 *   GET  /admin/reshard                      the log generations and the drain of the old one
 *   POST /admin/reshard                      {partitions}: switch appends to a new generation (zero downtime)
 *   GET  /admin/dead-letters                 ?partition=&after=<p>:<o>&limit= — a page of dead letters
 *   POST /admin/dead-letters/replay          {all: true} | {partition} | {keys: [{partition, offset}]}, limit?
 *   GET  /metrics, /v1/stats, /              Prometheus text, the stats JSON, the dashboard (routes.ts)
 *
 * Every request passes `checkAdminAccess` first (admin-access.ts): its Host must name this listener, it carries
 * the admin token (except read-only observability GETs on a loopback listener), and bodies are JSON.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { shockError } from '../base/index.js';
import { checkAdminAccess, observabilityPaths, type AdminAccess } from './admin-access.js';
import { readJsonObject, sendError, sendJson } from './http-json.js';
import { serveObservability, type CellRouteSource } from './routes.js';
import type { TenantAdd, TenantTable } from './tenants.js';
import type { DeadLetterDesk, ReplayRequest } from './dead-letters.js';

/** What the admin API may do to a running cell. */
export interface AdminControl {
  tenants: TenantTable;
  /** Re-reads the configuration file's `schemas` and recompiles validators; returns the event types now known. */
  reloadSchemas(): Promise<{ types: string[] }>;
  pauseConsumers(): Promise<void>;
  resumeConsumers(): Promise<void>;
  stats(): unknown;
  /** The reshard state (generations, drain). */
  reshardStatus(): unknown;
  /** Starts a reshard to `partitions`; resolves once appends go to the new generation and the old end is recorded. */
  reshard(partitions: number): Promise<unknown>;
  deadLetters: DeadLetterDesk;
  /** What `/metrics`, `/v1/stats` and the dashboard read. */
  observability: CellRouteSource;
  /** What every request is checked against (token, Host). */
  access: AdminAccess;
}

/** A 401 tells the client which scheme to use (RFC 6750). */
const unauthenticatedHeaders = { 'www-authenticate': 'Bearer realm="shock admin"' };

/** Creates (but does not start) the admin HTTP server; every request is checked against `control.access` first. */
export function createAdminServer(control: AdminControl): Server {
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      checkAdminAccess(control.access, req, path);
    } catch (err) {
      // Refused before its body was read: close the connection rather than drain what the client still sends.
      res.setHeader('connection', 'close');
      const unauthenticated = (err as { code?: string }).code === 'SHOCK_CELL_ADMIN_UNAUTHENTICATED';
      return sendError(res, err, unauthenticated ? unauthenticatedHeaders : {});
    }
    route(control, req, res).catch((err: unknown) => sendError(res, err));
  });
  server.keepAliveTimeout = 5_000;
  return server;
}

const tenantAction = /^\/admin\/tenants\/([^/]+)\/(disable|enable|quota)$/;

async function route(control: AdminControl, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const method = req.method ?? 'GET';
  if (observabilityPaths.has(path) && (method === 'GET' || method === 'HEAD')) {
    req.resume();
    return serveObservability(control.observability, path, req, res);
  }
  if (path === '/admin/tenants' && method === 'GET') return sendJson(res, 200, { tenants: control.tenants.views() });
  if (path === '/admin/tenants' && method === 'POST') {
    const body = await readJsonObject(req);
    return sendJson(res, 201, control.tenants.add(body as unknown as TenantAdd));
  }
  const action = tenantAction.exec(path);
  if (action) {
    const id = decodeURIComponent(action[1]);
    if (action[2] === 'quota' && (method === 'PUT' || method === 'POST')) {
      const body = await readJsonObject(req);
      return sendJson(res, 200, { tenant: control.tenants.setQuota(id, body) });
    }
    if (action[2] !== 'quota' && method === 'POST') {
      return sendJson(res, 200, { tenant: control.tenants.setDisabled(id, action[2] === 'disable') });
    }
  }
  if (path === '/admin/schemas/reload' && method === 'POST') return sendJson(res, 200, await control.reloadSchemas());
  if (path === '/admin/consumers/pause' && method === 'POST') {
    await control.pauseConsumers();
    return sendJson(res, 200, { consumers: 'paused' });
  }
  if (path === '/admin/consumers/resume' && method === 'POST') {
    await control.resumeConsumers();
    return sendJson(res, 200, { consumers: 'running' });
  }
  if (path === '/admin/stats' && method === 'GET') return sendJson(res, 200, control.stats());
  if (path === '/admin/reshard' && method === 'GET') return sendJson(res, 200, control.reshardStatus());
  if (path === '/admin/reshard' && method === 'POST') {
    const body = await readJsonObject(req);
    const unknown = Object.keys(body).filter((k) => k !== 'partitions');
    if (typeof body.partitions !== 'number' || unknown.length > 0) {
      throw shockError('SHOCK_CELL_ADMIN_INVALID', 'the body must be {"partitions": <whole number ≥ 1>}', {
        unknown,
        partitions: body.partitions,
      });
    }
    return sendJson(res, 200, await control.reshard(body.partitions));
  }
  if (path === '/admin/dead-letters' && method === 'GET') {
    const q = new URL(req.url ?? '/', 'http://admin').searchParams;
    const num = (name: string) => (q.has(name) ? Number(q.get(name)) : undefined);
    const page = await control.deadLetters.list({
      partition: num('partition'),
      after: q.get('after') ?? undefined,
      limit: num('limit'),
    });
    return sendJson(res, 200, page);
  }
  if (path === '/admin/dead-letters/replay' && method === 'POST') {
    const body = await readJsonObject(req);
    return sendJson(res, 200, await control.deadLetters.replay(body as ReplayRequest));
  }
  throw shockError('SHOCK_INGRESS_NOT_FOUND', `no admin route ${method} ${path}`, {
    routes: [
      'GET /admin/tenants',
      'POST /admin/tenants',
      'POST /admin/tenants/:id/disable',
      'POST /admin/tenants/:id/enable',
      'PUT /admin/tenants/:id/quota',
      'POST /admin/schemas/reload',
      'POST /admin/consumers/pause',
      'POST /admin/consumers/resume',
      'GET /admin/stats',
      'GET /admin/reshard',
      'POST /admin/reshard',
      'GET /admin/dead-letters',
      'POST /admin/dead-letters/replay',
      'GET /metrics',
      'GET /v1/stats',
      'GET / (dashboard)',
    ],
  });
}
