/**
 * Load-generator benchmark: the highest rate `shock load` (open loop, 2 worker threads) holds within 1% — achieved
 * rate within 1% of the schedule, no dropped arrivals, no errors (the lag gate is relaxed to 1 s here: lag is
 * reported, and included in the corrected latency) — against a trivial local server, side by side in one
 * run with `wrk` (Debian package) and `autocannon` (npm) saturating the same server with 64 connections, plus
 * shock's own closed loop (64 clients, best of 1 and 2 worker threads) for a like-for-like saturation figure. Targets: nginx `return 200` (if
 * `nginx` is installed; started here on a loopback port and stopped after) and a no-op `node:http` server.
 *
 * Run: node --import tsx bench/load.ts            (about 2 minutes; prints a table and the ratios)
 *      SHOCK_BENCH_SECONDS=5 to change the length of each measurement (default 3).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runClosedLoop, runOpenLoop } from '../src/measure/load/index.js';

const seconds = Number(process.env.SHOCK_BENCH_SECONDS ?? 3);
const connections = 64;
const children: ChildProcess[] = [];
const work = mkdtempSync(join(tmpdir(), 'shock-bench-load-'));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

async function startNginx(): Promise<string | null> {
  if (spawnSync('sh', ['-c', 'command -v nginx']).status !== 0) return null;
  const port = await freePort();
  const dir = join(work, 'nginx');
  spawnSync('mkdir', ['-p', dir]);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 10000000; client_body_temp_path ${dir}; proxy_temp_path ${dir};
  fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; location / { return 200 'ok'; } } }\n`,
  );
  children.push(spawn('nginx', ['-c', conf, '-p', dir], { stdio: 'ignore' }));
  await waitForPort(port);
  return `http://127.0.0.1:${port}/`;
}

async function startNodeServer(): Promise<string> {
  const port = await freePort();
  const code = `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => s.end('ok')); }).listen(${port}, '127.0.0.1')`;
  children.push(spawn(process.execPath, ['-e', code], { stdio: 'ignore' }));
  await waitForPort(port);
  return `http://127.0.0.1:${port}/`;
}

function runWrk(url: string): number | null {
  const r = spawnSync('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, url], { encoding: 'utf8' });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout ?? '');
  return m ? Number(m[1]) : null;
}

function runAutocannon(url: string): number | null {
  const bin = fileURLToPath(new URL('../node_modules/.bin/autocannon', import.meta.url));
  const r = spawnSync(bin, ['-c', String(connections), '-d', String(seconds), '-j', url], { encoding: 'utf8' });
  try {
    return (JSON.parse(r.stdout) as { requests: { average: number } }).requests.average;
  } catch {
    return null;
  }
}

/** Highest rate held: a ladder ×1.3 from a start until the first invalid run, then one bisection step. */
async function heldRate(url: string, startPerSec: number): Promise<{ ratePerSec: number; tried: string[] }> {
  const tried: string[] = [];
  const attempt = async (rate: number) => {
    const r = await runOpenLoop({
      url,
      ratePerSec: rate,
      durationMs: seconds * 1000,
      warmupMs: 500,
      workers: 2,
      connections,
      lagMaxMs: 1000,
    });
    tried.push(`${Math.round(rate)}${r.valid ? '✓' : `✗(${r.problems.map((p) => p.code).join('+')})`}`);
    return r.valid;
  };
  let good = 0;
  let bad = 0;
  let rate = startPerSec;
  for (let step = 0; step < 8; step++) {
    if (!(await attempt(rate))) {
      bad = rate;
      break;
    }
    good = rate;
    rate *= 1.3;
  }
  if (good > 0 && bad > 0 && (await attempt((good + bad) / 2))) good = (good + bad) / 2;
  return { ratePerSec: good, tried };
}

async function benchTarget(name: string, url: string) {
  const wrk = runWrk(url);
  const autocannon = runAutocannon(url);
  const closed1 = await runClosedLoop({ url, concurrency: connections, durationMs: seconds * 1000, warmupMs: 500 });
  const closed2 = await runClosedLoop({
    url,
    concurrency: connections,
    durationMs: seconds * 1000,
    warmupMs: 500,
    workers: 2,
  });
  const closed = closed1.responsesPerSec >= closed2.responsesPerSec ? closed1 : closed2;
  const held = await heldRate(url, Math.max(500, Math.round(0.2 * (wrk ?? 10_000))));
  return {
    name,
    url,
    wrk,
    autocannon,
    shockClosed: closed.responsesPerSec,
    closedWorkers: closed.meta.workers,
    shockHeld: held.ratePerSec,
    tried: held.tried,
  };
}

async function main() {
  const rows = [];
  try {
    const nginx = await startNginx();
    if (nginx) rows.push(await benchTarget('nginx return 200', nginx));
    else console.log('nginx not installed: skipping that target');
    rows.push(await benchTarget('node:http no-op', await startNodeServer()));
  } finally {
    for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
  const f = (v: number | null) => (v === null ? 'n/a' : Math.round(v).toLocaleString('en-US'));
  const ratio = (a: number, b: number | null) => (b ? (a / b).toFixed(2) : 'n/a');
  console.log(`\nLoad generators, ${connections} connections, ${seconds}s per measurement, Node ${process.version}`);
  for (const r of rows) {
    console.log(`\n${r.name} (${r.url})`);
    console.log(`  wrk -t2 (saturation)            ${f(r.wrk)} req/s`);
    console.log(`  autocannon (saturation)         ${f(r.autocannon)} req/s`);
    console.log(`  shock closed loop (best of 1 and 2 workers: ${r.closedWorkers})  ${f(r.shockClosed)} req/s`);
    console.log(`  shock open loop held within 1%  ${f(r.shockHeld)} req/s   (ladder: ${r.tried.join(' ')})`);
    console.log(
      `  ratios: held/wrk ${ratio(r.shockHeld, r.wrk)}  held/autocannon ${ratio(r.shockHeld, r.autocannon)}  closed/wrk ${ratio(r.shockClosed, r.wrk)}  closed/autocannon ${ratio(r.shockClosed, r.autocannon)}`,
    );
  }
}

await main();
