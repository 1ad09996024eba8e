/**
 * A test server that freezes completely for D ms every P ms (the coordinated-omission acceptance test of the load
 * generator). A request that arrives outside a freeze is answered S ms after it arrived; one that arrives during a
 * freeze is held until the freeze ends and then answered S ms later. With open-loop arrivals at a fixed rate the
 * latency distribution is therefore the mixture: a fraction D/P spread evenly over (S, S + D], the rest at S.
 *
 * Release times are deadlines checked against the clock and re-armed if a timer fires early (libuv timers use a
 * cached loop time and can fire up to 1 ms early), so no response leaves before its model time.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FreezeServerOptions {
  serviceMs: number;
  freezeMs: number;
  periodMs: number;
}

export interface FreezeServer {
  url: string;
  /** Responses sent so far. */
  answered(): number;
  close(): Promise<void>;
}

/** The analytic latency distribution of the freeze server under open-loop load (ms). */
export function idealFreezeDistribution(o: FreezeServerOptions) {
  const f = o.freezeMs / o.periodMs;
  /** Quantile q of the mixture: S below 1 − f, then uniform over (S, S + D]. */
  const quantile = (q: number): number => (q <= 1 - f ? o.serviceMs : o.serviceMs + o.freezeMs * (1 - (1 - q) / f));
  return {
    p95: quantile(0.95),
    p99: quantile(0.99),
    p99_9: quantile(0.999),
    max: o.serviceMs + o.freezeMs,
    mean: o.serviceMs + (f * o.freezeMs) / 2,
  };
}

export async function startFreezeServer(o: FreezeServerOptions): Promise<FreezeServer> {
  const t0 = performance.now();
  let answered = 0;
  const releaseAt = (res: ServerResponse, deadlineMs: number) => {
    const waitMs = deadlineMs - performance.now();
    if (waitMs > 0) {
      setTimeout(() => releaseAt(res, deadlineMs), Math.max(1, Math.ceil(waitMs)));
      return;
    }
    answered++;
    res.end('ok');
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const now = performance.now();
      const phase = (now - t0) % o.periodMs;
      const heldMs = phase < o.freezeMs ? o.freezeMs - phase : 0;
      releaseAt(res, now + heldMs + o.serviceMs);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    answered: () => answered,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Run as a process: `node --import tsx freeze-server.ts S D P` prints its URL on stdout and serves until killed. */
if (process.argv[1]?.endsWith('freeze-server.ts') && process.argv.length >= 5) {
  const [serviceMs, freezeMs, periodMs] = process.argv.slice(2, 5).map(Number);
  const s = await startFreezeServer({ serviceMs, freezeMs, periodMs });
  process.stdout.write(s.url + '\n');
  setInterval(() => process.stdout.write(`answered ${s.answered()}\n`), 200).unref();
  process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
}
