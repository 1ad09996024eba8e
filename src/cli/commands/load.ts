/**
 * `shock load URL` — the coordinated-omission-free load generator. Open loop by default (fixed rate or stages,
 * constant or Poisson arrivals, latency from the intended send time); `--concurrency C` runs a closed loop for
 * capacity (saturation throughput) only. Prints wrk2-style distributions and the percentile spectrum, `--json` the
 * full LoadResult, `--hlog FILE` an HdrHistogram interval log. Exits non-zero when the run is not valid (interrupted
 * by Ctrl-C, rate not held, arrivals dropped, errors above `--max-error-rate`). Ctrl-C stops the run, awaits the
 * requests in flight and prints the figures of the time that ran, marked interrupted (exit 1,
 * SHOCK_LOAD_INTERRUPTED); a second Ctrl-C exits at once.
 */
import type { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { shockError, type ShockError } from '../../base/index.js';
import {
  formatLoadText,
  loadResultToHlog,
  runClosedLoop,
  runOpenLoop,
  setLoadToolVersion,
  type LoadProgress,
  type LoadRequestSpec,
  type LoadResult,
} from '../../measure/load/index.js';
import { isInteractive, printJson, printText } from '../output.js';
import { parseDurationMs, parseNumber, parsePositive } from '../parse.js';
import { VERSION } from '../version.js';

interface LoadCommandOptions {
  rate?: number;
  stages?: string;
  arrival: string;
  duration?: number;
  requests?: number;
  warmup?: number;
  concurrency?: number;
  connections?: number;
  maxInflight?: number;
  timeout?: number;
  interval?: number;
  workers?: number;
  seed?: number;
  maxErrorRate?: number;
  lagMax?: number;
  method?: string;
  header: string[];
  body?: string;
  bodyFile?: string;
  template?: string;
  templateFile?: string;
  batch?: number;
  keys?: number;
  keyDist?: string;
  zipfS?: number;
  hlog?: string;
  spectrum: boolean;
  json?: boolean;
}

/** Reads a text file, mapping failures to SHOCK_CLI_INPUT_UNREADABLE. */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw shockError('SHOCK_CLI_INPUT_UNREADABLE', `cannot read ${what} ${path}: ${(err as Error).message}`, {
      file: path,
    });
  }
}

/** Writes a text file, mapping failures to SHOCK_CLI_OUTPUT_UNWRITABLE. */
export function writeTextFile(path: string, content: string): void {
  try {
    writeFileSync(path, content);
  } catch (err) {
    throw shockError('SHOCK_CLI_OUTPUT_UNWRITABLE', `cannot write ${path}: ${(err as Error).message}`, { file: path });
  }
}

