/**
 * The cell's own read-only routes. On the public listener — installed as the gateway's `fallback`, which answers
 * its ingest routes and hands every other request here — `/healthz` and `/readyz` always, and the observability
 * pages `/metrics`, `/v1/stats` and `/` (the dashboard) only with `http.observabilityPublic: true`: their series
 * carry tenant ids and volumes, so by default they are served on the admin listener instead (admin.ts calls
 * `serveObservability`). Anything else is a JSON 404 (unknown path) or 405 (a known path with another method).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { shockError } from '../base/index.js';
import { observabilityPaths } from './admin-access.js';
import { dashboardHtml } from './dashboard.js';
import { sendError, sendJson } from './http-json.js';
import type { CellStats } from './stats.js';

/** What the routes read from the running cell. */
export interface CellRouteSource {
  /** Prometheus text exposition. */
  metrics(): Promise<string>;
  metricsContentType: string;
  /** Readiness: the log is open, the consumers run, the breaker is not open, no shutdown under way. */
  readiness(): { ready: boolean; notReady: string[] };
  stats(): CellStats;
}

/** Which pages the public listener serves. */
export interface CellRouteOptions {
  /** `http.observabilityPublic`: also `/metrics`, `/v1/stats` and the dashboard (off by default). */
  observabilityPublic: boolean;
}

const dashboardBody = Buffer.from(dashboardHtml, 'utf8');
const healthPaths = new Set(['/healthz', '/readyz']);

/** Builds the gateway's fallback listener. */
export function createCellRoutes(
  source: CellRouteSource,
  options: CellRouteOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  return function cellRoutes(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    const observability = observabilityPaths.has(path);
    if (observability && !options.observabilityPublic) {
      return sendError(
        res,
        shockError('SHOCK_INGRESS_NOT_FOUND', `${path} is served on the admin listener, not here`, {
          path,
          hint: 'open it on the admin address shock serve printed, or set http.observabilityPublic: true',
        }),
      );
    }
    if (!observability && !healthPaths.has(path)) {
      return sendError(res, shockError('SHOCK_INGRESS_NOT_FOUND', `no route ${method} ${path}`, { path }));
    }
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendError(res, shockError('SHOCK_INGRESS_METHOD_NOT_ALLOWED', `${path} answers GET only`, { path }));
    }
    // The request body (if any) is ignored; drain it so keep-alive works.
    req.resume();
    if (observability) serveObservability(source, path, req, res);
    else serveHealth(source, path, res);
  };
}

function serveHealth(source: CellRouteSource, path: string, res: ServerResponse): void {
  if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
  const r = source.readiness();
  if (r.ready) return sendJson(res, 200, { status: 'ready' });
  sendError(res, shockError('SHOCK_CELL_NOT_READY', `not ready: ${r.notReady.join(', ')}`, { notReady: r.notReady }));
}

/** Answers a GET/HEAD of one of `observabilityPaths` (the dashboard, `/v1/stats`, `/metrics`). */
export function serveObservability(
  source: CellRouteSource,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  switch (path) {
    case '/':
    case '/index.html':
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': dashboardBody.length,
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : dashboardBody);
      return;
    case '/v1/stats':
      return sendJson(res, 200, source.stats());
    case '/metrics':
      source.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': source.metricsContentType, 'cache-control': 'no-store' });
          res.end(text);
        },
        (err: unknown) => sendError(res, err),
      );
      return;
  }
}
