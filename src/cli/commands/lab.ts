/**
 * `shock lab` — the Measurement Recipe as one command: capacity runs across a plan of N against a URL or a command
 * the lab starts per N, the weighted fit with 90% intervals, the CO-free latency run, and the birth certificate
 * (DIR/windows.ndjson, DIR/certificate.json, DIR/report.html). `--refit DIR` re-fits without measuring; `--demo`
 * measures the three consumer designs. Ctrl-C ends the run early with a valid partial certificate.
 *
 * Two helpers run the lab's own systems under test: `shock lab serve-demo` (a demo design) and `shock lab
 * serve-law` (a service whose throughput follows a chosen USL law).
 */
import { Command, Option } from 'commander';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { shockError, type ShockError } from '../../base/index.js';
import {
  demoDefaults,
  probeFloors,
  demoDesigns,
  demoTimingDefault,
  refitLab,
  runDemo,
  runLab,
  startDemoServer,
  startLawServer,
  type DemoDesign,
  type LabOptions,
  type LabProgress,
  type LabResult,
} from '../../measure/lab/index.js';
import {
  latencyValidity,
  latencyVerdictText,
  type Certificate,
  type CertificateConstraints,
} from '../../measure/report/certificate.js';
import { isInteractive, printJson, printText } from '../output.js';
import { parseDurationMs, parseNumber } from '../parse.js';

interface LabCommandOptions {
  target?: string;
  command?: string;
  readyUrl?: string;
  readyTimeout: string;
  plan: string;
  windows: number;
  windowDuration: string;
  warmup: string;
  concurrencyFactor?: number;
  method: string;
  body?: string;
  header: string[];
  stealMax: number;
  latency: boolean;
  latencyDuration: string;
  latencyN?: number;
  latencyMaxInflight?: number;
  keys: CertificateConstraints['keys'];
  zipfExponent?: number;
  fsync: CertificateConstraints['fsync'];
  telemetry: CertificateConstraints['telemetry'];
  operatingN?: number;
  crossShardFraction?: number;
  note: string[];
  storageFsyncPerSec?: number;
  networkRttP99Ms?: number;
  probeStorage?: string;
  probeNetwork?: string;
  name?: string;
  out?: string;
  refit?: string;
  demo?: boolean;
  designs?: string;
  seed: number;
  level: number;
  json?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** "1,2,4,8" → [1, 2, 4, 8]; every bad entry reported at once. */
export function parsePlan(raw: string): number[] {
  const parts = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = parts.filter((p) => !/^\d+$/.test(p) || Number(p) < 1);
  if (parts.length === 0 || bad.length > 0) {
    throw shockError('SHOCK_CLI_USAGE', `--plan must be a comma-separated list of whole numbers >= 1, got "${raw}"`, {
      bad,
      hint: 'for example --plan 1,2,4,8,16,32 (include points beyond the expected N_max)',
    });
  }
  return parts.map(Number);
}

function parseHeaders(raw: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of raw) {
    const i = h.indexOf(':');
    if (i <= 0) throw shockError('SHOCK_CLI_USAGE', `--header must look like "name: value", got "${h}"`);
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  return headers;
}

function defaultOutDir(prefix: string): string {
  return resolve(`${prefix}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
}

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : a === 0 ? '0' : v.toPrecision(3);
}

function estimateText(e: { value: number; low: number | null; high: number | null } | null): string {
  if (!e) return '—';
  return e.low === null || e.high === null
    ? `${fmt(e.value)} (no interval)`
    : `${fmt(e.value)} [${fmt(e.low)}, ${fmt(e.high)}]`;
}

/** The certificate in a few lines for the terminal. */
export function formatCertificateSummary(c: Certificate, outDir: string | null): string {
  const lines = [`${c.subject.name}: ${c.status}${c.partialReason ? ` (${c.partialReason})` : ''}`];
  for (const p of c.points)
    lines.push(
      `  N = ${String(p.n).padStart(4)}  X = ${fmt(p.throughputPerSec).padStart(9)}/s  sd ${fmt(p.throughputSdPerSec)}  windows ${p.windowsKept} kept, ${p.windowsDiscarded} discarded`,
    );
  const f = c.fit;
  if (f) {
    lines.push(`  γ = ${estimateText(f.gamma)}/s   α = ${estimateText(f.alpha)}   β = ${estimateText(f.beta)}   (90%)`);
    lines.push(
      `  N_max = ${f.nMax ? estimateText(f.nMax) : '∞ (β = 0)'}   X_max = ${fmt(f.xMaxPerSec)}/s   autoscaler ceiling ${f.autoscalerCeiling ?? '—'}`,
    );
    lines.push(
      `  sanity ${f.sanity.passed ? 'passed' : 'FAILED'} (worst ${(f.sanity.deviationMax * 100).toFixed(1)}% at N = ${f.sanity.worstN}); retrograde: ${f.retrograde.note}`,
    );
  } else {
    lines.push('  no fit');
  }
  for (const l of c.latency) {
    const validity = latencyValidity(l);
    const flag =
      validity === 'valid'
        ? ''
        : validity === 'invalid'
          ? ` — NOT VALID: ${latencyVerdictText(l).replace(/^not valid: /, '')}`
          : ' — validity unknown';
    lines.push(
      `  latency at ${(l.loadFraction * 100).toFixed(0)}% of X(${l.n}) = ${fmt(l.ratePerSec)}/s: p50 ${fmt(l.latencyUsP50 / 1000)} ms, p99 ${fmt(l.latencyUsP99 / 1000)} ms (open loop, ${l.requests} requests)${flag}`,
    );
  }
  for (const w of [...c.warnings, ...(f?.warnings ?? [])]) lines.push(`  warning: ${w}`);
  if (outDir) lines.push(`  wrote ${join(outDir, 'certificate.json')}, report.html, windows.ndjson`);
  return lines.join('\n');
}

/** Progress on stderr: a bar with ETA on a terminal, one line per step otherwise. */
function progressSink(label: string): { onProgress: (p: LabProgress) => void; stop: () => void } {
  if (isInteractive()) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | ETA {eta_formatted} | {step}`,
        etaBuffer: 20,
        hideCursor: true,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(1000, 0, { step: 'starting' });
    return {
      onProgress: (p) => bar.update(Math.round(p.fraction * 1000), { step: p.message }),
      stop: () => bar.stop(),
    };
  }
  let last = '';
  return {
    onProgress: (p) => {
      if (p.message === last) return;
      last = p.message;
      const eta = p.etaMs === null ? '' : ` (about ${Math.ceil(p.etaMs / 1000)} s left)`;
      process.stderr.write(`${label} ${(p.fraction * 100).toFixed(0).padStart(3)}% ${p.message}${eta}\n`);
    },
    stop: () => {},
  };
}

/** An AbortSignal that fires on the first Ctrl-C (SIGINT) or SIGTERM; the second one exits at once. */
function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(
      `\nshock lab: ${name} received — finishing the current window and saving a partial result (again to quit now)\n`,
    );
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

function selfCommand(): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1]];
}

