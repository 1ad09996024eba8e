/**
 * File-system helpers of the file log, and the ONE place its I/O failures become ShockErrors.
 */
import { fdatasync, writevSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ShockError, isShockError, shockError } from '../../base/index.js';

/** What to tell a user for each errno the disk gives us. */
const hints: Record<string, string> = {
  ENOSPC: 'the disk or file system holding the log is full: free space, then restart (the log recovers on open)',
  EDQUOT: 'the disk quota is exhausted: raise it or free space, then restart',
  EROFS: 'the file system holding the log is read-only: remount it read-write (check dmesg for why it went read-only)',
  EIO: 'the disk reported an I/O error: check dmesg and the device health before trusting this disk again',
  EACCES: 'the process may not write the log directory: fix its owner or permissions',
  EPERM: 'the process may not write the log directory: fix its owner or permissions',
  ENOENT: 'a log file or directory disappeared underneath the log: check nothing else deletes files there',
  EMFILE: 'too many open files: raise the open-file limit (ulimit -n) or use fewer partitions',
};

/**
 * Translates a failure of `op` on `path` into SHOCK_LOG_IO (the original error as `cause`). ShockErrors pass
 * through unchanged; errors that are not from the operating system are not ours to rename and pass through too.
 */
export function translateIoError(err: unknown, op: string, path: string): unknown {
  if (isShockError(err)) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof errno !== 'string' || !/^E[A-Z]+$/.test(errno)) return err;
  return shockError(
    'SHOCK_LOG_IO',
    `log ${op} failed on ${path}: ${errno}`,
    { op, path, errno, hint: hints[errno] ?? 'check the disk and the file system holding the log' },
    err,
  );
}

/** Runs `fn`, translating any I/O failure (see `translateIoError`). */
export async function io<T>(op: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translateIoError(err, op, path);
  }
}

/** Writes every byte of `buffers` at `position`, looping over partial writes. Returns the bytes written. */
export async function writeFully(fh: FileHandle, buffers: Buffer[], position: number): Promise<number> {
  let pending = buffers.filter((b) => b.length > 0);
  let at = position;
  while (pending.length > 0) {
    const { bytesWritten } = await fh.writev(pending, at);
    if (bytesWritten <= 0) throw Object.assign(new Error('writev wrote nothing'), { code: 'EIO' });
    at += bytesWritten;
    pending = dropBytes(pending, bytesWritten);
  }
  return at - position;
}

/**
 * `writeFully` on the calling thread. The log's appends use it: a write into the page cache is a copy of a few KiB
 * (microseconds), cheaper than handing it to a libuv thread and back, which on a virtual machine costs two
 * cross-CPU wake-ups. Durability still comes only from the fdatasync that follows, which does run on a thread.
 */
export function writeFullySync(fd: number, buffers: Buffer[], position: number): number {
  let pending = buffers.length === 1 ? buffers : buffers.filter((b) => b.length > 0);
  let at = position;
  while (pending.length > 0 && (pending.length > 1 || pending[0].length > 0)) {
    const bytesWritten = writevSync(fd, pending, at);
    if (bytesWritten <= 0) throw Object.assign(new Error('writev wrote nothing'), { code: 'EIO' });
    at += bytesWritten;
    pending = dropBytes(pending, bytesWritten);
  }
  return at - position;
}

/** fdatasync through the callback API (lighter than `FileHandle.datasync`), failures translated like `io`. */
export function datasyncFd(fd: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fdatasync(fd, (err) => (err === null ? resolve() : reject(translateIoError(err, 'fdatasync', path))));
  });
}

/** Runs `fn` synchronously, translating any I/O failure (see `translateIoError`). */
export function ioSync<T>(op: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw translateIoError(err, op, path);
  }
}

function dropBytes(buffers: Buffer[], n: number): Buffer[] {
  let left = n;
  let i = 0;
  while (i < buffers.length && left >= buffers[i].length) left -= buffers[i++].length;
  const rest = buffers.slice(i);
  if (left > 0) rest[0] = rest[0].subarray(left);
  return rest;
}

/** fsyncs a directory so that the names created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  await io('fsync directory', dir, async () => {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}

let tmpCounter = 0;

/**
 * Replaces `path` atomically and durably: write a unique temporary file, fsync it, rename it over `path`,
 * fsync the directory. A reader sees the old content or the new, never a mix, even after a crash.
 */
export async function writeFileAtomic(path: string, content: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${tmpCounter++}-${Math.random().toString(36).slice(2, 8)}`;
  await io('write', tmp, async () => {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }).catch(async (err: unknown) => {
    await unlink(tmp).catch(() => undefined);
    throw err;
  });
  await io('rename', path, () => rename(tmp, path));
  await fsyncDir(dirname(path));
}

/** True when `err` is the OS saying a file does not exist. */
export function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code === 'ENOENT' || (err instanceof ShockError && e.cause?.code === 'ENOENT');
}