const durationOption = (name: string) => (raw: string) => parseDurationMs(raw, name);
const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  program
    .command('load')
    .description('coordinated-omission-free load: open loop at a fixed rate (default) or closed loop (--concurrency)')
    .argument('<url>', 'target URL (http:// or https://)')
    .option(
      '-R, --rate <perSec>',
      'open loop: target requests/s (the initial rate with --stages)',
      parsePositive('--rate', 'requests/s'),
    )
    .option('--stages <list>', 'open loop: rate stages DURATION:RATE,... e.g. 30s:1000,60s:5000 (linear ramps)')
    .option('--arrival <process>', 'open loop arrivals: constant | poisson', 'constant')
    .option(
      '-d, --duration <duration>',
      'run length, e.g. 30s (default 10s unless --stages or --requests)',
      durationOption('--duration'),
    )
    .option(
      '-n, --requests <count>',
      'stop after this many requests',
      parseNumber('--requests', { min: 1, integer: true }),
    )
    .option('--warmup <duration>', 'excluded from results (still sent), e.g. 5s', (raw: string) =>
      raw === '0' ? 0 : parseDurationMs(raw, '--warmup'),
    )
    .option(
      '-c, --concurrency <clients>',
      'closed loop of C clients (capacity runs only)',
      parseNumber('--concurrency', { min: 1, integer: true }),
    )
    .option(
      '--connections <count>',
      'keep-alive connections per worker (default 64, closed loop: C)',
      parseNumber('--connections', { min: 1, integer: true }),
    )
    .option(
      '--max-inflight <count>',
      'open loop: most outstanding requests per worker; more are dropped and counted (default 10000)',
      parseNumber('--max-inflight', { min: 1, integer: true }),
    )
    .option('--timeout <duration>', 'per-request timeout (default 10s)', durationOption('--timeout'))
    .option('--interval <duration>', 'result window / .hlog interval (default 1s)', durationOption('--interval'))
    .option(
      '-w, --workers <count>',
      'worker threads generating load, histograms merged (default 1)',
      parseNumber('--workers', { min: 1, max: 64, integer: true }),
    )
    .option(
      '--seed <n>',
      'seed for Poisson arrivals and template fields (default 1)',
      parseNumber('--seed', { integer: true }),
    )
    .option(
      '--max-error-rate <fraction>',
      'the run fails above this error fraction (default 0.01)',
      parseNumber('--max-error-rate', { min: 0, max: 1 }),
    )
    .option(
      '--lag-max <duration>',
      'the run fails when p99 scheduling lag exceeds this (default 50ms)',
      durationOption('--lag-max'),
    )
    .option('-X, --method <method>', 'HTTP method (default GET, POST with a body)')
    .option('-H, --header <header>', "request header 'Name: value' (repeatable)", collect, [] as string[])
    .option('--body <text>', 'request body')
    .option('--body-file <file>', 'request body from a file')
    .option('--template <text>', 'body template with {{seq}}, {{id}}, {{key}}, {{ts}} per request')
    .option('--template-file <file>', 'body template from a file')
    .option(
      '--batch <records>',
      'NDJSON: this many rendered records per request',
      parseNumber('--batch', { min: 1, integer: true }),
    )
    .option('--keys <count>', 'key space for {{key}} (default 1000)', parseNumber('--keys', { min: 1, integer: true }))
    .option('--key-dist <dist>', '{{key}} distribution: uniform | zipf (default uniform)')
    .option('--zipf-s <s>', 'Zipf exponent s for --key-dist zipf (default 1)', parsePositive('--zipf-s'))
    .option('--hlog <file>', 'write the interval histograms as an HdrHistogram .hlog')
    .option('--no-spectrum', 'omit the detailed percentile spectrum from the text output')
    .option('--json', 'print the full result as JSON')
    .action(async (url: string, opts: LoadCommandOptions) => {
      setLoadToolVersion(VERSION);
      const result = await runLoadCommand(url, opts);
      if (opts.hlog) writeTextFile(opts.hlog, loadResultToHlog(result));
      if (opts.json) printJson(result);
      else printText(formatLoadText(result, { spectrum: opts.spectrum }));
      const failure = verdict(result);
      if (failure) throw failure;
    });
}