function finish(
  result: { certificate: Certificate; error: ShockError | null; outDir: string | null },
  json: boolean | undefined,
): void {
  if (json) printJson(result.certificate);
  else printText(formatCertificateSummary(result.certificate, result.outDir));
  if (result.error) {
    result.error.details.partialResult = result.outDir
      ? join(result.outDir, 'certificate.json')
      : 'not saved (no --out)';
    throw result.error;
  }
}

function labOptionsFrom(o: LabCommandOptions): LabOptions {
  if (!o.target && !o.command) {
    throw shockError(
      'SHOCK_LAB_BAD_TARGET',
      'shock lab needs a target: --target URL or --command TEMPLATE (or --demo, --refit DIR)',
      {
        hint: 'shock lab --target http://127.0.0.1:8080/ingest, or shock lab --command "shock serve --consumers {N} --port {PORT}"',
      },
    );
  }
  const plan = parsePlan(o.plan);
  const isCommand = Boolean(o.command);
  return {
    name: o.name ?? (o.command ? o.command : (o.target ?? 'target')),
    target: {
      url: o.target ?? 'http://127.0.0.1:{PORT}/',
      command: o.command ?? null,
      readyUrl: o.readyUrl ?? null,
      readyTimeoutMs: parseDurationMs(o.readyTimeout, '--ready-timeout'),
    },
    plan,
    windows: o.windows,
    windowMs: parseDurationMs(o.windowDuration, '--window-duration'),
    warmupMs: parseDurationMs(o.warmup, '--warmup'),
    concurrency: !isCommand
      ? { kind: 'n' }
      : o.concurrencyFactor !== undefined
        ? { kind: 'factor', factor: o.concurrencyFactor }
        : { kind: 'ramp', stepsMax: 3, gainMin: 0.05 },
    request: { method: o.method.toUpperCase(), body: o.body ?? null, headers: parseHeaders(o.header) },
    stealPctMax: o.stealMax,
    windowRetriesMax: Math.max(2, Math.ceil(o.windows / 2)),
    errorFractionMax: 0.5,
    latency: o.latency
      ? {
          loadFractions: [0.8, 0.2],
          durationMs: parseDurationMs(o.latencyDuration, '--latency-duration'),
          n: o.latencyN ?? null,
          maxInflight: o.latencyMaxInflight ?? null,
        }
      : null,
    constraints: {
      keys: o.keys,
      zipfExponent: o.zipfExponent ?? null,
      fsync: o.fsync,
      telemetry: o.telemetry,
      operatingN: o.operatingN ?? null,
      crossShardFraction: o.crossShardFraction ?? null,
      notes: o.note,
    },
    floors: {
      storageFsyncPerSec: o.storageFsyncPerSec ?? null,
      networkRttUsP99: o.networkRttP99Ms === undefined ? null : o.networkRttP99Ms * 1000,
      source:
        o.storageFsyncPerSec !== undefined || o.networkRttP99Ms !== undefined
          ? 'given on the command line (from shock probe)'
          : 'not measured — run shock probe',
    },
    outDir: resolve(o.out ?? defaultOutDir('shock-lab')),
    seed: o.seed,
    level: o.level,
  };
}

