/**
 * The product's own scaling receipt (issue 14, item 6): throughput of the cell spread over processes on one
 * JetStream log, against the number of processes, fitted to the USL with intervals by the lab's own fit.
 *
 * - Gateways (N = 1…4 `shock serve --role gateway`): a closed loop of `--gateway-clients` requests per gateway
 *   (single events, `POST /v1/events`, keyed) spread over the N gateways; a window counts the 202s.
 * - Consumers (N = 1…16 `shock serve --role consumer`, one group per N over the same pre-filled backlog, one worker
 *   each): an I/O-bound handler (bench/handlers/one-connection.ts: `--delay-ms` per batch of at most `--batch` events,
 *   one batch in flight per process) so that the two cores of this machine are not what caps it; a window counts the events the group consumed (the sum of every
 *   member's `consumedTotal` in `/v1/stats`), starting once the group has settled (each partition owned once).
 *
 * Each phase writes a lab run directory (`windows.ndjson` in the lab's format, then `certificate.json` and
 * `report.html` by `refitLab`, i.e. `shock lab --refit DIR`) under `--out` (default bench/results/scale-out).
 * A private nats-server and PostgreSQL are started on loopback and stopped at the end, as the tests do.
 *
 * Run: npm run bench -- scale-out      (≈ 6–8 min on 2 cores; every process it starts is stopped by its pid)
 *      node --import tsx bench/scale-out.ts [--out DIR] [--consumers 1,2,4,6,8,12,16] [--gateways 1,2,3,4|none]
 *        [--windows 4] [--window-s 3] [--delay-ms 40] [--batch 2] [--gateway-clients 8]
 */
import http from 'node:http';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import {
  appendRecord,
  describeMachine,
  refitLab,
  type RunRecord,
  type WindowRecord,
} from '../src/measure/lab/index.js';
import { createLatencyHistogram, encodeHistogram, recordLatencyMs } from '../src/measure/histogram/index.js';
import { startNatsServer, type NatsServer } from '../test/helpers/nats.js';
import { startPostgres, type PostgresServer } from '../test/helpers/postgres.js';
import { fetchStats, startServe, testKeys, writeConfig, type ServeProcess } from '../test/helpers/cell-serve.js';
import { waitSettled } from '../test/helpers/group-serve.js';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'bench/results/scale-out' },
    consumers: { type: 'string', default: '1,2,4,6,8,12,16' },
    gateways: { type: 'string', default: '1,2,3,4' },
    windows: { type: 'string', default: '4' },
    'window-s': { type: 'string', default: '3' },
    'delay-ms': { type: 'string', default: '40' },
    batch: { type: 'string', default: '2' },
    'gateway-clients': { type: 'string', default: '8' },
  },
});
const outDir = resolve(args.out);
const consumerPlan = args.consumers.split(',').map(Number);
const gatewayPlan = args.gateways === 'none' ? [] : args.gateways.split(',').map(Number);
const windowsPerN = Number(args.windows);
const windowMs = Number(args['window-s']) * 1000;
const delayMs = Number(args['delay-ms']);
const batch = Number(args.batch);
const clientsPerGateway = Number(args['gateway-clients']);
const partitions = 16;
const streamPrefix = 'scaleout';
const warmupMs = 2000;
const handlerPath = fileURLToPath(new URL('./handlers/one-connection.ts', import.meta.url));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

interface Engines {
  nats: NatsServer;
  postgres: PostgresServer;
  dir: string;
}

function config(e: Engines, name: string, group: string): string {
  return writeConfig(
    e.dir,
    {
      tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 1_000_000, burst: 1_000_000 }],
      log: { partitions, engine: 'jetstream', jetstream: { servers: [e.nats.url], streamPrefix } },
      consumers: { group, workers: 1, leaseMs: 5000, handler: handlerPath },
      sink: { engine: 'postgres', postgres: { url: e.postgres.url, schema: group } },
      limits: { consumeBatchRecordsMax: batch },
    },
    `${name}.json`,
  );
}

async function startMany(e: Engines, n: number, role: string, group: string, tag: string): Promise<ServeProcess[]> {
  const cfg = config(e, `${tag}-n${n}`, group);
  // Started two at a time: sixteen tsx start-ups at once on two cores would each take longer than the start timeout.
  const out: ServeProcess[] = [];
  for (let i = 0; i < n; i += 2) {
    const ids = [i, i + 1].filter((k) => k < n);
    out.push(
      ...(await Promise.all(
        ids.map((k) =>
          startServe(join(e.dir, `${tag}-n${n}-${k}`), ['--config', cfg, '--role', role], 90_000, {
            SHOCK_BENCH_HANDLER_MS: String(delayMs),
          }),
        ),
      )),
    );
  }
  return out;
}