async function runLoadCommand(url: string, opts: LoadCommandOptions): Promise<LoadResult> {
  const problems: string[] = [];
  if (opts.arrival !== 'constant' && opts.arrival !== 'poisson') {
    problems.push(`--arrival must be constant or poisson, got "${opts.arrival}"`);
  }
  if (opts.keyDist !== undefined && opts.keyDist !== 'uniform' && opts.keyDist !== 'zipf') {
    problems.push(`--key-dist must be uniform or zipf, got "${opts.keyDist}"`);
  }
  const closed = opts.concurrency !== undefined;
  if (closed && (opts.rate !== undefined || opts.stages !== undefined)) {
    problems.push('--concurrency (closed loop) cannot be combined with --rate or --stages (open loop)');
  }
  if (!closed && opts.rate === undefined && opts.stages === undefined) {
    problems.push('give --rate (open loop), --stages (open loop) or --concurrency (closed loop)');
  }
  const bodySources = [opts.body, opts.bodyFile, opts.template, opts.templateFile].filter((v) => v !== undefined);
  if (bodySources.length > 1) problems.push('give only one of --body, --body-file, --template, --template-file');
  const headers: Record<string, string> = {};
  for (const h of opts.header) {
    const colon = h.indexOf(':');
    if (colon <= 0) problems.push(`--header must look like 'Name: value', got "${h}"`);
    else headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  if (problems.length > 0) {
    throw shockError('SHOCK_CLI_USAGE', problems.join('; '), { problems, hint: 'see shock load --help' });
  }
  const request: LoadRequestSpec = {
    method: opts.method,
    headers,
    body: opts.body ?? (opts.bodyFile ? readTextFile(opts.bodyFile, 'body file') : undefined),
    template: opts.template ?? (opts.templateFile ? readTextFile(opts.templateFile, 'template file') : undefined),
    batch: opts.batch,
    keys: opts.keys,
    keyDistribution: opts.keyDist as LoadRequestSpec['keyDistribution'],
    zipfS: opts.zipfS,
  };
  const durationMs = opts.duration ?? (opts.stages === undefined && opts.requests === undefined ? 10_000 : undefined);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const progress = isInteractive() ? progressLine() : undefined;
  const common = {
    url,
    request,
    durationMs,
    requestsMax: opts.requests,
    warmupMs: opts.warmup,
    connections: opts.connections,
    timeoutMs: opts.timeout,
    intervalMs: opts.interval,
    workers: opts.workers,
    seed: opts.seed,
    maxErrorRate: opts.maxErrorRate,
    onProgress: progress?.update,
    signal: controller.signal,
  };
  try {
    if (closed) return await runClosedLoop({ ...common, concurrency: opts.concurrency as number });
    return await runOpenLoop({
      ...common,
      ratePerSec: opts.rate,
      stages: opts.stages,
      arrival: opts.arrival as 'constant' | 'poisson',
      maxInflight: opts.maxInflight,
      lagMaxMs: opts.lagMax,
    });
  } finally {
    progress?.clear();
    process.removeListener('SIGINT', onSigint);
  }
}

/** A live progress line on stderr (terminals only). */
function progressLine(): { update: (p: LoadProgress) => void; clear: () => void } {
  return {
    update: (p) =>
      process.stderr.write(
        `\r  ${(p.elapsedMs / 1000).toFixed(0).padStart(4)}s  sent ${p.sent}  responses ${p.responses}  ` +
          `errors ${p.errors}  dropped ${p.dropped}  in flight ${p.inflight}   `,
      ),
    clear: () => process.stderr.write('\r\x1b[2K'),
  };
}

/** The error that ends an invalid run (after its results were printed), or null. */
function verdict(result: LoadResult): ShockError | null {
  if (result.valid) return null;
  const message = result.problems.map((p) => p.message).join('; ');
  if (result.interrupted) {
    // Said first: the run did not apply the requested load for its duration, whatever else went wrong.
    return shockError('SHOCK_LOAD_INTERRUPTED', `the run is not valid: ${message}`, {
      stoppedAtMs: result.stoppedAtMs,
      hint: 'the figures above cover the time that ran; run it again for its full duration',
    });
  }
  // Errors take precedence: they are the more specific verdict, and both exit 1.
  const erroring = result.problems.some((p) => p.code === 'errors' || p.code === 'no_responses');
  return shockError(
    erroring ? 'SHOCK_LOAD_TOO_MANY_ERRORS' : 'SHOCK_LOAD_RATE_NOT_HELD',
    `the run is not valid: ${message}`,
    {
      hint: erroring
        ? 'look at the status and error counts; raise --max-error-rate only if errors are expected'
        : 'lower the rate, add --workers or raise --max-inflight; the numbers above are for a load that was not applied',
    },
  );
}
