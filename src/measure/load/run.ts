/**
 * The programmatic face of the load generator: `runOpenLoop` (latency runs: coordinated-omission-free) and
 * `runClosedLoop` (capacity runs: saturation throughput only). Options are validated all at once and the target is
 * probed with one TCP connect before any load is sent; engines run in the calling thread (workers = 1) or in worker
 * threads whose partial results merge bucket by bucket.
 */
import { connect } from 'node:net';
import { assert, shockError, startWorker } from '../../base/index.js';
import { analyzeStall, decodeHistogram, summarizeMs } from '../histogram/index.js';
import { absoluteNowMs, LoadEngine, rateBucketMs, type EngineConfig, type EnginePartial } from './engine.js';
import { mergePartials } from './merge.js';
import { constantProfile, CumulativeIntensity, parseStages, type RateProfile, type Stage } from './schedule.js';
import { compileTemplate, templateKeysMax } from './template.js';
import type {
  ClosedLoopOptions,
  CommonLoadOptions,
  LoadCut,
  LoadProblem,
  LoadProgress,
  LoadResult,
  LoadSession,
  LoadWindow,
  OpenLoopOptions,
} from './types.js';

/** Defaults of every option (one object, frozen). */
export const loadDefaults = Object.freeze({
  connectionsOpen: 64,
  maxInflight: 10_000,
  timeoutMs: 10_000,
  intervalMs: 1000,
  workers: 1,
  workersMax: 64,
  seed: 1,
  maxErrorRate: 0.01,
  lagMaxMs: 50,
  /** The achieved rate must be within this fraction of the scheduled rate. */
  rateToleranceFraction: 0.01,
  preflightTimeoutMs: 3000,
});

/** Version written into results; the CLI passes its own. */
export let loadToolVersion = '0.1.0';
/** Sets the version string written into `LoadResult.meta` (called once by the CLI). */
export function setLoadToolVersion(version: string): void {
  loadToolVersion = version;
}

/** Runs an open-loop (fixed-rate) load; latency is measured from each request's intended send time. */
export async function runOpenLoop(options: OpenLoopOptions): Promise<LoadResult> {
  const plan = planOpenLoop(options);
  await preflight(plan.url);
  const startTimeMs = Date.now();
  const partials = await runEngines(plan.configs, options);
  return buildResult(plan, partials, startTimeMs, options);
}

/** Runs a closed loop of `concurrency` clients. Its latency is NOT valid for tail latency (coordinated omission). */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<LoadResult> {
  const plan = planClosedLoop(options);
  await preflight(plan.url);
  const startTimeMs = Date.now();
  const partials = await runEngines(plan.configs, options);
  return buildResult(plan, partials, startTimeMs, options);
}

/**
 * Starts a closed loop of `concurrency` clients that runs until `stop()` (or until `durationMs`/`requestsMax`, when
 * given), and returns at once: the caller slices the one continuous run into contiguous cuts of its own length
 * (`cut()`), e.g. measurement windows at one concurrency with no ramp inside any of them. Runs in the calling
 * thread (`workers` must be 1). Options are validated and the target probed as for `runClosedLoop`.
 */
export async function startClosedLoop(options: ClosedLoopOptions): Promise<LoadSession> {
  if ((options.workers ?? 1) !== 1) fail([`a closed-loop session runs in the calling thread: workers must be 1`]);
  const plan = planClosedLoop({ ...options, durationMs: options.durationMs ?? Number.MAX_SAFE_INTEGER });
  await preflight(plan.url);
  const startTimeMs = Date.now();
  const engine = new LoadEngine({ ...plan.configs[0], startAtMs: absoluteNowMs() });
  const running = supervise([engine.progress.bind(engine)], () => engine.stop(), options, [engine.run()]);
  running.catch(() => undefined); // awaited by stop(); this only keeps an early failure from going unhandled
  let result: Promise<LoadResult> | null = null;
  return {
    cut(): LoadCut {
      const c = engine.cut();
      return {
        startMs: c.startMs,
        durationMs: c.durationMs,
        responses: c.responses,
        ok: c.ok,
        errors: c.errors,
        firstError: c.firstError,
        statusCounts: c.statusCounts,
        histograms: { corrected: c.corrected, uncorrected: c.uncorrected },
      };
    },
    stop(): Promise<LoadResult> {
      engine.stop();
      result ??= running.then((partial) => buildResult(plan, [partial], startTimeMs, options));
      return result;
    },
  };
}

