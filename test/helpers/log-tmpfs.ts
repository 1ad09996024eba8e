/**
 * A real small file system for disk-error tests: a tmpfs of a given size mounted on a temporary directory. A full
 * tmpfs gives real ENOSPC; `remount,ro` gives real EROFS (the kernel refuses it while a file is open for writing).
 * chmod cannot make a directory read-only for root, so these tests need mount(8) and root; `tmpfsSkipReason` says
 * whether they can run here (skipped locally when they cannot, a failure under CI).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessAvailable } from './dependency.js';

export interface Tmpfs {
  dir: string;
  resize(sizeBytes: number): void;
  readOnly(): void;
  cleanup(): void;
}

function mount(args: string[]): void {
  execFileSync('mount', args, { stdio: 'pipe', timeout: 10_000 });
}

export function mountTmpfs(sizeBytes: number): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), 'shock-tmpfs-'));
  try {
    mount(['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    resize: (bytes) => mount(['-o', `remount,size=${bytes}`, dir]),
    readOnly: () => mount(['-o', 'remount,ro', dir]),
    cleanup: () => {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe', timeout: 10_000 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Why tmpfs tests cannot run here, or undefined when they can. */
export function tmpfsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux tmpfs';
  try {
    mountTmpfs(64 * 1024).cleanup();
    return undefined;
  } catch (err) {
    return `cannot mount a tmpfs here (needs root): ${(err as Error).message.split('\n')[0]}`;
  }
}

/** The `skip` option of a tmpfs test: false when a tmpfs can be mounted; else the reason locally, a failure under CI. */
export function tmpfsSkipReason(): string | false {
  return skipUnlessAvailable(tmpfsUnavailable());
}
