/**
 * Test helpers shared by every area: temporary directories that clean themselves up, and running the real `shock`
 * CLI as a child process (through tsx, so tests need no build).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const cliMain = join(repoRoot, 'src/cli/main.ts');

/** A fresh temporary directory; removed by the returned cleanup function. */
export function tempDir(prefix = 'shock-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Node arguments that run a TypeScript entry point through tsx. */
export function tsxArgs(entry: string, args: string[] = []): string[] {
  return ['--import', 'tsx', entry, ...args];
}

/**
 * A gateway in a `shock` started here sees an event-loop delay of 0 (`SHOCK_TEST_EVENT_LOOP_DELAY_MS`): how busy
 * the test machine is must not shed a test's requests. A shedding test sets the variable in `options.env` (or this
 * process's environment) to drive the signal.
 */
const quietLoop = { SHOCK_TEST_EVENT_LOOP_DELAY_MS: '0' };

/** Spawns `shock ARGS` (from source) and resolves when it exits. Bounded by `timeoutMs` (SIGKILL after). */
export function runCli(
  args: string[],
  options: SpawnOptions & { timeoutMs?: number; input?: string } = {},
): Promise<CliResult> {
  const { timeoutMs = 60_000, input, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, tsxArgs(cliMain, args), {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...spawnOptions,
      env: { ...quietLoop, ...process.env, CI: '1', ...(spawnOptions.env ?? {}) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

/**
 * Spawns `shock ARGS` and returns the child for tests that signal it (serve, crash tests); see `quietLoop`.
 * `prefix` runs it through another command that execs it (e.g. `ip netns exec NS`: the child's PID is still shock's).
 */
export function spawnCli(args: string[], options: SpawnOptions = {}, prefix: string[] = []): ChildProcess {
  const argv = [process.execPath, ...tsxArgs(cliMain, args)];
  const [command, ...rest] = [...prefix, ...argv];
  return spawn(command, rest, {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
    env: { ...quietLoop, ...process.env, CI: '1', ...(options.env ?? {}) },
  });
}