async function stopAll(cells: ServeProcess[]): Promise<void> {
  await Promise.all(cells.map((c) => c.stop('SIGTERM', 10_000)));
}

function runRecord(name: string, nMeaning: string, plan: number[], notes: string[]): RunRecord {
  return {
    kind: 'run',
    startedAt: new Date().toISOString(),
    name,
    target: 'shock serve processes on one JetStream log (bench/scale-out.ts)',
    command: 'bench/scale-out.ts',
    nMeaning,
    plan,
    windows: windowsPerN,
    windowMs,
    stealPctMax: 10,
    latencyPlanned: false,
    constraints: {
      keys: 'uniform',
      zipfExponent: null,
      fsync: 'off',
      telemetry: 'on',
      operatingN: null,
      crossShardFraction: null,
      notes,
    },
    floors: { storageFsyncPerSec: null, networkRttUsP99: null, source: 'not probed' },
    machine: describeMachine(),
  };
}

/** Busy and total CPU ticks of the machine, and the CPU ticks (user + system) of the given processes. */
function cpuTicks(pids: number[]): { busy: number; total: number; ours: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  let ours = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ours += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return { busy: total - cpu[3] - cpu[4], total, ours };
}

/** One line of summary.json per window: what the machine was doing meanwhile. */
interface WindowNote {
  phase: string;
  n: number;
  window: number;
  perSec: number;
  load1: number;
  machineBusyPct: number;
  ourProcessesCores: number;
}
const notes: WindowNote[] = [];
function note(
  phase: string,
  n: number,
  w: number,
  perSec: number,
  c0: ReturnType<typeof cpuTicks>,
  c1: ReturnType<typeof cpuTicks>,
  ms: number,
): string {
  const busy = (100 * (c1.busy - c0.busy)) / Math.max(1, c1.total - c0.total);
  const cores = (c1.ours - c0.ours) / 100 / (ms / 1000);
  notes.push({ phase, n, window: w, perSec, load1: loadavg()[0], machineBusyPct: busy, ourProcessesCores: cores });
  return `machine busy ${busy.toFixed(0)}%, its ${n} processes ${cores.toFixed(2)} cores`;
}

function stealTicks(): { steal: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { steal: cpu[7] ?? 0, total: cpu.reduce((a, b) => a + b, 0) };
}

function windowRecord(
  n: number,
  concurrency: number,
  attempt: number,
  startedAt: Date,
  durationMs: number,
  completed: number,
  errors: number,
  histogram: string,
  stealPct: number | null,
): WindowRecord {
  const steal = stealPct !== null && stealPct > 10;
  return {
    kind: 'window',
    n,
    concurrency,
    attempt,
    startedAt: startedAt.toISOString(),
    durationMs,
    completed,
    errors,
    aboveStall: 0,
    throughputPerSec: (completed / durationMs) * 1000,
    ratioP99P50: 0,
    stallBoundaryMs: null,
    stealPct,
    kept: !steal && completed > 0,
    reason: steal ? 'steal' : completed > 0 ? null : 'empty',
    firstError: null,
    histogram,
  };
}

/**
 * The warm-up: probes of `warmupMs` until two in a row agree within 10% (at most 8 probes). The last processes started
 * are still warming up when the first answer (tsx, pools, JIT); a fixed warm-up left the first windows of N = 12 at
 * half the rate of the last one. `count` returns what completed since its previous call.
 */
async function settleRate(count: () => Promise<number>, what: string): Promise<void> {
  await count();
  let previous = -1;
  for (let probe = 0; probe < 8; probe++) {
    await sleep(warmupMs);
    const rate = ((await count()) / warmupMs) * 1000;
    if (previous > 0 && Math.abs(rate - previous) <= 0.1 * Math.max(rate, previous)) return;
    console.log(`${what}: warm-up probe ${probe}: ${rate.toFixed(0)}/s`);
    previous = rate;
  }
}

// ---------------------------------------------------------------- gateways

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
let seq = 0;

