/**
 * What `startCell` checks before it writes anything, so that a start that cannot succeed leaves nothing behind and
 * says why: the listeners' ports can be bound (a port in use fails before the data directory, the dev key or the
 * admin token exist), then the data directory can be created and written (else SHOCK_CELL_DATA_DIR_UNUSABLE naming
 * the path, the system's reason and what to do — never an internal error).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { shockError } from '../base/index.js';
import type { CellConfig } from './config.js';

/** One address the cell will listen on, with the option that sets its port (for the hint). */
interface ListenAddress {
  what: 'public' | 'admin';
  host: string;
  port: number;
  option: string;
}

/**
 * Binds every configured listener address at once (so that the public and admin ports cannot collide either),
 * then releases them. Port 0 (any free port) cannot be busy and is not probed. Throws SHOCK_CELL_LISTEN_FAILED.
 */
export async function checkListenAddresses(config: CellConfig): Promise<void> {
  const addresses: ListenAddress[] = [
    { what: 'public', host: config.http.host, port: config.http.port, option: '--port' },
  ];
  if (config.admin.enabled) {
    addresses.push({ what: 'admin', host: config.admin.host, port: config.admin.port, option: '--admin-port' });
  }
  const held: Server[] = [];
  try {
    for (const a of addresses) if (a.port !== 0) held.push(await bind(a));
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
}

function bind(a: ListenAddress): Promise<Server> {
  return new Promise((resolveBind, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      const inUse = err.code === 'EADDRINUSE';
      const reason = inUse ? 'the port is in use' : (err.code ?? err.message);
      const hint = inUse
        ? `stop what listens on port ${a.port}, or choose another ${a.option} (0 = any free port)`
        : `check the ${a.what} host: it must be an address of this machine`;
      const message = `the ${a.what} listener cannot listen on ${a.host}:${a.port}: ${reason}; nothing was written`;
      reject(shockError('SHOCK_CELL_LISTEN_FAILED', message, { host: a.host, port: a.port, hint }, err));
    });
    server.listen({ host: a.host, port: a.port, exclusive: true }, () => resolveBind(server));
  });
}

/** What the system's error code means for a data directory, in words. */
const dataDirReasons: Record<string, string> = {
  EACCES: 'permission denied (the user running shock may not create or write it)',
  EPERM: 'operation not permitted (the user running shock may not create or write it)',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a component of the path is a file, not a directory',
  EEXIST: 'the path exists and is not a directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
};

/**
 * Creates the data directory (and its parents) if needed and proves it writable: a small file is written, synced
 * and removed. Throws SHOCK_CELL_DATA_DIR_UNUSABLE with the path, the system's reason and what to do.
 */
export function prepareDataDir(dataDir: string): void {
  const path = resolve(dataDir);
  try {
    mkdirSync(path, { recursive: true });
  } catch (err) {
    throw dataDirUnusable(path, 'created', mkdirCause(path, err));
  }
  const probe = join(path, `.shock-write-check-${process.pid}`);
  try {
    const fd = openSync(probe, 'w', 0o600);
    try {
      writeSync(fd, 'ok\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    unlinkSync(probe);
  } catch (err) {
    throw dataDirUnusable(path, 'written', err);
  }
}

/**
 * Node's recursive mkdir reports some failures as ENOENT (on a read-only file system, for one): the real reason is
 * what creating the first missing component alone says.
 */
function mkdirCause(path: string, err: unknown): unknown {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return err;
  let first = path;
  while (dirname(first) !== first && !existsSync(dirname(first))) first = dirname(first);
  try {
    mkdirSync(first);
    rmdirSync(first); // it could be created after all: leave nothing behind
    return err;
  } catch (cause) {
    return cause;
  }
}

function dataDirUnusable(path: string, verb: 'created' | 'written', err: unknown) {
  const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
  const reason = dataDirReasons[code] ?? (err as Error).message;
  return shockError(
    'SHOCK_CELL_DATA_DIR_UNUSABLE',
    `the data directory ${path} cannot be ${verb}: ${reason} (${code})`,
    {
      dataDir: path,
      errno: code,
      hint: 'choose another --data-dir (or dataDir in the configuration), or make this path a directory the user running shock can write',
    },
    err,
  );
}
