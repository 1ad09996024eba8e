/**
 * The Measurement Recipe as one procedure (seed 004, "Measurement Recipe", "Frontier Measurement Protocol"):
 *
 * 1. Capacity runs: at each N of the plan, a closed loop at saturation (ramped concurrency for a command target; the
 *    concurrency *is* N for a URL target), K consecutive windows. Every window passes the stall filter (P99/P50 > 8
 *    and the log-slope kink: requests above the boundary are not counted; > 2% above → re-run) and the steal-time
 *    gate (steal above the limit → re-run), and is appended to windows.ndjson whether kept or not.
 * 2. The weighted NLS fit with 90% bootstrap intervals, the 15% sanity check and the retrograde confirmation.
 * 3. The latency run: open loop at 80% (and 20%) of the fitted capacity at the chosen N, for a CO-free p99.
 * 4. The birth certificate (certificate.json) and its report (report.html).
 *
 * Interrupt-safe: aborting the signal ends the current window, skips what is left, and still writes a valid
 * certificate marked `partial`. A failing or unreachable target ends the run the same way, with the error beside the
 * partial result.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isShockError, shockError, ShockError } from '../../base/index.js';
import { uslThroughput, type CurveBand } from '../../physics/index.js';
import { analyzeStall, countAboveMs, decodeHistogram } from '../histogram/index.js';
import {
  runOpenLoop,
  startClosedLoop,
  type LoadCut,
  type LoadRequestSpec,
  type LoadResult,
  type LoadSession,
} from '../load/index.js';
import {
  certificateSchemaId,
  certificateVersion,
  driftTriggersFrom,
  formatCertificate,
  latencyValidity,
  latencyVerdictText,
  type Certificate,
  type CertificateConstraints,
  type CertificateFloors,
  type CertificateLatency,
} from '../report/certificate.js';
import { renderCertificateHtml } from '../report/certificate-html.js';
import { fitWindows, pointsFromWindows, type LabFit } from './fit.js';
import { latencyRecordFrom, type LatencyRunSample } from './latency-summary.js';
import { describeMachine } from './machine.js';
import { readCpuTimesOrNull, stealPctBetween } from './steal.js';
import { checkTargetSpec, startTarget, type RunningTarget, type TargetSpec } from './target.js';
import {
  appendRecord,
  readRecords,
  type LatencyRecord,
  type RampRecord,
  type RunRecord,
  type WindowRecord,
} from './windows.js';

/** What each request of the lab's load sends. */
export interface RequestShape {
  method: string;
  body: string | null;
  headers: Record<string, string>;
}

/** Per-request timeout of the lab's load: a request slower than this counts as an error. */
const requestTimeoutMs = 30_000;
/** Connections the latency run may open (requests beyond wait in the pool's queue, still timed from their intent). */
const latencyConnectionsMax = 256;
/** Most requests the latency run keeps outstanding by default (the load generator's default). */
export const latencyMaxInflightDefault = 10_000;

/** How the capacity run chooses its client concurrency at N. */
export type ConcurrencyRule =
  { kind: 'n' } | { kind: 'factor'; factor: number } | { kind: 'ramp'; stepsMax: number; gainMin: number };

/** Everything a lab run needs. */
export interface LabOptions {
  name: string;
  target: TargetSpec;
  plan: number[];
  windows: number;
  windowMs: number;
  warmupMs: number;
  concurrency: ConcurrencyRule;
  request: RequestShape;
  stealPctMax: number;
  /** Extra attempts per N for windows discarded by the stall filter or the steal gate. */
  windowRetriesMax: number;
  /** A window with more than this fraction of errors means the target is failing. */
  errorFractionMax: number;
  latency: {
    loadFractions: number[];
    durationMs: number;
    n: number | null;
    /**
     * Most requests outstanding in the latency run (default 10 000); an arrival beyond is dropped and counted, and
     * the run is then not valid. Connections are at most this many (and at most 256).
     */
    maxInflight?: number | null;
  } | null;
  constraints: CertificateConstraints;
  floors: CertificateFloors;
  outDir: string | null;
  seed: number;
  /** Level of the reported intervals (default 0.9). */
  level?: number;
  signal?: AbortSignal;
  onProgress?: (progress: LabProgress) => void;
}

