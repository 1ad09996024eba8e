/**
 * A test service for the lab with a known capacity: K·N slots, each request holding one slot for
 * S(N) = D·(1 + α(N − 1) + βN(N − 1)) ms (fixed, no jitter), requests beyond the slots waiting in arrival order. Its
 * throughput is the USL's X(N) = K·N / S(N): γ = K/D, the given α and β. A closed loop of C clients gets
 * min(C, K·N) / S(N): it gains with every client up to K·N and nothing beyond, which is what the lab's concurrency
 * ramp must find. `/healthz` answers at once without a slot.
 *
 * Run as a process: `node --import tsx lab-slots-server.ts N PORT [K] [D_MS] [ALPHA] [BETA]`; serves until SIGTERM.
 */
import { createServer, type ServerResponse } from 'node:http';

const [nText, portText, kText = '3', dText = '20', alphaText = '0.1', betaText = '0.02'] = process.argv.slice(2);
const n = Number(nText);
const slots = Number(kText) * n;
const serviceMs = Number(dText) * (1 + Number(alphaText) * (n - 1) + Number(betaText) * n * (n - 1));
let busy = 0;
const waiting: ServerResponse[] = [];

function start(res: ServerResponse): void {
  busy++;
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    busy--;
    const next = waiting.shift();
    if (next) start(next);
  }, serviceMs);
}

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url === '/healthz') {
      res.writeHead(200).end('ok\n');
      return;
    }
    if (busy < slots) start(res);
    else waiting.push(res);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(portText), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
