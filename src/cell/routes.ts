/**
 * The cell's own read-only routes on the public listener — `/metrics`, `/healthz`, `/readyz`, `/v1/stats` and `/`
 * (the dashboard) — installed as the gateway's `fallback`: the gateway answers its ingest routes and hands every
 * other request here. Anything else is a JSON 404 (unknown path) or 405 (a known path with another method).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { shockError } from '../base/index.js';
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

const dashboardBody = Buffer.from(dashboardHtml, 'utf8');
const ownPaths = new Set(['/', '/index.html', '/healthz', '/readyz', '/v1/stats', '/metrics']);

/** Builds the gateway's fallback listener. */
export function createCellRoutes(source: CellRouteSource): (req: IncomingMessage, res: ServerResponse) => void {
  return function cellRoutes(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    if (!ownPaths.has(path)) {
      return sendError(res, shockError('SHOCK_INGRESS_NOT_FOUND', `no route ${method} ${path}`, { path }));
    }
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendError(res, shockError('SHOCK_INGRESS_METHOD_NOT_ALLOWED', `${path} answers GET only`, { path }));
    }
    // The request body (if any) is ignored; drain it so keep-alive works.
    req.resume();
    serveOwnRoute(source, path, req, res);
  };
}

function serveOwnRoute(source: CellRouteSource, path: string, req: IncomingMessage, res: ServerResponse): void {
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
    case '/healthz':
      return sendJson(res, 200, { status: 'ok' });
    case '/readyz': {
      const r = source.readiness();
      if (r.ready) return sendJson(res, 200, { status: 'ready' });
      return sendError(
        res,
        shockError('SHOCK_CELL_NOT_READY', `not ready: ${r.notReady.join(', ')}`, { notReady: r.notReady }),
      );
    }
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