/** A progress event: what runs now, how much is done, and the estimated time left. */
export interface LabProgress {
  phase: 'capacity' | 'fit' | 'latency' | 'done';
  n: number | null;
  message: string;
  /** Fraction of the run's planned measuring time done, 0..1. */
  fraction: number;
  etaMs: number | null;
}

/** What a lab run produced. The error is set when the run ended early; the certificate is then `partial`. */
export interface LabResult {
  certificate: Certificate;
  band: CurveBand | null;
  windows: WindowRecord[];
  latency: LatencyRecord[];
  outDir: string | null;
  error: ShockError | null;
}

/** Checks options before anything runs; reports every problem at once. */
export function checkLabOptions(options: LabOptions): string[] {
  const problems: string[] = [];
  if (options.plan.length === 0) problems.push('--plan needs at least one N');
  for (const n of options.plan)
    if (!(Number.isInteger(n) && n >= 1 && n <= 4096))
      problems.push(`--plan values must be whole numbers in 1..4096, got ${n}`);
  if (new Set(options.plan).size !== options.plan.length) problems.push('--plan repeats an N');
  if (!(Number.isInteger(options.windows) && options.windows >= 1 && options.windows <= 100))
    problems.push(`--windows must be in 1..100, got ${options.windows}`);
  if (!(options.windowMs >= 100)) problems.push(`--window-duration must be >= 100ms, got ${options.windowMs}ms`);
  if (options.latency) {
    for (const f of options.latency.loadFractions)
      if (!(f > 0 && f < 1)) problems.push(`latency load fractions must be in (0, 1), got ${f}`);
    const inflight = options.latency.maxInflight;
    if (inflight !== undefined && inflight !== null && !(Number.isInteger(inflight) && inflight >= 1))
      problems.push(`--latency-max-inflight must be a whole number >= 1, got ${inflight}`);
  }
  return problems;
}

/** Warnings about the plan itself (a plan is allowed to be thin, but the certificate must say so). */
export function planWarnings(plan: readonly number[]): string[] {
  const warnings: string[] = [];
  if (new Set(plan).size < 5) {
    warnings.push(
      `the plan has ${new Set(plan).size} points: fewer than 5, so the fit has no intervals and no autoscaler ceiling`,
    );
  }
  if (!plan.includes(1)) warnings.push('the plan has no N = 1: γ is extrapolated');
  return warnings;
}

class Progress {
  private readonly startMs = performance.now();
  private doneMs = 0;
  constructor(
    private readonly totalMs: number,
    private readonly sink?: (p: LabProgress) => void,
  ) {}
  advance(ms: number): void {
    this.doneMs = Math.min(this.totalMs, this.doneMs + ms);
  }
  report(phase: LabProgress['phase'], n: number | null, message: string): void {
    if (!this.sink) return;
    const fraction = this.totalMs > 0 ? this.doneMs / this.totalMs : 1;
    const elapsed = performance.now() - this.startMs;
    const etaMs = fraction > 0.02 ? (elapsed / fraction) * (1 - fraction) : null;
    this.sink({ phase, n, message, fraction, etaMs });
  }
}

