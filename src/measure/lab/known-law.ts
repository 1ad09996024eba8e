/**
 * A test service whose throughput follows a chosen scaling law: X(N) = γN / (1 + α(N − 1) + βN(N − 1))
 * (Gunther's Universal Scalability Law). It has N service slots; each slot completes one request every
 * S(N) = N / X(N) milliseconds on an absolute schedule, so timer lateness never accumulates and a client that keeps
 * more than N requests in flight measures exactly X(N). A seeded, antithetic jitter on each service time gives
 * the latencies a realistic spread without moving the realised rate away from the law.
 *
 * It exists so the lab can be checked against known coefficients: a lab run must recover γ, α, β within the
 * intervals it reports. `shock lab serve-law --gamma 100 --alpha 0.05 --beta 0.002 --n 8 --port 0` runs one.
 */
import { createServer, type Server } from 'node:http';
import { mulberry32, shockError } from '../../base/index.js';
import { closeServer, listenLocal } from './listen.js';

/** The law and the N the service runs at. */
export interface LawServerOptions {
  /** Throughput at N = 1, requests per second. */
  gamma: number;
  alpha: number;
  beta: number;
  /** Number of service slots (the N of the law). */
  n: number;
  port: number;
  host?: string;
  /** Mean-preserving relative jitter of each service time, in [0, 0.9]. */
  jitter?: number;
  seed?: number;
  /** Answer every request with 500 (to exercise the lab's handling of a failing service). */
  failing?: boolean;
}

/** A running law server. */
export interface LawServer {
  readonly port: number;
  /** The service time of one request at this N, milliseconds. */
  readonly serviceMs: number;
  close(): Promise<void>;
}

/** X(N) of the USL, requests per second. */
export function lawThroughputPerSec(gamma: number, alpha: number, beta: number, n: number): number {
  return (gamma * n) / (1 + alpha * (n - 1) + beta * n * (n - 1));
}

/** Starts the service; resolves once it listens. */
export async function startLawServer(options: LawServerOptions): Promise<LawServer> {
  const { gamma, alpha, beta, n } = options;
  const jitter = options.jitter ?? 0;
  const problems: string[] = [];
  if (!(gamma > 0)) problems.push(`gamma must be > 0, got ${gamma}`);
  if (!(alpha >= 0 && alpha <= 1)) problems.push(`alpha must be in [0, 1], got ${alpha}`);
  if (!(beta >= 0)) problems.push(`beta must be >= 0, got ${beta}`);
  if (!(Number.isInteger(n) && n >= 1)) problems.push(`n must be a whole number >= 1, got ${n}`);
  if (!(jitter >= 0 && jitter <= 0.9)) problems.push(`jitter must be in [0, 0.9], got ${jitter}`);
  if (problems.length > 0) throw shockError('SHOCK_LAB_BAD_TARGET', problems.join('; '), { problems });

  const serviceMs = (1000 * n) / lawThroughputPerSec(gamma, alpha, beta, n);
  const rng = mulberry32(options.seed ?? 1);
  const slotFreeMs: number[] = new Array(n).fill(0);
  const slotJitter: number[] = new Array(n).fill(NaN);

  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (options.failing) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('failing on purpose\n');
      return;
    }
    const nowMs = performance.now();
    let slot = 0;
    for (let i = 1; i < n; i++) if (slotFreeMs[i] < slotFreeMs[slot]) slot = i;
    // Antithetic jitter: each slot alternates +u and −u, so service times vary while the slot's realised rate stays
    // within one step of X(N)/N (independent jitter would make the realised rate a random walk away from the law).
    let u = slotJitter[slot];
    if (Number.isNaN(u)) {
      u = 2 * rng.next() - 1;
      slotJitter[slot] = -u;
    } else {
      slotJitter[slot] = NaN;
    }
    const stepMs = serviceMs * (1 + jitter * u);
    const doneMs = Math.max(nowMs, slotFreeMs[slot]) + stepMs;
    slotFreeMs[slot] = doneMs;
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'), doneMs - nowMs);
  });
  const port = await listenLocal(server, options.port, options.host);
  return {
    port,
    serviceMs,
    close: () => closeServer(server),
  };
}