async function runLabCommand(o: LabCommandOptions): Promise<void> {
  if (o.refit) {
    const result = refitLab(resolve(o.refit), o.seed, o.level);
    finish(result, o.json);
    return;
  }
  if (o.demo) {
    await runDemoCommand(o);
    return;
  }
  const options = labOptionsFrom(o);
  if (o.probeStorage || o.probeNetwork) {
    process.stderr.write('lab: probing the floors (storage fsync rate, network round trip)\n');
    options.floors = await probeFloors(
      { storageDir: o.probeStorage ?? null, networkTarget: o.probeNetwork ?? null, storageDurationMs: 2000 },
      options.floors,
    );
  }
  const interrupt = interruptSignal();
  const progress = progressSink('lab');
  let result: LabResult;
  try {
    result = await runLab({ ...options, signal: interrupt.signal, onProgress: progress.onProgress });
  } finally {
    progress.stop();
    interrupt.dispose();
  }
  finish(result, o.json);
}

async function runDemoCommand(o: LabCommandOptions): Promise<void> {
  const designs = (o.designs ? o.designs.split(',').map((s) => s.trim()) : [...demoDesigns]) as DemoDesign[];
  const unknown = designs.filter((d) => !demoDesigns.includes(d));
  if (unknown.length > 0)
    throw shockError(
      'SHOCK_CLI_USAGE',
      `--designs must name ${demoDesigns.join(', ')}; unknown: ${unknown.join(', ')}`,
    );
  const outDir = resolve(o.out ?? defaultOutDir('shock-lab-demo'));
  const interrupt = interruptSignal();
  const sinks = new Map<string, ReturnType<typeof progressSink>>();
  try {
    const result = await runDemo({
      outDir,
      selfCommand: selfCommand(),
      plan: o.plan === defaultPlan ? [...demoDefaults.plan] : parsePlan(o.plan),
      windows: o.windows === defaultWindows ? demoDefaults.windows : o.windows,
      windowMs:
        o.windowDuration === defaultWindowDuration
          ? demoDefaults.windowMs
          : parseDurationMs(o.windowDuration, '--window-duration'),
      warmupMs: o.warmup === defaultWarmup ? demoDefaults.warmupMs : parseDurationMs(o.warmup, '--warmup'),
      latencyMs:
        o.latencyDuration === defaultLatencyDuration
          ? demoDefaults.latencyMs
          : parseDurationMs(o.latencyDuration, '--latency-duration'),
      timing: demoTimingDefault,
      designs,
      seed: o.seed,
      signal: interrupt.signal,
      onProgress: (design, p) => {
        let sink = sinks.get(design);
        if (!sink) {
          for (const s of sinks.values()) s.stop();
          sink = progressSink(`demo ${design}`);
          sinks.set(design, sink);
        }
        sink.onProgress(p);
      },
    });
    for (const s of sinks.values()) s.stop();
    if (o.json) {
      printJson({ outDir, designs: result.designs.map((d) => ({ design: d.design, certificate: d.certificate })) });
    } else {
      for (const d of result.designs) printText(formatCertificateSummary(d.certificate, join(outDir, d.design)));
      printText(`demo report: ${join(outDir, 'report.html')}`);
    }
    if (result.error) {
      result.error.details.partialResult = join(outDir, 'report.html');
      throw result.error;
    }
  } finally {
    interrupt.dispose();
  }
}