interface Plan {
  url: URL;
  mode: 'open' | 'closed';
  configs: Omit<EngineConfig, 'startAtMs'>[];
  durationMs: number;
  warmupMs: number;
  intervalMs: number;
  connections: number;
  workers: number;
  seed: number;
  stages: Stage[] | null;
  ratePerSecTarget: number | null;
  concurrency: number | null;
  maxInflight: number | null;
  lagMaxMs: number;
  maxErrorRate: number;
  arrival: 'constant' | 'poisson' | null;
  method: string;
}

/** Validates open-loop options (reporting every problem at once) and builds one engine config per worker. */
export function planOpenLoop(options: OpenLoopOptions): Plan {
  const problems: string[] = [];
  const common = checkCommon(options, problems);
  let stages: Stage[] | null = null;
  if (options.stages !== undefined) {
    stages = typeof options.stages === 'string' ? parseStages(options.stages) : options.stages;
  }
  const rate = options.ratePerSec;
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) {
    problems.push(`the rate must be > 0 requests/s, got ${rate}`);
  }
  if (rate === undefined && stages === null) problems.push('give a rate (--rate) or stages (--stages)');
  if (stages === null && options.durationMs === undefined && options.requestsMax === undefined) {
    problems.push('give a duration (--duration) or a request count (--requests)');
  }
  const maxInflight = options.maxInflight ?? loadDefaults.maxInflight;
  checkInteger(problems, 'max in-flight', maxInflight, 1, 10_000_000);
  const arrival = options.arrival ?? 'constant';
  if (arrival !== 'constant' && arrival !== 'poisson')
    problems.push(`arrival must be constant or poisson, got ${arrival}`);
  fail(problems);

  let profile: RateProfile;
  if (stages !== null) {
    profile = { ratePerSecInitial: rate ?? stages[0].ratePerSecTarget, stages };
  } else {
    const r = rate as number;
    const durationMs = options.durationMs ?? ((options.requestsMax as number) / r) * 1000;
    profile = constantProfile(r, durationMs);
  }
  const intensity = new CumulativeIntensity(profile);
  if (common.warmupMs >= intensity.durationMs) {
    fail([`the warm-up (${common.warmupMs} ms) must be shorter than the run (${intensity.durationMs} ms)`]);
  }
  const ratePerSecTarget = (intensity.countTotal / intensity.durationMs) * 1000;
  const configs = [];
  for (let w = 0; w < common.workers; w++) {
    configs.push({
      ...common.engine,
      mode: 'open' as const,
      profile,
      arrival,
      maxInflight,
      durationMs: intensity.durationMs,
      workerIndex: w,
      workerCount: common.workers,
    });
  }
  return {
    ...common.plan,
    mode: 'open',
    configs,
    durationMs: intensity.durationMs,
    stages,
    ratePerSecTarget,
    concurrency: null,
    maxInflight,
    lagMaxMs: options.lagMaxMs ?? loadDefaults.lagMaxMs,
    arrival,
  };
}

