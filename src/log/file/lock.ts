/**
 * The writer lock: at most one process (and one open log within it) appends to a log directory.
 *
 * `DIR/LOCK` is created exclusively (O_EXCL) and holds the owner's pid. A lock left by a process that died
 * (SIGKILL, power loss) is stale: its pid no longer runs, so the next opener removes it and takes the lock.
 * Within one process a registry of open directories refuses a second writer. Readers never take the lock.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { shockError } from '../../base/index.js';
import { io, isNotFound } from './io.js';

export const LOCK_NAME = 'LOCK';

const openInThisProcess = new Set<string>();

/** A held lock; `release` removes it (idempotent). */
export interface DirLock {
  release(): Promise<void>;
}

/** Takes the writer lock of `dir` or throws SHOCK_LOG_LOCKED naming the holder. */
export async function acquireLock(dir: string): Promise<DirLock> {
  const key = resolve(dir);
  if (openInThisProcess.has(key)) throw lockedError(dir, process.pid, 'this process');
  const path = join(dir, LOCK_NAME);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryCreate(path)) {
      openInThisProcess.add(key);
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          openInThisProcess.delete(key);
          await unlink(path).catch(() => undefined);
        },
      };
    }
    const holder = await readHolder(path);
    if (holder === undefined) continue; // removed between our create and our read: try again
    // Our own pid: another open of this directory in this process is under way (or open): never stale.
    if (holder.pid === process.pid) throw lockedError(dir, holder.pid, 'this process');
    if (holder.host === hostname() && isAlive(holder.pid)) throw lockedError(dir, holder.pid, holder.host);
    if (holder.host !== hostname()) throw lockedError(dir, holder.pid, holder.host);
    await io('remove stale lock', path, () =>
      unlink(path).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e))),
    );
  }
  throw shockError('SHOCK_LOG_LOCKED', `could not take the lock ${path}: it keeps changing hands`, {
    dir,
    hint: 'another process is opening this log at the same time; open it from one process only',
  });
}

async function tryCreate(path: string): Promise<boolean> {
  return io('create lock', path, async () => {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), sinceMs: Date.now() }) + '\n');
      } finally {
        await fh.close();
      }
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  });
}

async function readHolder(path: string): Promise<{ pid: number; host: string } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as { pid?: unknown; host?: unknown };
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string')
      return { pid: parsed.pid, host: parsed.host };
  } catch {
    // A lock torn by a crash while being written: its writer is gone.
  }
  return { pid: -1, host: hostname() };
}

function isAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedError(dir: string, pid: number, holder: string) {
  return shockError('SHOCK_LOG_LOCKED', `the log ${dir} is already open for writing (pid ${pid}, ${holder})`, {
    dir,
    pid,
    hint: 'stop the other process first, or read the log with `shock log inspect` / `shock log read` (they take no lock)',
  });
}
