/**
 * Test helpers for the real `shock serve` process: start it on free ports (`--port 0 --admin-port 0 --json`, the
 * ports are read from its `listening` line), send events with fetch, read its stats and metrics and call its admin
 * API (`fetchStats`, `fetchMetrics`, `adminCall`: the one place that knows they live on the admin listener, behind
 * the admin token), stop it by signal, and wait for its exit.
 * Every process started here is killed by PID in `stop`/`kill`; nothing is matched by name.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnCli } from './cli.js';

/** A running `shock serve`. */
export interface ServeProcess {
  child: ChildProcess;
  url: string;
  adminUrl: string;
  devKey: string | null;
  /** The admin token (read from the file the listening line names; '' when the cell keeps none). */
  adminToken: string;
  dataDir: string;
  /** Everything printed so far. */
  output: () => { stdout: string; stderr: string };
  /** Sends `signal` and resolves with the exit code and signal (SIGKILL after `timeoutMs`). */
  stop: (
    signal?: NodeJS.Signals,
    timeoutMs?: number,
  ) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `shock serve --json` with `args` (and `env` over this process's) on free ports; resolves once it listens. */
export function startServe(
  dataDir: string,
  args: string[] = [],
  timeoutMs = 30_000,
  env: NodeJS.ProcessEnv = {},
  prefix: string[] = [],
): Promise<ServeProcess> {
  const serveArgs = ['serve', '--json', '--port', '0', '--admin-port', '0', '--data-dir', dataDir, ...args];
  const child = spawnCli(serveArgs, { env }, prefix);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', stopTimeoutMs = 20_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shock serve did not listen within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    const onData = () => {
      const line = stdout.split('\n').find((l) => l.includes('"event":"listening"'));
      if (line === undefined) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      const d = JSON.parse(line) as {
        url: string;
        adminUrl: string;
        devKey: string | null;
        adminTokenFile: string | null;
      };
      resolve({
        child,
        url: d.url,
        adminUrl: d.adminUrl,
        devKey: d.devKey,
        adminToken:
          typeof d.adminTokenFile === 'string'
            ? readFileSync(d.adminTokenFile, 'utf8').trim()
            : (env.SHOCK_ADMIN_TOKEN ?? process.env.SHOCK_ADMIN_TOKEN ?? ''),
        dataDir,
        output: () => ({ stdout, stderr }),
        stop,
      });
    };
    child.stdout?.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(`shock serve exited (${code ?? signal}) before listening\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    });
  });
}

/** Writes a YAML/JSON configuration file into `dir` and returns its path. */
export function writeConfig(dir: string, config: unknown, name = 'shock.json'): string {
  const file = join(dir, name);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return file;
}

/** POSTs one event; resolves with status, headers and parsed body. */
export async function postEvent(
  url: string,
  key: string | null,
  event: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...extraHeaders };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers,
    body: typeof event === 'string' ? event : JSON.stringify(event),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: parseMaybe(text) };
}

/** Sends any request and parses a JSON answer when there is one. */
export async function request(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: parseMaybe(text), text };
}

/** What the stats, metrics and admin helpers need of a cell: its admin listener and token. */
export type AdminSide = Pick<ServeProcess, 'adminUrl' | 'adminToken'>;

/** Where a cell serves `/v1/stats` (on the admin listener; `http.observabilityPublic` adds the public one). */
export function statsUrl(cell: AdminSide): string {
  return `${cell.adminUrl}/v1/stats`;
}

/** Where a cell serves `/metrics`. */
export function metricsUrl(cell: AdminSide): string {
  return `${cell.adminUrl}/metrics`;
}

/** Where a cell serves the dashboard. */
export function dashboardUrl(cell: AdminSide): string {
  return `${cell.adminUrl}/`;
}

/** The cell's `/v1/stats` JSON; throws on any status but 200. */
export async function fetchStats(cell: AdminSide): Promise<any> {
  const r = await request(statsUrl(cell));
  if (r.status !== 200) throw new Error(`GET ${statsUrl(cell)} answered ${r.status}: ${r.text}`);
  return r.body;
}

/** The cell's `/metrics` text; throws on any status but 200. */
export async function fetchMetrics(cell: AdminSide): Promise<string> {
  const r = await request(metricsUrl(cell));
  if (r.status !== 200) throw new Error(`GET ${metricsUrl(cell)} answered ${r.status}: ${r.text}`);
  return r.text;
}

/**
 * Calls the cell's admin API as `shock dlq`/`shock reshard` do: with the admin token, and for POST/PUT a JSON body
 * (`{}` when none is given). Resolves with status, headers and the parsed answer, whatever the status.
 */
export function adminCall(
  cell: AdminSide,
  path: string,
  method: 'GET' | 'POST' | 'PUT' = 'GET',
  body?: unknown,
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${cell.adminToken}` };
  if (method !== 'GET') headers['content-type'] = 'application/json';
  return request(`${cell.adminUrl}${path}`, {
    method,
    headers,
    body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
  });
}

function parseMaybe(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Polls `check` every `intervalMs` until it returns true; bounded by `timeoutMs` (throws then). */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs = 20_000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** Test keys and their stored hashes (sha256). */
export const testKeys = {
  acme: { key: 'acme-secret-key', hash: 'sha256:b81ff514581f28cf9536d9227563cf3a93e9ced7728e175b4e1d044be8a3ef29' },
  globex: {
    key: 'globex-secret-key',
    hash: 'sha256:fab58aa1597369c7e83e7c37ece5703ad9445f4660d068c90e5b351f2cdbbfdd',
  },
} as const;