/** Validates closed-loop options and splits the clients (and the request bound) across workers. */
export function planClosedLoop(options: ClosedLoopOptions): Plan {
  const problems: string[] = [];
  const common = checkCommon(options, problems, options.concurrency);
  checkInteger(problems, 'concurrency', options.concurrency, 1, 100_000);
  if (options.durationMs === undefined && options.requestsMax === undefined) {
    problems.push('give a duration (--duration) or a request count (--requests)');
  }
  if (options.concurrency < common.workers) problems.push('concurrency must be ≥ the number of workers');
  fail(problems);
  const durationMs = options.durationMs ?? Number.MAX_SAFE_INTEGER;
  if (common.warmupMs >= durationMs) fail([`the warm-up must be shorter than the run (${durationMs} ms)`]);
  const requestsMax = options.requestsMax ?? Number.MAX_SAFE_INTEGER;
  const configs = [];
  for (let w = 0; w < common.workers; w++) {
    const share = (total: number) => Math.floor(total / common.workers) + (w < total % common.workers ? 1 : 0);
    configs.push({
      ...common.engine,
      mode: 'closed' as const,
      concurrency: share(options.concurrency),
      connections: Math.max(1, share(common.plan.connections)),
      requestsMax: requestsMax === Number.MAX_SAFE_INTEGER ? requestsMax : share(requestsMax),
      durationMs,
      workerIndex: w,
      workerCount: common.workers,
    });
  }
  return {
    ...common.plan,
    mode: 'closed',
    configs,
    durationMs,
    stages: null,
    ratePerSecTarget: null,
    concurrency: options.concurrency,
    maxInflight: null,
    lagMaxMs: Number.POSITIVE_INFINITY,
    arrival: null,
  };
}

function checkCommon(options: CommonLoadOptions, problems: string[], concurrency?: number) {
  let url: URL | null = null;
  try {
    url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      problems.push(`the URL must be http: or https:, got ${url.protocol}`);
    }
  } catch {
    problems.push(`the URL is not valid: "${options.url}"`);
  }
  const req = options.request ?? {};
  if (req.body !== undefined && req.template !== undefined) problems.push('give a body or a template, not both');
  if (req.template !== undefined) compileTemplate(req.template);
  const batch = req.batch ?? 1;
  checkInteger(problems, 'batch', batch, 1, 100_000);
  checkInteger(problems, 'keys', req.keys ?? 1000, 1, templateKeysMax);
  const zipfS = req.zipfS ?? 1;
  if (!(Number.isFinite(zipfS) && zipfS > 0)) problems.push(`the Zipf exponent must be > 0, got ${zipfS}`);
  if (req.keyDistribution !== undefined && req.keyDistribution !== 'uniform' && req.keyDistribution !== 'zipf') {
    problems.push(`the key distribution must be uniform or zipf, got ${String(req.keyDistribution)}`);
  }
  const workers = options.workers ?? loadDefaults.workers;
  checkInteger(problems, 'workers', workers, 1, loadDefaults.workersMax);
  const connections = options.connections ?? concurrency ?? loadDefaults.connectionsOpen;
  checkInteger(problems, 'connections', connections, 1, 100_000);
  const timeoutMs = options.timeoutMs ?? loadDefaults.timeoutMs;
  const intervalMs = options.intervalMs ?? loadDefaults.intervalMs;
  const warmupMs = options.warmupMs ?? 0;
  for (const [name, v] of [
    ['timeout', timeoutMs],
    ['interval', intervalMs],
    ['duration', options.durationMs ?? 1],
  ] as const) {
    if (!(Number.isFinite(v) && v > 0)) problems.push(`the ${name} must be > 0 ms, got ${v}`);
  }
  if (!(Number.isFinite(warmupMs) && warmupMs >= 0)) problems.push(`the warm-up must be ≥ 0 ms, got ${warmupMs}`);
  if (options.requestsMax !== undefined) checkInteger(problems, 'request count', options.requestsMax, 1, 1e12);
  const sampleStatuses = options.sampleStatuses ?? 'all';
  if (sampleStatuses !== 'all' && sampleStatuses !== '2xx')
    problems.push(`sampleStatuses must be all or 2xx, got ${String(sampleStatuses)}`);
  const maxErrorRate = options.maxErrorRate ?? loadDefaults.maxErrorRate;
  if (!(maxErrorRate >= 0 && maxErrorRate <= 1))
    problems.push(`the max error rate must be in [0, 1], got ${maxErrorRate}`);
  fail(problems);
  const u = url as URL;
  const hasBody = req.body !== undefined || req.template !== undefined;
  const method = (req.method ?? (hasBody ? 'POST' : 'GET')).toUpperCase();
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  if (hasBody && headers['content-type'] === undefined) {
    headers['content-type'] = batch > 1 ? 'application/x-ndjson' : 'application/json';
  }
  const seed = options.seed ?? loadDefaults.seed;
  const engine = {
    origin: u.origin,
    path: u.pathname + u.search,
    method,
    headers,
    bodySpec: {
      body: req.body,
      template: req.template,
      batch,
      keys: req.keys,
      keyDistribution: req.keyDistribution,
      zipfS: req.zipfS,
    },
    connections,
    timeoutMs,
    intervalMs,
    warmupMs,
    sampleStatuses,
    requestsMax: options.requestsMax ?? Number.MAX_SAFE_INTEGER,
    seed,
  };
  return {
    engine,
    workers,
    warmupMs,
    plan: { url: u, warmupMs, intervalMs, connections, workers, seed, maxErrorRate, method },
  };
}