/** Waits for SIGINT or SIGTERM (the helpers' servers run until the lab stops them). */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}

const defaultPlan = '1,2,4,8,16,32';
const defaultWindows = 5;
const defaultWindowDuration = '10s';
const defaultWarmup = '2s';
const defaultLatencyDuration = '30s';

export function register(program: Command): void {
  const lab = program
    .command('lab')
    .description(
      'run the Measurement Recipe and write the birth certificate (windows.ndjson, certificate.json, report.html)',
    )
    .option('--target <url>', 'HTTP target; with --command it may contain {PORT} (default http://127.0.0.1:{PORT}/)')
    .option(
      '--command <template>',
      'start the system under test per N, e.g. "shock serve --consumers {N} --port {PORT}"',
    )
    .option('--ready-url <url>', 'polled until it answers (default: the target origin + /healthz; {PORT} allowed)')
    .option('--ready-timeout <duration>', 'how long a started command may take to answer', '30s')
    .option('--plan <list>', 'the N to measure (include points beyond the expected N_max)', defaultPlan)
    .option(
      '--windows <k>',
      'capacity windows per N',
      parseNumber('--windows', { min: 1, max: 100, integer: true }),
      defaultWindows,
    )
    .option('--window-duration <duration>', 'length of one capacity window', defaultWindowDuration)
    .option('--warmup <duration>', 'load before the first window at each N (and the concurrency ramp)', defaultWarmup)
    .option(
      '--concurrency-factor <k>',
      'command targets: closed-loop concurrency ceil(k·N)+2 instead of ramping',
      parseNumber('--concurrency-factor', { min: 0.1, max: 64 }),
    )
    .option('--method <method>', 'HTTP method of each request', 'GET')
    .option('--body <text>', 'request body')
    .option('--header <name: value>', 'request header (repeatable)', collect, [])
    .option(
      '--steal-max <pct>',
      'discard and re-run a window with more CPU steal than this',
      parseNumber('--steal-max', { min: 0, max: 100 }),
      10,
    )
    .option('--no-latency', 'skip the open-loop latency run')
    .option(
      '--latency-duration <duration>',
      'length of each open-loop latency run (80% and 20% load)',
      defaultLatencyDuration,
    )
    .option(
      '--latency-n <n>',
      'N of the latency run (default: the largest N within the autoscaler ceiling)',
      parseNumber('--latency-n', { min: 1, integer: true }),
    )
    .option(
      '--latency-max-inflight <n>',
      'most requests outstanding in the latency run; an arrival beyond is dropped and the run marked not valid (connections: at most this, at most 256)',
      parseNumber('--latency-max-inflight', { min: 1, integer: true }),
    )
    .addOption(
      new Option('--keys <distribution>', 'assumed traffic distribution')
        .choices(['uniform', 'zipf', 'histogram', 'trace', 'unknown'])
        .default('uniform'),
    )
    .option('--zipf-exponent <s>', 'Zipf exponent of the keys', parseNumber('--zipf-exponent', { min: 0 }))
    .addOption(
      new Option('--fsync <state>', 'durability setting of the system under test')
        .choices(['on', 'off', 'unknown'])
        .default('unknown'),
    )
    .addOption(
      new Option('--telemetry <state>', 'telemetry of the system under test')
        .choices(['on', 'off', 'unknown'])
        .default('unknown'),
    )
    .option(
      '--operating-n <n>',
      'N running in production (for the audit and the N_max trigger)',
      parseNumber('--operating-n', { min: 1, integer: true }),
    )
    .option(
      '--cross-shard-fraction <f>',
      'fraction of writes crossing shards',
      parseNumber('--cross-shard-fraction', { min: 0, max: 1 }),
    )
    .option('--note <text>', 'an assumed constraint, in words (repeatable)', collect, [])
    .option(
      '--storage-fsync-per-sec <rate>',
      'storage floor from shock probe',
      parseNumber('--storage-fsync-per-sec', { min: 0 }),
    )
    .option(
      '--network-rtt-p99-ms <ms>',
      'network floor from shock probe',
      parseNumber('--network-rtt-p99-ms', { min: 0 }),
    )
    .option('--probe-storage <dir>', 'measure the storage floor (single-writer fsync rate) on this directory first')
    .option('--probe-network <host:port>', 'measure the network floor (p99 TCP connect round trip) to this peer first')
    .option('--name <name>', 'name of the system on the certificate')
    .option('--out <dir>', 'output directory (default ./shock-lab-<time>)')
    .option('--refit <dir>', 're-fit the windows of an earlier run without measuring')
    .option('--demo', 'measure the three consumer designs (shared-nothing, shared lock, all-to-all coordination)')
    .option('--designs <list>', `with --demo: which designs (${demoDesigns.join(',')})`)
    .option(
      '--seed <n>',
      'seed of the bootstrap and the arrival schedule',
      parseNumber('--seed', { integer: true, min: 0 }),
      1,
    )
    .option('--level <p>', 'level of the reported intervals', parseNumber('--level', { min: 0.5, max: 0.999 }), 0.9)
    .option('--json', 'print the certificate as JSON')
    .action((o: LabCommandOptions) => runLabCommand(o));

  lab
    .command('serve-demo')
    .description('run one demo design as an HTTP server (the lab starts it per N)')
    .addOption(new Option('--design <design>', 'consumer design').choices([...demoDesigns]).default('shared-nothing'))
    .requiredOption(
      '--consumers <n>',
      'number of consumers',
      parseNumber('--consumers', { min: 1, max: 4096, integer: true }),
    )
    .option('--port <port>', 'port (0: any free port)', parseNumber('--port', { min: 0, max: 65535, integer: true }), 0)
    .option('--write-ms <ms>', 'batch write time', parseNumber('--write-ms', { min: 0 }), demoTimingDefault.writeMs)
    .option(
      '--commit-ms <ms>',
      'shared-lock: commit time under the lock',
      parseNumber('--commit-ms', { min: 0 }),
      demoTimingDefault.commitMs,
    )
    .option(
      '--entry-ms <ms>',
      'coordinated: transfer time of one version-vector entry',
      parseNumber('--entry-ms', { min: 0 }),
      demoTimingDefault.entryMs,
    )
    .action(
      async (o: {
        design: DemoDesign;
        consumers: number;
        port: number;
        writeMs: number;
        commitMs: number;
        entryMs: number;
      }) => {
        const server = await startDemoServer({
          design: o.design,
          consumers: o.consumers,
          port: o.port,
          timing: { writeMs: o.writeMs, commitMs: o.commitMs, entryMs: o.entryMs },
        });
        printText(`listening ${server.port}`);
        await untilSignal();
        await server.close();
      },
    );

  lab
    .command('serve-law')
    .description('run a test service whose throughput follows X(N) = γN/(1+α(N−1)+βN(N−1))')
    .requiredOption('--gamma <rate>', 'throughput at N = 1, requests/s', parseNumber('--gamma', { min: 0.001 }))
    .option('--alpha <a>', 'contention', parseNumber('--alpha', { min: 0, max: 1 }), 0)
    .option('--beta <b>', 'coherency', parseNumber('--beta', { min: 0 }), 0)
    .requiredOption(
      '--n <n>',
      'service slots (the N of the law)',
      parseNumber('--n', { min: 1, max: 4096, integer: true }),
    )
    .option('--port <port>', 'port (0: any free port)', parseNumber('--port', { min: 0, max: 65535, integer: true }), 0)
    .option(
      '--jitter <fraction>',
      'mean-preserving jitter of each service time',
      parseNumber('--jitter', { min: 0, max: 0.9 }),
      0.05,
    )
    .option('--seed <n>', 'jitter seed', parseNumber('--seed', { integer: true, min: 0 }), 1)
    .option('--failing', 'answer every request with 500')
    .action(
      async (o: {
        gamma: number;
        alpha: number;
        beta: number;
        n: number;
        port: number;
        jitter: number;
        seed: number;
        failing?: boolean;
      }) => {
        const server = await startLawServer({ ...o, failing: Boolean(o.failing) });
        printText(`listening ${server.port}`);
        await untilSignal();
        await server.close();
      },
    );
}