function post(url: string, path: string, body: string): Promise<number> {
  return new Promise((resolvePost) => {
    const req = http.request(
      `${url}${path}`,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${testKeys.acme.key}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolvePost(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolvePost(0));
    req.end(body);
  });
}

function eventBody(): string {
  const n = seq++;
  return JSON.stringify({ event_id: `e${n}`, type: 'page.view', key: `user-${n % 997}`, payload: { url: `/p/${n}` } });
}

/** A closed loop of `clients` per URL; `tally` counts 202s and errors, with the 202s' latencies. */
function closedLoop(urls: string[], clients: number) {
  let stop = false;
  let ok = 0;
  let errors = 0;
  let hist = createLatencyHistogram();
  const loops: Promise<void>[] = [];
  for (const url of urls)
    for (let c = 0; c < clients; c++)
      loops.push(
        (async () => {
          while (!stop) {
            const t0 = performance.now();
            const status = await post(url, '/v1/events', eventBody());
            if (status === 202) {
              ok++;
              recordLatencyMs(hist, performance.now() - t0);
            } else errors++;
          }
        })(),
      );
  return {
    cut: () => {
      const r = { ok, errors, histogram: encodeHistogram(hist) };
      ok = 0;
      errors = 0;
      hist = createLatencyHistogram();
      return r;
    },
    stop: async () => {
      stop = true;
      await Promise.all(loops);
    },
  };
}

async function gatewayPhase(e: Engines): Promise<string[]> {
  const dir = join(outDir, 'gateways');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'windows.ndjson');
  writeFileSync(path, '');
  appendRecord(
    path,
    runRecord('scale-out: gateways', 'gateway processes (shock serve --role gateway)', gatewayPlan, [
      `closed loop of ${clientsPerGateway} clients per gateway, single events POST /v1/events, 997 keys`,
      `log: JetStream, ${partitions} partitions, replicas 1, one local nats-server 2.9.10`,
      'clients, gateways, nats-server and PostgreSQL share the same 2 cores',
    ]),
  );
  const lines: string[] = [];
  for (const n of gatewayPlan) {
    const cells = await startMany(e, n, 'gateway', 'sink', 'gw');
    try {
      const loop = closedLoop(
        cells.map((c) => c.url),
        clientsPerGateway,
      );
      await settleRate(async () => loop.cut().ok, `gateways N=${n}`);
      const loads: string[] = [];
      for (let w = 0; w < windowsPerN; w++) {
        const s0 = stealTicks();
        const c0 = cpuTicks(cells.map((c) => c.child.pid!));
        const t0 = new Date();
        await sleep(windowMs);
        const dur = Date.now() - t0.getTime();
        const s1 = stealTicks();
        const r = loop.cut();
        const cpu = note('gateways', n, w, (r.ok / dur) * 1000, c0, cpuTicks(cells.map((c) => c.child.pid!)), dur);
        const steal = s1.total > s0.total ? (100 * (s1.steal - s0.steal)) / (s1.total - s0.total) : null;
        const rec = windowRecord(n, n * clientsPerGateway, w, t0, dur, r.ok, r.errors, r.histogram, steal);
        appendRecord(path, rec);
        loads.push(load());
        console.log(
          `gateways N=${n} window ${w}: ${rec.throughputPerSec.toFixed(0)}/s 202, ${r.errors} non-202, load ${load()}, ${cpu}`,
        );
      }
      await loop.stop();
      lines.push(`gateways N=${n}: load ${loads[loads.length - 1]}`);
    } finally {
      await stopAll(cells);
    }
  }
  return lines;
}

// ---------------------------------------------------------------- consumers

async function topUp(e: Engines, events: number): Promise<void> {
  const [gw] = await startMany(e, 1, 'gateway', 'sink', 'fill');
  try {
    let sent = 0;
    const inflight = new Set<Promise<unknown>>();
    while (sent < events) {
      const body = JSON.stringify(Array.from({ length: 200 }, () => JSON.parse(eventBody())));
      const p = post(gw.url, '/v1/events/batch', body).then((status) => {
        if (status !== 200 && status !== 207 && status !== 202) throw new Error(`batch answered ${status}`);
      });
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      sent += 200;
      if (inflight.size >= 8) await Promise.race(inflight);
    }
    await Promise.all(inflight);
  } finally {
    await gw.stop();
  }
}

async function consumed(cells: ServeProcess[]): Promise<{ total: number; lag: number }> {
  const stats = await Promise.all(cells.map((c) => fetchStats(c)));
  return {
    total: stats.reduce((a, s) => a + Number(s.consumers.consumedTotal), 0),
    lag: Math.min(...stats.map((s) => Number(s.consumers.lagEvents))),
  };
}