function checkInteger(problems: string[], name: string, v: number, min: number, max: number): void {
  if (!(Number.isInteger(v) && v >= min && v <= max)) {
    problems.push(`${name} must be a whole number in [${min}, ${max}], got ${v}`);
  }
}

function fail(problems: string[]): void {
  if (problems.length === 0) return;
  throw shockError('SHOCK_LOAD_BAD_OPTION', problems.join('; '), { problems });
}

/** One TCP connect to the target, so an unreachable URL fails before any load is sent. */
export function preflight(url: URL, timeoutMs = loadDefaults.preflightTimeoutMs): Promise<void> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const unreachable = (cause: unknown) => {
      socket.destroy();
      reject(
        shockError(
          'SHOCK_LOAD_TARGET_UNREACHABLE',
          `cannot connect to ${host}:${port}`,
          {
            url: url.href,
            cause: (cause as { code?: string })?.code ?? String(cause),
            hint: 'check that the server is running and the URL (host and port) is right',
          },
          cause,
        ),
      );
    };
    socket.setTimeout(timeoutMs, () => unreachable(new Error(`no answer within ${timeoutMs} ms`)));
    socket.once('error', unreachable);
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
  });
}

/** Runs the engines (in this thread, or one worker thread each) from a common start time. */
async function runEngines(
  configs: Omit<EngineConfig, 'startAtMs'>[],
  options: CommonLoadOptions,
): Promise<EnginePartial[]> {
  if (configs.length === 1) {
    const engine = new LoadEngine({ ...configs[0], startAtMs: absoluteNowMs() });
    return [await supervise([engine.progress.bind(engine)], () => engine.stop(), options, [engine.run()])];
  }
  return runInWorkers(configs, options);
}