/** Runs the recipe. Throws only for bad options; every failure after the start is in `result.error`. */
export async function runLab(options: LabOptions): Promise<LabResult> {
  const problems = checkLabOptions(options);
  if (problems.length > 0) throw shockError('SHOCK_CLI_USAGE', problems.join('; '), { problems });
  checkTargetSpec(options.target);
  const windowsPath = prepareOutDir(options.outDir);
  const run: RunRecord = {
    kind: 'run',
    startedAt: new Date().toISOString(),
    name: options.name,
    target: options.target.url,
    command: options.target.command ?? (options.target.argv ? options.target.argv.join(' ') : null),
    nMeaning:
      options.target.command || options.target.argv
        ? 'N passed to the command ({N})'
        : 'client concurrency (closed loop)',
    plan: options.plan,
    windows: options.windows,
    windowMs: options.windowMs,
    stealPctMax: options.stealPctMax,
    latencyPlanned: options.latency !== null,
    constraints: options.constraints,
    floors: options.floors,
    machine: describeMachine(),
  };
  if (windowsPath) appendRecord(windowsPath, run);

  const latencyMs = options.latency ? options.latency.durationMs * options.latency.loadFractions.length : 0;
  const perNMs = options.warmupMs + options.windows * options.windowMs;
  const progress = new Progress(options.plan.length * perNMs + latencyMs, options.onProgress);
  const windows: WindowRecord[] = [];
  const latency: LatencyRecord[] = [];
  let error: ShockError | null = null;

  for (const n of options.plan) {
    if (options.signal?.aborted) break;
    try {
      const measured = await measureAtN(options, n, progress, (ramp) => {
        if (windowsPath) appendRecord(windowsPath, ramp);
      });
      for (const w of measured) {
        windows.push(w);
        if (windowsPath) appendRecord(windowsPath, w);
      }
    } catch (err) {
      if (err instanceof PartialWindows) {
        for (const w of err.windows) {
          windows.push(w);
          if (windowsPath) appendRecord(windowsPath, w);
        }
        error = err.error;
      } else {
        error = asShockError(err);
      }
      break;
    }
  }

  progress.report('fit', null, 'fitting');
  let fitted: LabFit | null = null;
  try {
    fitted = fitWindows(windows, options.seed, options.level ?? 0.9);
  } catch (err) {
    error ??= asShockError(err);
  }

  if (!error && !options.signal?.aborted && fitted && options.latency) {
    try {
      for (const record of await latencyRuns(options, fitted, windows, progress)) {
        latency.push(record);
        if (windowsPath) appendRecord(windowsPath, record);
      }
    } catch (err) {
      error = asShockError(err);
    }
  }
  if (!error && options.signal?.aborted) {
    error = shockError('SHOCK_LAB_INTERRUPTED', 'the lab run was interrupted; the partial result was saved', {
      windowsMeasured: windows.length,
    });
  }
  if (!error && windows.filter((w) => w.kept).length === 0) {
    error = shockError('SHOCK_LAB_NOTHING_MEASURED', 'no window could be kept: nothing to fit', {
      hint: 'check that the target answers 2xx under load; see windows.ndjson for each window and why it was discarded',
    });
  }
  const result = assemble(run, windows, latency, fitted, error);
  progress.report('done', null, error ? `ended early: ${error.message}` : 'done');
  if (options.outDir) writeOutputs(options.outDir, result);
  return { ...result, outDir: options.outDir };
}

/** Re-fits a run directory without measuring (`shock lab --refit DIR`); rewrites certificate.json and report.html. */
export function refitLab(dir: string, seed = 1, level = 0.9): LabResult {
  const { run, windows, latency } = readRecords(join(dir, 'windows.ndjson'));
  let error: ShockError | null = null;
  let fitted: LabFit | null = null;
  try {
    fitted = fitWindows(windows, seed, level);
  } catch (err) {
    error = asShockError(err);
  }
  const complete =
    new Set(windows.filter((w) => w.kept).map((w) => w.n)).size === run.plan.length &&
    (run.latencyPlanned === false || latency.length > 0);
  if (!error && !complete) {
    error = shockError('SHOCK_LAB_INTERRUPTED', 'the run directory holds a partial run; re-fitted what was measured', {
      planned: run.plan,
      measured: [...new Set(windows.map((w) => w.n))],
    });
  }
  const result = assemble(run, windows, latency, fitted, error);
  writeOutputs(dir, result);
  return { ...result, outDir: dir };
}

