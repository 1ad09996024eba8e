/** Listening and closing for the lab's own test services (the demo designs and the known-law service). */
import type { Server } from 'node:http';

/** Listens on `host:port` (port 0 = any free port) with long keep-alive; resolves with the port actually bound. */
export async function listenLocal(server: Server, port: number, host = '127.0.0.1'): Promise<number> {
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}

/** Cuts every connection and resolves once the server is closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
