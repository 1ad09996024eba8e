/**
 * The system under test. A URL target is any HTTP service already running; N is then the client concurrency. A
 * command target is a template such as `shock serve --consumers {N} --port {PORT}` that the lab starts at each N of
 * the plan (in its own process group, on a free port), waits for until it answers HTTP, and stops afterwards, so the
 * lab can vary N itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { request } from 'undici';
import { shockError } from '../../base/index.js';

/** How the lab reaches the system under test. */
export interface TargetSpec {
  /** URL to load; for a command target it may contain {PORT} (default `http://127.0.0.1:{PORT}/`). */
  url: string;
  /** Command template with {N} and {PORT}; null for a URL target. */
  command: string | null;
  /** Executable and leading arguments used instead of a shell (for the lab's own servers). */
  argv?: string[] | null;
  /** URL polled until it answers (any HTTP status), default: the target URL's origin + `/healthz`. */
  readyUrl?: string | null;
  /** How long a started command may take to answer HTTP. */
  readyTimeoutMs: number;
}

/** A target ready to be loaded at one N. */
export interface RunningTarget {
  readonly url: string;
  readonly n: number;
  /** Stops what the lab started (nothing for a URL target). */
  stop(): Promise<void>;
}

/** Reserves a free TCP port on 127.0.0.1 (released before the command binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Replaces {N} and {PORT} in a template. */
export function expandTemplate(template: string, n: number, port: number): string {
  return template.replaceAll('{N}', String(n)).replaceAll('{PORT}', String(port));
}

/** Checks a target spec before anything runs; every problem at once. */
export function checkTargetSpec(spec: TargetSpec): void {
  const problems: string[] = [];
  if (spec.command === null && !spec.argv) {
    if (spec.url.includes('{PORT}')) problems.push('the URL contains {PORT} but no --command starts a server');
  } else if (spec.command !== null && !spec.command.includes('{N}')) {
    problems.push('--command must contain {N} (the lab passes N to the system under test)');
  }
  let parsed: URL | null = null;
  try {
    parsed = new URL(spec.url.replaceAll('{PORT}', '1'));
  } catch {
    problems.push(`--target must be an http:// URL, got "${spec.url}"`);
  }
  if (parsed && parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    problems.push(`--target must be an http:// or https:// URL, got "${spec.url}"`);
  }
  if (problems.length > 0) {
    throw shockError('SHOCK_LAB_BAD_TARGET', problems.join('; '), {
      problems,
      hint: 'use --target http://HOST:PORT/PATH, or --command "CMD --consumers {N} --port {PORT}"',
    });
  }
}

/** Resolves once `url` answers HTTP (any status) or rejects after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs: number, exited?: () => string | null): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let lastError = 'no answer';
  while (performance.now() < deadline) {
    const exit = exited?.();
    if (exit) throw shockError('SHOCK_LAB_BAD_TARGET', `the command exited before it answered: ${exit}`, { url });
    try {
      const res = await request(url, { method: 'GET', headersTimeout: 2000, bodyTimeout: 2000 });
      await res.body.dump();
      return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw shockError('SHOCK_LAB_BAD_TARGET', `the target did not answer HTTP within ${timeoutMs} ms`, {
    url,
    lastError,
    hint: 'check the URL (is the service running?) or the command (does it listen on {PORT}?)',
  });
}

function defaultReadyUrl(url: string): string {
  return new URL('/healthz', url).toString();
}

/** Starts (for a command) or checks (for a URL) the target at N. */
export async function startTarget(spec: TargetSpec, n: number): Promise<RunningTarget> {
  if (spec.command === null && !spec.argv) {
    await waitForHttp(spec.readyUrl ?? spec.url, spec.readyTimeoutMs);
    return { url: spec.url, n, stop: async () => {} };
  }
  const port = await freePort();
  const url = expandTemplate(spec.url, n, port);
  const child = spawnTarget(spec, n, port);
  let exitText: string | null = null;
  let stderrTail = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderrTail = (stderrTail + d).slice(-2000)));
  child.stdout?.resume();
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitText = `exit code ${code ?? 'none'}, signal ${signal ?? 'none'}${stderrTail ? `; stderr: ${stderrTail.trim()}` : ''}`;
      resolve();
    });
  });
  child.once('error', (err) => (exitText = `cannot start: ${err.message}`));
  const stop = () => stopChild(child, exited);
  try {
    await waitForHttp(
      spec.readyUrl ? expandTemplate(spec.readyUrl, n, port) : defaultReadyUrl(url),
      spec.readyTimeoutMs,
      () => exitText,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, n, stop };
}

function spawnTarget(spec: TargetSpec, n: number, port: number): ChildProcess {
  const options = { stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'], detached: true };
  if (spec.argv) {
    const [file, ...args] = spec.argv.map((a) => expandTemplate(a, n, port));
    return spawn(file, args, options);
  }
  return spawn('/bin/sh', ['-c', `exec ${expandTemplate(spec.command ?? '', n, port)}`], options);
}

/** SIGTERM to the child's process group, SIGKILL after 3 s; resolves when it has exited. */
async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const pid = child.pid;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  };
  signalGroup('SIGTERM');
  const timer = setTimeout(() => signalGroup('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}