class PartialWindows extends Error {
  constructor(
    readonly windows: WindowRecord[],
    readonly error: ShockError,
  ) {
    super(error.message);
  }
}

function asShockError(err: unknown): ShockError {
  if (isShockError(err)) return err;
  return shockError('SHOCK_INTERNAL', `internal error: ${(err as Error)?.message ?? String(err)}`, {}, err);
}

function prepareOutDir(outDir: string | null): string | null {
  if (!outDir) return null;
  try {
    mkdirSync(outDir, { recursive: true });
    const path = join(outDir, 'windows.ndjson');
    writeFileSync(path, '');
    return path;
  } catch (cause) {
    throw shockError('SHOCK_CLI_OUTPUT_UNWRITABLE', `cannot write to ${outDir}`, { dir: outDir }, cause);
  }
}

async function measureAtN(
  options: LabOptions,
  n: number,
  progress: Progress,
  onRamp: (ramp: RampRecord) => void,
): Promise<WindowRecord[]> {
  progress.report('capacity', n, `N = ${n}: starting the target`);
  const target = await startTarget(options.target, n);
  const records: WindowRecord[] = [];
  let loop: CapacityLoop | null = null;
  try {
    loop = await chooseLoop(options, target, n, progress, onRamp);
    let kept = 0;
    let attempt = 0;
    const attemptsMax = options.windows + options.windowRetriesMax;
    while (kept < options.windows && attempt < attemptsMax && !options.signal?.aborted) {
      progress.report('capacity', n, `N = ${n}: window ${kept + 1}/${options.windows}`);
      const record = await measureWindow(options, loop, n, attempt);
      attempt++;
      records.push(record);
      if (record.kept) {
        kept++;
        progress.advance(options.windowMs);
      }
      const total = record.completed + record.errors;
      if (record.errors > 0 && record.errors > options.errorFractionMax * total) {
        throw new PartialWindows(
          records,
          shockError(
            'SHOCK_LAB_TARGET_FAILING',
            `the target answered errors to ${record.errors} of ${total} requests at N = ${n} (first: ${record.firstError})`,
            {
              url: target.url,
              n,
              hint: 'fix the service (or the --method/--body/--header of the request), then re-run; the windows measured so far are saved',
            },
          ),
        );
      }
    }
    progress.advance((options.windows - kept) * options.windowMs);
    return records;
  } finally {
    await loop?.session.stop();
    await target.stop();
  }
}

/**
 * The capacity run's load at one N: one continuous closed loop (`startClosedLoop` of the load generator) of C
 * clients, sliced into consecutive measurement windows by cuts, so there is no ramp transient inside a window. Only
 * 2xx answers are timed: the window's histogram serves the stall filter (the recipe discards capacity-run latencies
 * as numbers).
 */
interface CapacityLoop {
  session: LoadSession;
  concurrency: number;
}

/** The load generator's form of the lab's request. */
function loadRequest(shape: RequestShape): LoadRequestSpec {
  return { method: shape.method, headers: shape.headers, ...(shape.body !== null ? { body: shape.body } : {}) };
}

async function startLoop(url: string, concurrency: number, request: RequestShape): Promise<CapacityLoop> {
  const session = await startClosedLoop({
    url,
    concurrency,
    request: loadRequest(request),
    timeoutMs: requestTimeoutMs,
    sampleStatuses: '2xx',
  });
  return { session, concurrency };
}

/**
 * Waits `durationMs` (aborting ends the wait early), then cuts the loop. Windows are contiguous: a cut runs from the
 * previous cut (or the loop's start), so the time the caller spends between two windows belongs to the next, and
 * completions that arrive meanwhile are neither lost nor counted against too short a duration (which would bias
 * the throughput upwards by the gap).
 */
async function sliceWindow(loop: CapacityLoop, durationMs: number, signal?: AbortSignal): Promise<LoadCut> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, durationMs);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    if (signal?.aborted) done();
    else signal?.addEventListener('abort', done, { once: true });
  });
  return loop.session.cut();
}

