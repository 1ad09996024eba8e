/**
 * `shock serve` as a real process refuses, before writing anything, a start that cannot succeed: a data directory
 * that cannot be created or written exits 73 with SHOCK_CELL_DATA_DIR_UNUSABLE naming the path, the system's reason
 * and what to do (never an internal error), and a port in use exits 69 with SHOCK_CELL_LISTEN_FAILED while the data
 * directory, the dev key and the admin token were never created. Tests run as root, which ignores mode bits, so the
 * unusable directories are real ones root cannot use either: a path under a regular file (ENOTDIR) and a read-only
 * tmpfs (EROFS).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { mountTmpfs, tmpfsSkipReason } from '../helpers/log-tmpfs.js';

function serve(dataDir: string, port = '0', adminPort = '0'): Promise<CliResult> {
  return runCli(['serve', '--data-dir', dataDir, '--port', port, '--admin-port', adminPort], { timeoutMs: 60_000 });
}

function assertDataDirUnusable(r: CliResult, path: string, reason: RegExp): void {
  assert.equal(r.code, 73, r.stderr);
  assert.match(r.stderr, /\[SHOCK_CELL_DATA_DIR_UNUSABLE\]/);
  assert.doesNotMatch(r.stderr, /SHOCK_INTERNAL|internal error|\n\s+at /, 'no internal error, no stack trace');
  assert.ok(r.stderr.includes(path), `names the path ${path}: ${r.stderr}`);
  assert.match(r.stderr, reason);
  assert.match(r.stderr, /--data-dir/, 'says what to do');
}

async function occupiedPort(): Promise<{ port: string; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: String((server.address() as AddressInfo).port), server };
}

test('serve data dir - a path under a regular file is SHOCK_CELL_DATA_DIR_UNUSABLE (exit 73), not an internal error', async () => {
  const t = tempDir('shock-serve-datadir-');
  try {
    const file = join(t.dir, 'a-file');
    writeFileSync(file, 'not a directory\n');
    const dataDir = join(file, 'data');
    assertDataDirUnusable(
      await serve(dataDir),
      dataDir,
      /a component of the path is a file, not a directory \(ENOTDIR\)/,
    );
    assertDataDirUnusable(await serve(file), file, /EEXIST|ENOTDIR/);
  } finally {
    t.cleanup();
  }
});

test(
  'serve data dir - on a read-only file system, a new or an existing data directory is SHOCK_CELL_DATA_DIR_UNUSABLE',
  { skip: tmpfsSkipReason(), timeout: 120_000 },
  async () => {
    const fs = mountTmpfs(1024 * 1024);
    try {
      mkdirSync(join(fs.dir, 'existing'));
      fs.readOnly();
      const fresh = join(fs.dir, 'fresh');
      assertDataDirUnusable(await serve(fresh), fresh, /the file system is read-only \(EROFS\)/);
      const existing = join(fs.dir, 'existing');
      assertDataDirUnusable(await serve(existing), existing, /cannot be written: the file system is read-only/);
      assert.deepEqual(readdirSync(existing), [], 'nothing was written');
    } finally {
      fs.cleanup();
    }
  },
);

test('serve data dir - a public or admin port in use fails before anything is written: no data dir, key or token', async () => {
  const t = tempDir('shock-serve-busy-');
  const busy = await occupiedPort();
  try {
    for (const [which, port, adminPort] of [
      ['public', busy.port, '0'],
      ['admin', '0', busy.port],
    ] as const) {
      const dataDir = join(t.dir, `data-${which}`);
      const r = await serve(dataDir, port, adminPort);
      assert.equal(r.code, 69, r.stderr);
      assert.equal(existsSync(dataDir), false, `${which} port busy: the data directory was not created`);
      assert.match(r.stderr, /\[SHOCK_CELL_LISTEN_FAILED\]/);
      assert.match(
        r.stderr,
        new RegExp(`the ${which} listener cannot listen on 127\\.0\\.0\\.1:${busy.port}: the port is in use`),
      );
    }
  } finally {
    await new Promise((resolve) => busy.server.close(resolve));
    t.cleanup();
  }
});