async function supervise<T>(
  progressOf: (() => { sent: number; responses: number; errors: number; dropped: number; inflight: number })[],
  stop: () => void,
  options: CommonLoadOptions,
  runs: Promise<T>[],
): Promise<T> {
  const startedMs = absoluteNowMs();
  const onAbort = () => stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop();
  const timer = options.onProgress
    ? setInterval(
        () =>
          options.onProgress?.(
            sumProgress(
              progressOf.map((p) => p()),
              startedMs,
            ),
          ),
        1000,
      )
    : null;
  try {
    const [result] = await Promise.all(runs);
    return result;
  } finally {
    if (timer) clearInterval(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function sumProgress(
  parts: { sent: number; responses: number; errors: number; dropped: number; inflight: number }[],
  startedMs: number,
): LoadProgress {
  const total: LoadProgress = {
    elapsedMs: absoluteNowMs() - startedMs,
    sent: 0,
    responses: 0,
    errors: 0,
    dropped: 0,
    inflight: 0,
  };
  for (const p of parts) {
    total.sent += p.sent;
    total.responses += p.responses;
    total.errors += p.errors;
    total.dropped += p.dropped;
    total.inflight += p.inflight;
  }
  return total;
}

async function runInWorkers(
  configs: Omit<EngineConfig, 'startAtMs'>[],
  options: CommonLoadOptions,
): Promise<EnginePartial[]> {
  const progress = configs.map(() => ({ sent: 0, responses: 0, errors: 0, dropped: 0, inflight: 0 }));
  const workers = configs.map((config) => startWorker(import.meta.url, './worker', config));
  const readies: Promise<void>[] = [];
  const dones: Promise<EnginePartial>[] = [];
  workers.forEach((worker, i) => {
    let resolveReady!: () => void;
    readies.push(new Promise<void>((r) => (resolveReady = r)));
    dones.push(
      new Promise<EnginePartial>((resolve, reject) => {
        worker.on(
          'message',
          (m: { type: string; partial?: EnginePartial; progress?: (typeof progress)[0]; message?: string }) => {
            if (m.type === 'ready') resolveReady();
            else if (m.type === 'progress' && m.progress) progress[i] = m.progress;
            else if (m.type === 'done' && m.partial) resolve(m.partial);
            else if (m.type === 'failed') reject(shockError('SHOCK_INTERNAL', `load worker ${i} failed: ${m.message}`));
          },
        );
        worker.on('error', (err) => reject(shockError('SHOCK_INTERNAL', `load worker ${i} crashed`, {}, err)));
        worker.on('exit', (code) => {
          if (code !== 0) reject(shockError('SHOCK_INTERNAL', `load worker ${i} exited with code ${code}`));
        });
      }),
    );
  });
  try {
    await Promise.all(readies);
    const startAtMs = absoluteNowMs() + 20;
    for (const w of workers) w.postMessage({ type: 'start', startAtMs });
    const all = Promise.all(dones);
    await supervise(
      progress.map((_, i) => () => progress[i]),
      () => workers.forEach((w) => w.postMessage({ type: 'stop' })),
      options,
      [all],
    );
    return await all;
  } finally {
    await Promise.all(workers.map((w) => w.terminate().catch(() => 0)));
  }
}

/**
 * The achieved rate is the send rate over the middle of the schedule, [g, T_last − g] with g = min(1 s, 10% of the
 * span), compared with the arrivals due in the same window. Jitter at the two edges cancels (requests due before a
 * boundary but sent after it exist at both ends), while a generator that falls behind sends fewer than were due.
 * A closed loop has no schedule: its achieved rate is sends over the run.
 */
function achievedRates(plan: Plan, m: ReturnType<typeof mergePartials>): { achieved: number; scheduled: number } {
  if (plan.mode === 'closed' || m.scheduled < 2) {
    const spanMs = Math.max(1, Math.min(plan.durationMs, Math.max(m.lastSendMs, 1)));
    return { achieved: (m.sent / spanMs) * 1000, scheduled: (m.scheduled / spanMs) * 1000 };
  }
  const spanMs = Math.min(plan.durationMs, m.lastDueMs + 1);
  const edgeMs = Math.min(1000, 0.1 * spanMs);
  const first = Math.ceil(edgeMs / rateBucketMs);
  const last = Math.max(first + 1, Math.floor((spanMs - edgeMs) / rateBucketMs));
  const count = (buckets: number[]) => buckets.slice(first, last).reduce((a, b) => a + b, 0);
  const windowSec = ((last - first) * rateBucketMs) / 1000;
  return { achieved: count(m.sentBuckets) / windowSec, scheduled: count(m.dueBuckets) / windowSec };
}

function buildResult(
  plan: Plan,
  partials: EnginePartial[],
  startTimeMs: number,
  options: CommonLoadOptions,
): LoadResult {
  const m = mergePartials(partials);
  const corrected = decodeHistogram(m.corrected);
  const uncorrected = decodeHistogram(m.uncorrected);
  const lag = decodeHistogram(m.lag);
  assert(corrected.totalCount === m.samples, 'one histogram sample per measured response', {
    samples: m.samples,
    recorded: corrected.totalCount,
  });
  // Stopped by the abort signal before its course (a deliberate session stop() passes no signal): the rates are over
  // the time that ran, never over the planned duration.
  const interrupted = options.signal?.aborted === true && m.stoppedAtMs !== null;
  const plannedMs = plan.mode === 'open' ? plan.durationMs : Math.min(plan.durationMs, Math.max(m.lastEndMs, 1));
  const durationMs = interrupted ? Math.min(plannedMs, m.stoppedAtMs ?? plannedMs) : plannedMs;
  const rates = achievedRates(plan, m);
  const ratePerSecAchieved = rates.achieved;
  const ratePerSecScheduled = rates.scheduled;
  const responsesPerSec = (m.responses / Math.max(durationMs, m.lastEndMs, 1)) * 1000;
  const errorRate = m.sent === 0 ? 0 : m.errors / m.sent;
  const lagMs = summarizeMs(lag);
  const problems: LoadProblem[] = [];
  if (interrupted) {
    const ran = (durationMs / 1000).toFixed(1);
    const planned = plan.durationMs === Number.MAX_SAFE_INTEGER ? '' : ` of the planned ${plan.durationMs / 1000} s`;
    problems.push({
      code: 'interrupted',
      message: `the run was interrupted after ${ran} s${planned}: its figures cover the ${ran} s that ran`,
    });
  }
  if (plan.mode === 'open') {
    if (m.dropped > 0) {
      problems.push({
        code: 'dropped',
        message: `${m.dropped} arrivals were dropped: ${plan.maxInflight} requests were already in flight (raise --max-inflight, or the server is saturated)`,
      });
    }
    if (ratePerSecAchieved < ratePerSecScheduled * (1 - loadDefaults.rateToleranceFraction)) {
      problems.push({
        code: 'rate_not_held',
        message: `achieved ${ratePerSecAchieved.toFixed(1)} req/s of ${ratePerSecScheduled.toFixed(1)} scheduled (more than ${loadDefaults.rateToleranceFraction * 100}% short)`,
      });
    }
    if (lagMs.p99 > plan.lagMaxMs) {
      problems.push({
        code: 'lag',
        message: `p99 scheduling lag ${lagMs.p99.toFixed(2)} ms exceeds ${plan.lagMaxMs} ms: the generator could not keep up (add --workers)`,
      });
    }
  }
  if (errorRate > plan.maxErrorRate) {
    problems.push({
      code: 'errors',
      message: `error rate ${(errorRate * 100).toFixed(2)}% exceeds ${(plan.maxErrorRate * 100).toFixed(2)}%`,
    });
  }
  if (m.responses === 0 && !options.signal?.aborted)
    problems.push({ code: 'no_responses', message: 'no response was received' });
  const windows: LoadWindow[] = m.windows.map((w) => {
    const h = decodeHistogram(w.corrected);
    return {
      startMs: w.index * plan.intervalMs,
      lengthMs: plan.intervalMs,
      latencyMs: summarizeMs(h),
      stall: analyzeStall(h),
      histograms: { corrected: w.corrected, uncorrected: w.uncorrected },
    };
  });
  return {
    schema: 'shock.load.result/1',
    meta: {
      tool: 'shock',
      version: loadToolVersion,
      startTime: new Date(startTimeMs).toISOString(),
      startTimeMs,
      target: plan.url.href,
      method: plan.method,
      mode: plan.mode,
      arrival: plan.arrival,
      ratePerSecTarget: plan.ratePerSecTarget,
      stages: plan.stages,
      concurrency: plan.concurrency,
      durationMs: plan.durationMs === Number.MAX_SAFE_INTEGER ? durationMs : plan.durationMs,
      warmupMs: plan.warmupMs,
      intervalMs: plan.intervalMs,
      connections: plan.connections,
      workers: plan.workers,
      maxInflight: plan.maxInflight,
      seed: plan.seed,
    },
    valid: problems.length === 0,
    interrupted,
    problems,
    latencyValidForTail: plan.mode === 'open',
    ratePerSecTarget: plan.ratePerSecTarget,
    ratePerSecAchieved,
    responsesPerSec,
    counts: {
      scheduled: m.scheduled,
      sent: m.sent,
      dropped: m.dropped,
      responses: m.responses,
      errors: m.errors,
      warmupExcluded: m.warmupExcluded,
      samples: m.samples,
    },
    errorRate,
    statusCounts: m.statusCounts,
    errorsByKind: m.errorsByKind,
    schedulingLagMs: { p50: lagMs.p50, p99: lagMs.p99, max: lagMs.max },
    latencyMs: { corrected: summarizeMs(corrected), uncorrected: summarizeMs(uncorrected) },
    histograms: { unit: 'us', corrected: m.corrected, uncorrected: m.uncorrected },
    windows,
    stall: analyzeStall(corrected),
    firstError: m.firstError,
    stoppedAtMs: m.stoppedAtMs,
  };
}