async function chooseLoop(
  options: LabOptions,
  target: RunningTarget,
  n: number,
  progress: Progress,
  onRamp: (ramp: RampRecord) => void,
): Promise<CapacityLoop> {
  const rule = options.concurrency;
  if (rule.kind !== 'ramp') {
    const concurrency = rule.kind === 'n' ? n : Math.ceil(rule.factor * n) + 2;
    const loop = await startLoop(target.url, concurrency, options.request);
    await sliceWindow(loop, options.warmupMs, options.signal);
    progress.advance(options.warmupMs);
    return loop;
  }
  // Ramp the offered load until throughput stops rising (recipe step 2): 2N, 4N, ... clients, each step a short
  // probe window. Each step's loop runs alone (the previous one is stopped first), so its probe measures the target
  // at that concurrency and not shared with the step before. When a doubling gains less than `gainMin`, the ramp
  // returns to the concurrency before it (the last that gained) and lets it settle for one probe.
  const probeMs = Math.max(100, options.warmupMs / (rule.stepsMax + 1));
  const steps: RampRecord['steps'] = [];
  const say = (text: string) => progress.report('capacity', n, `N = ${n}: ramp ${text}`);
  let concurrency = Math.max(2, 2 * n);
  let loop = await startLoop(target.url, concurrency, options.request);
  let best = rateOf(await sliceWindow(loop, probeMs, options.signal));
  steps.push({ concurrency, ratePerSec: best, gain: null });
  say(`concurrency ${concurrency}: ${best.toFixed(1)}/s`);
  let stop: RampRecord['stop'] = 'steps';
  for (let step = 0; step < rule.stepsMax; step++) {
    if (options.signal?.aborted) {
      stop = 'interrupted';
      break;
    }
    const next = concurrency * 2;
    await loop.session.stop();
    loop = await startLoop(target.url, next, options.request);
    const rate = rateOf(await sliceWindow(loop, probeMs, options.signal));
    if (options.signal?.aborted) {
      // The probe was cut short: no verdict on this step, and no windows follow.
      concurrency = next;
      stop = 'interrupted';
      break;
    }
    const gain = best > 0 ? rate / best - 1 : rate > 0 ? Infinity : 0;
    steps.push({ concurrency: next, ratePerSec: rate, gain: Number.isFinite(gain) ? gain : null });
    if (!(gain >= rule.gainMin)) {
      say(
        `concurrency ${next}: ${rate.toFixed(1)}/s, ${(gain * 100).toFixed(1)}% < ${(rule.gainMin * 100).toFixed(0)}%: back to ${concurrency}`,
      );
      stop = 'gain';
      await loop.session.stop();
      loop = await startLoop(target.url, concurrency, options.request);
      await sliceWindow(loop, probeMs, options.signal);
      break;
    }
    say(`concurrency ${next}: ${rate.toFixed(1)}/s, +${(gain * 100).toFixed(1)}%`);
    concurrency = next;
    best = rate;
  }
  onRamp({
    kind: 'ramp',
    n,
    gainMin: rule.gainMin,
    stepsMax: rule.stepsMax,
    probeMs,
    steps,
    stop,
    concurrency,
  });
  progress.advance(options.warmupMs);
  return loop;
}

function rateOf(cut: LoadCut): number {
  return cut.durationMs > 0 ? (1000 * cut.ok) / cut.durationMs : 0;
}

