/**
 * The demonstration's system under test: a node:http server whose N consumers run one of the three designs
 * (`shock lab serve-demo --design shared-lock --consumers 8 --port 0` runs one as its own process).
 *
 * Every request to any path except `/healthz` is one batch, answered 200 when a consumer has done it.
 */
import { createServer, type Server } from 'node:http';
import { createDesign, demoTimingDefault, type DemoDesign, type DemoTiming } from './designs.js';
import { ConsumerPool } from './consumer-pool.js';
import { closeServer, listenLocal } from '../listen.js';

/** Options of one demo server. */
export interface DemoServerOptions {
  design: DemoDesign;
  consumers: number;
  port: number;
  host?: string;
  timing?: DemoTiming;
}

/** A running demo server. */
export interface DemoServer {
  readonly port: number;
  readonly pool: ConsumerPool;
  close(): Promise<void>;
}

/** Starts a demo server; resolves once it listens. */
export async function startDemoServer(options: DemoServerOptions): Promise<DemoServer> {
  const pool = new ConsumerPool(createDesign(options.design, options.consumers, options.timing ?? demoTimingDefault));
  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    pool.submit().then(
      () => res.writeHead(200, { 'content-type': 'text/plain' }).end('done\n'),
      () => res.writeHead(503, { 'content-type': 'text/plain' }).end('stopped\n'),
    );
  });
  const port = await listenLocal(server, options.port, options.host);
  return {
    port,
    pool,
    close: () => {
      pool.stop();
      return closeServer(server);
    },
  };
}