async function consumerPhase(e: Engines, backlog: number): Promise<void> {
  const dir = join(outDir, 'consumers');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'windows.ndjson');
  writeFileSync(path, '');
  appendRecord(
    path,
    runRecord(
      'scale-out: consumer group',
      'consumer processes of one group (shock serve --role consumer)',
      consumerPlan,
      [
        `handler: bench/handlers/one-connection.ts, ${delayMs} ms per batch of at most ${batch} events, one batch in flight per process (one downstream connection), 1 worker per process`,
        `one consumer group per N over the same pre-filled backlog of ${backlog} events in ${partitions} partitions`,
        'sink: PostgreSQL 15 (one schema per N), log: JetStream (one local nats-server 2.9.10)',
        'throughput: the sum of every member’s consumedTotal (/v1/stats), counted once the group settled',
      ],
    ),
  );
  for (const n of consumerPlan) {
    const group = `g${n}`;
    const cells = await startMany(e, n, 'consumer', group, 'c');
    try {
      await waitSettled(cells, partitions, 120_000);
      let seen = (await consumed(cells)).total;
      await settleRate(async () => {
        const now = (await consumed(cells)).total;
        const d = now - seen;
        seen = now;
        return d;
      }, `consumers N=${n}`);
      let prev = await consumed(cells);
      for (let w = 0; w < windowsPerN; w++) {
        const s0 = stealTicks();
        const c0 = cpuTicks(cells.map((c) => c.child.pid!));
        const t0 = new Date();
        await sleep(windowMs);
        const now = await consumed(cells);
        const dur = Date.now() - t0.getTime();
        const cpu = note(
          'consumers',
          n,
          w,
          ((now.total - prev.total) / dur) * 1000,
          c0,
          cpuTicks(cells.map((c) => c.child.pid!)),
          dur,
        );
        const s1 = stealTicks();
        const steal = s1.total > s0.total ? (100 * (s1.steal - s0.steal)) / (s1.total - s0.total) : null;
        // lagEvents is the group's whole backlog: once it is down to a few windows' worth, some partitions are
        // empty and their owners idle, so the window no longer measures the group at saturation.
        const drained = now.lag < 2 * (now.total - prev.total) + 2 * partitions * batch;
        const rec = windowRecord(
          n,
          n,
          w,
          t0,
          dur,
          now.total - prev.total,
          0,
          encodeHistogram(createLatencyHistogram()),
          steal,
        );
        if (drained) {
          rec.kept = false;
          rec.reason = 'empty';
          rec.firstError = 'the backlog nearly drained during the window (some partitions empty)';
        }
        appendRecord(path, rec);
        console.log(
          `consumers N=${n} window ${w}: ${rec.throughputPerSec.toFixed(0)}/s, lag ${now.lag}${drained ? ' (DRAINED)' : ''}, load ${load()}, ${cpu}`,
        );
        prev = now;
      }
    } finally {
      await stopAll(cells);
    }
  }
}

// ---------------------------------------------------------------- main

const dir = mkdtempSync(join(tmpdir(), 'shock-scale-out-'));
let nats: NatsServer | undefined;
let postgres: PostgresServer | undefined;
const started = Date.now();
try {
  nats = await startNatsServer();
  postgres = await startPostgres();
  const e: Engines = { nats, postgres, dir };
  console.log(`scale-out: nats ${nats.url}, load ${load()}`);
  if (gatewayPlan.length > 0) {
    await gatewayPhase(e);
    const g = refitLab(join(outDir, 'gateways'));
    console.log(`gateways fit: ${JSON.stringify(g.certificate?.fit ?? g.error)}`);
  }
  // The consumers' backlog: every N drains for warm-up + windows at most ~ (per-process rate × N).
  const perProcess = (batch * 1000) / delayMs;
  const nTop = Math.max(...consumerPlan);
  // Each group drains it from the start, and its first members consume while the others are still starting
  // (two at a time, a few seconds each): hence the start-up term.
  const startupS = 3 * nTop;
  const need = Math.ceil(perProcess * nTop * ((8 * warmupMs + windowsPerN * windowMs) / 1000 + startupS) * 1.5);
  await topUp(e, need);
  console.log(`backlog topped up by ${need} events, load ${load()}`);
  await consumerPhase(e, need);
  const c = refitLab(join(outDir, 'consumers'));
  console.log(`consumers fit: ${JSON.stringify(c.certificate?.fit ?? c.error)}`);
  writeFileSync(join(outDir, 'windows-cpu.json'), JSON.stringify(notes, null, 2) + '\n');
  console.log(`scale-out took ${((Date.now() - started) / 1000).toFixed(0)} s`);
} finally {
  agent.destroy();
  await nats?.cleanup();
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
}