async function measureWindow(
  options: LabOptions,
  loop: CapacityLoop,
  n: number,
  attempt: number,
): Promise<WindowRecord> {
  const startedAt = new Date().toISOString();
  const cpuBefore = readCpuTimesOrNull();
  const cut = await sliceWindow(loop, options.windowMs, options.signal);
  const stealPct = stealPctBetween(cpuBefore, readCpuTimesOrNull());
  const histogram = decodeHistogram(cut.histograms.corrected);
  const completed = cut.ok;
  const stall = analyzeStall(histogram);
  const aboveStall = stall.stallPopulation && stall.boundaryMs !== null ? countAboveMs(histogram, stall.boundaryMs) : 0;
  const counted = completed - aboveStall;
  let reason: WindowRecord['reason'] = null;
  if (options.signal?.aborted) reason = 'interrupted';
  else if (completed === 0) reason = cut.errors > 0 ? 'errors' : 'empty';
  else if (cut.errors > options.errorFractionMax * (completed + cut.errors)) reason = 'errors';
  else if (stall.rerun) reason = 'stall';
  else if (stealPct !== null && stealPct > options.stealPctMax) reason = 'steal';
  return {
    kind: 'window',
    n,
    concurrency: loop.concurrency,
    attempt,
    startedAt,
    durationMs: cut.durationMs,
    completed,
    errors: cut.errors,
    aboveStall,
    throughputPerSec: cut.durationMs > 0 ? (1000 * counted) / cut.durationMs : 0,
    ratioP99P50: stall.ratioP99P50,
    stallBoundaryMs: stall.boundaryMs,
    stealPct,
    kept: reason === null,
    reason,
    firstError: cut.firstError,
    histogram: cut.histograms.corrected,
  };
}

/** The N of the latency run: the largest measured N within the autoscaler ceiling (or N_max), else the peak's N. */
export function chooseLatencyN(fitted: LabFit, windows: readonly WindowRecord[], requested: number | null): number {
  if (requested !== null) return requested;
  const points = pointsFromWindows(windows);
  const limit = fitted.fit.autoscalerCeiling ?? (fitted.fit.nMax ? Math.floor(fitted.fit.nMax.value) : Infinity);
  const within = points.filter((p) => p.n <= limit);
  if (within.length > 0) return within[within.length - 1].n;
  return points.reduce((a, b) => (b.throughputPerSec > a.throughputPerSec ? b : a)).n;
}

async function latencyRuns(
  options: LabOptions,
  fitted: LabFit,
  windows: readonly WindowRecord[],
  progress: Progress,
): Promise<LatencyRecord[]> {
  const spec = options.latency!;
  const n = chooseLatencyN(fitted, windows, spec.n);
  const capacityPerSec = uslThroughput(
    { gamma: fitted.fit.gamma.value, alpha: fitted.fit.alpha.value, beta: fitted.fit.beta.value },
    n,
  );
  const maxInflight = spec.maxInflight ?? latencyMaxInflightDefault;
  const target = await startTarget(options.target, n);
  const records: LatencyRecord[] = [];
  try {
    for (const fraction of spec.loadFractions) {
      if (options.signal?.aborted) break;
      const ratePerSec = fraction * capacityPerSec;
      progress.report(
        'latency',
        n,
        `latency run: open loop at ${(fraction * 100).toFixed(0)}% of X(${n}) = ${ratePerSec.toFixed(1)}/s`,
      );
      const run = latencySample(
        await runOpenLoop({
          url: target.url,
          ratePerSec,
          arrival: 'poisson',
          durationMs: spec.durationMs,
          request: loadRequest(options.request),
          seed: options.seed,
          connections: Math.min(latencyConnectionsMax, maxInflight),
          maxInflight,
          timeoutMs: requestTimeoutMs,
          sampleStatuses: '2xx',
          signal: options.signal,
        }),
      );
      progress.advance(spec.durationMs);
      const total = run.requests + run.errors;
      if (run.errors > options.errorFractionMax * Math.max(1, total)) {
        throw shockError(
          'SHOCK_LAB_TARGET_FAILING',
          `the target answered errors to ${run.errors} of ${total} requests in the latency run (first: ${run.firstError})`,
          { n },
        );
      }
      const record = latencyRecordFrom(run, n, fraction, ratePerSec);
      records.push(record);
      if (record.verdict && !record.verdict.valid) {
        progress.report('latency', n, `latency run at ${(fraction * 100).toFixed(0)}%: ${latencyVerdictText(record)}`);
      }
    }
  } finally {
    await target.stop();
  }
  return records;
}

/**
 * The latency run's numbers from the load generator's result: 2xx answers (the only ones timed, from their intended
 * send time), every other request that was sent as an error, the schedule time actually run (shorter when the
 * signal stopped it), and the generator's verdict (was the scheduled load applied: no drops, rate held, no lag,
 * errors within its threshold).
 */
export function latencySample(result: LoadResult): LatencyRunSample {
  let ok = 0;
  for (const [status, count] of Object.entries(result.statusCounts)) {
    if (Number(status) >= 200 && Number(status) < 300) ok += count;
  }
  return {
    durationMs: Math.min(result.stoppedAtMs ?? result.meta.durationMs, result.meta.durationMs),
    requests: ok,
    errors: result.counts.sent - ok,
    firstError: result.firstError,
    histogram: decodeHistogram(result.histograms.corrected),
    verdict: {
      valid: result.valid,
      problems: result.problems.map((p) => ({ code: p.code, message: p.message })),
      ratePerSecAchieved: result.ratePerSecAchieved,
      dropped: result.counts.dropped,
      schedulingLagMsP99: result.schedulingLagMs.p99,
    },
  };
}

function assemble(
  run: RunRecord,
  windows: WindowRecord[],
  latency: LatencyRecord[],
  fitted: LabFit | null,
  error: ShockError | null,
): Omit<LabResult, 'outDir'> {
  const points = pointsFromWindows(windows);
  const fit = fitted?.fit ?? null;
  const warnings = [...planWarnings(run.plan)];
  const discarded = windows.filter((w) => !w.kept);
  if (discarded.length > 0) {
    const reasons = new Map<string, number>();
    for (const w of discarded) reasons.set(w.reason ?? 'unknown', (reasons.get(w.reason ?? 'unknown') ?? 0) + 1);
    warnings.push(`${discarded.length} window(s) discarded: ${[...reasons].map(([r, c]) => `${c} ${r}`).join(', ')}`);
  }
  if (run.constraints.keys === 'uniform') warnings.push('uniform-synthetic baseline; hot-key correction unknown');
  for (const l of latency) {
    if (latencyValidity(l) === 'invalid')
      warnings.push(
        `the latency run at ${(l.loadFraction * 100).toFixed(0)}% of X(${l.n}) is ${latencyVerdictText(l)}; its percentiles are for a load that was not applied`,
      );
  }
  const certificateLatency: CertificateLatency[] = latency.map((l) => {
    const { kind: _kind, encodedHistogram: _encoded, ...rest } = l;
    return rest;
  });
  const certificate: Certificate = {
    schema: certificateSchemaId,
    version: certificateVersion,
    createdAt: new Date().toISOString(),
    status: error ? 'partial' : 'complete',
    partialReason: error ? `${error.code}: ${error.message}` : null,
    subject: { name: run.name, target: run.target, command: run.command, nMeaning: run.nMeaning },
    plan: { n: run.plan, windows: run.windows, windowMs: run.windowMs, stealPctMax: run.stealPctMax },
    points,
    fit,
    latency: certificateLatency,
    floors: run.floors,
    constraints: run.constraints,
    machine: run.machine,
    driftTriggers: driftTriggersFrom(fit),
    warnings,
  };
  return { certificate, band: fitted?.band ?? null, windows, latency, error };
}

function writeOutputs(dir: string, result: Omit<LabResult, 'outDir'>): void {
  try {
    writeFileSync(join(dir, 'certificate.json'), formatCertificate(result.certificate));
    writeFileSync(
      join(dir, 'report.html'),
      renderCertificateHtml(result.certificate, { band: result.band, windows: result.windows }),
    );
  } catch (cause) {
    if (isShockError(cause)) throw cause;
    throw shockError('SHOCK_CLI_OUTPUT_UNWRITABLE', `cannot write the certificate to ${dir}`, { dir }, cause);
  }
}
