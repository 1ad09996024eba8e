/**
 * Overload protection of one gateway process (seed §5.3 and the back-pressure notes of "Coordinated Omission"):
 *
 * - **Signals.** Events awaiting their durable append (in-flight), the log's own queue depth (when the backend
 *   reports one) and event-loop delay (`perf_hooks.monitorEventLoopDelay`, mean of the last 1 s window). Each is
 *   divided by its capacity; the largest ratio is the process load, and its name is the shedding reason. The
 *   event-loop delay is injectable (`eventLoopDelaySource`): it measures how busy the whole machine is, so a test
 *   that is not about shedding fixes it (at 0) and one that is drives it.
 * - **Priority + probabilistic shedding.** Above capacity (load ratio ρ > 1) a fraction p = (load − capacity) / load
 *   = 1 − 1/ρ of the arriving events is shed, taken from `low` first, then `normal`, and from `critical` only when
 *   the recent traffic holds too little low and normal to make up p. Draws come from an injected PRNG.
 * - **Hard limit.** At ρ ≥ `hardRatio` everything is shed, critical included, so memory stays bounded.
 * - **Graduated delay** (`mode: 'delay'`): instead of rejecting, non-critical requests wait a delay proportional to
 *   the load above `delayStartRatio` (up to `delayMsMax`); continuous back-pressure avoids the "discrete back-pressure
 *   collapse" of send-or-drop gating. The hard limit still rejects.
 * - **Shadow mode.** Decisions are made and counted but nothing is rejected or delayed.
 * - **Circuit breaker** around the log append: `breaker.ts` (its options live here with the other capacities).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { assert, shockError, type Clock, type Priority, type Rng } from '../base/index.js';

/** Why the process is loaded (the dominant signal), or why the breaker rejected. */
export const shedReasons = ['inflight', 'queue_depth', 'event_loop_delay', 'hard_limit', 'breaker_open'] as const;
export type ShedReason = (typeof shedReasons)[number];

/** Configuration of overload protection (all capacities are per process). */
export interface SheddingOptions {
  /** `reject`: shed above capacity; `delay`: graduated delay instead of rejection (hard limit still rejects). */
  mode: 'reject' | 'delay';
  /** Observe only: count the decisions, never reject or delay (except the breaker, which protects the disk). */
  shadow: boolean;
  /** Capacity: events awaiting their durable append. */
  inflightAppendsMax: number;
  /** Capacity: records queued inside the log backend (used only when the backend reports its depth). */
  logQueueDepthMax: number;
  /** Capacity: mean event-loop delay over the last 1 s window, ms. */
  eventLoopDelayMsMax: number;
  /** At this load ratio every event is shed, critical included. */
  hardRatio: number;
  /** Delay mode: delays start at this load ratio... */
  delayStartRatio: number;
  /** ...and grow linearly to this many ms at ratio 1 (and stay there up to the hard limit). */
  delayMsMax: number;
  /** Consecutive append failures that open the breaker. */
  breakerFailuresMax: number;
  /** How long the breaker stays open before a probe append is let through. */
  breakerOpenMs: number;
}

/** Defaults (a sketch: 10k in-flight events × ~300 bytes ≈ 3 MB of pending appends). */
export const sheddingDefaults: SheddingOptions = {
  mode: 'reject',
  shadow: false,
  inflightAppendsMax: 10_000,
  logQueueDepthMax: 50_000,
  eventLoopDelayMsMax: 200,
  hardRatio: 2,
  delayStartRatio: 0.5,
  delayMsMax: 200,
  breakerFailuresMax: 5,
  breakerOpenMs: 5_000,
};

/** The overload signals at one instant. */
export interface OverloadSignals {
  inflightEvents: number;
  logQueueDepth: number;
  eventLoopDelayMs: number;
}

/** The load assessment of one request: ρ, p, per-priority shed probabilities and the delay to apply. */
export interface Pressure {
  /** Load ratio ρ = load / capacity of the dominant signal. */
  ratio: number;
  reason: ShedReason;
  /** Fraction to shed, 1 − 1/ρ above capacity, else 0 (1 at the hard limit). */
  p: number;
  /** Shed probability by priority index (0 critical, 1 normal, 2 low). */
  pByPriority: [number, number, number];
  /** Delay mode: ms to wait before appending a non-critical event (0 otherwise). */
  delayMs: number;
}

/** Index of a priority in `pByPriority` and in the mix counters. */
export function priorityIndex(priority: Priority): 0 | 1 | 2 {
  return priority === 'critical' ? 0 : priority === 'normal' ? 1 : 2;
}

/** Mix window: the share of each priority among recent arrivals decides who gives way first. */
const mixWindowMs = 1000;

/** The per-process shedder: load assessment, priority mix, seeded decisions. */
export class Shedder {
  private readonly mixCurrent = new Float64Array(3);
  private readonly mixPrevious = new Float64Array(3);
  private mixWindowStartMs: number;

  constructor(
    readonly options: SheddingOptions,
    private readonly clock: Clock,
    private readonly rng: Rng,
  ) {
    assert(options.hardRatio > 1, 'hardRatio must be > 1', { hardRatio: options.hardRatio });
    assert(options.delayStartRatio > 0 && options.delayStartRatio < 1, 'delayStartRatio must be in (0, 1)');
    this.mixWindowStartMs = clock.monoMs();
  }

  /** Counts arriving events by priority (feeds the mix that orders shedding). */
  observe(priority: Priority, count = 1): void {
    const now = this.clock.monoMs();
    if (now - this.mixWindowStartMs >= mixWindowMs) {
      const stale = now - this.mixWindowStartMs >= 2 * mixWindowMs;
      for (let i = 0; i < 3; i++) {
        this.mixPrevious[i] = stale ? 0 : this.mixCurrent[i];
        this.mixCurrent[i] = 0;
      }
      this.mixWindowStartMs = now;
    }
    this.mixCurrent[priorityIndex(priority)] += count;
  }

  /** The share of each priority among recent arrivals (sums to 1, or all 0 before any arrival). */
  mix(): [number, number, number] {
    const c = this.mixCurrent[0] + this.mixPrevious[0];
    const n = this.mixCurrent[1] + this.mixPrevious[1];
    const l = this.mixCurrent[2] + this.mixPrevious[2];
    const total = c + n + l;
    return total === 0 ? [0, 0, 0] : [c / total, n / total, l / total];
  }

  /** Assesses the load of the process for a request that brings `incoming` more events. */
  assess(signals: OverloadSignals, incoming: number): Pressure {
    const o = this.options;
    let ratio = (signals.inflightEvents + incoming) / o.inflightAppendsMax;
    let reason: ShedReason = 'inflight';
    const queue = signals.logQueueDepth / o.logQueueDepthMax;
    if (queue > ratio) {
      ratio = queue;
      reason = 'queue_depth';
    }
    const loop = signals.eventLoopDelayMs / o.eventLoopDelayMsMax;
    if (loop > ratio) {
      ratio = loop;
      reason = 'event_loop_delay';
    }
    if (ratio >= o.hardRatio) {
      return { ratio, reason: 'hard_limit', p: 1, pByPriority: [1, 1, 1], delayMs: 0 };
    }
    if (o.mode === 'delay') {
      const delayMs = ratio <= o.delayStartRatio ? 0 : delayFor(ratio, o);
      return { ratio, reason, p: 0, pByPriority: [0, 0, 0], delayMs };
    }
    if (ratio <= 1) return { ratio, reason, p: 0, pByPriority: [0, 0, 0], delayMs: 0 };
    const p = 1 - 1 / ratio;
    return { ratio, reason, p, pByPriority: shedByPriority(p, this.mix()), delayMs: 0 };
  }

  /** One seeded draw: true when an event of this priority is to be shed under `pressure`. */
  shouldShed(pressure: Pressure, priority: Priority): boolean {
    const q = pressure.pByPriority[priorityIndex(priority)];
    if (q <= 0) return false;
    if (q >= 1) return true;
    return this.rng.next() < q;
  }
}

/** Graduated delay: linear from 0 at `delayStartRatio` to `delayMsMax` at ratio 1, flat above. */
function delayFor(ratio: number, o: SheddingOptions): number {
  const x = (ratio - o.delayStartRatio) / (1 - o.delayStartRatio);
  return Math.round(o.delayMsMax * (x < 1 ? x : 1));
}

/**
 * Splits the overall shed fraction p over the priorities so that the expected shed fraction equals p: low gives
 * way first (up to all of it), then normal, and critical only for what remains.
 */
export function shedByPriority(p: number, mix: [number, number, number]): [number, number, number] {
  let remaining = p;
  const out: [number, number, number] = [0, 0, 0];
  for (const i of [2, 1, 0] as const) {
    const share = mix[i];
    if (remaining <= 0) break;
    if (share <= 0) continue;
    const take = remaining < share ? remaining : share;
    out[i] = take / share;
    remaining -= take;
  }
  return out;
}

/**
 * Test-only: the environment variable that fixes the event-loop delay signal of every gateway in the process, in ms
 * (`shock serve` started by a test: `0` so a busy machine never sheds, or a value past capacity to drive shedding).
 * Unset in production, where the measured delay is the signal.
 */
export const eventLoopDelayEnv = 'SHOCK_TEST_EVENT_LOOP_DELAY_MS';

/** Where a gateway's event-loop delay comes from, and how to stop measuring it. */
export interface EventLoopDelaySource {
  delayMs: () => number;
  stop(): void;
}

/**
 * The event-loop delay signal of a gateway: `injected` when given (tests and embedders), else the fixed value of
 * `SHOCK_TEST_EVENT_LOOP_DELAY_MS` when set, else the real one (`EventLoopDelayMonitor`). A set value that is not
 * a number ≥ 0 is refused (SHOCK_CONFIG_INVALID) rather than silently measured.
 */
export function eventLoopDelaySource(
  injected: (() => number) | undefined,
  env: NodeJS.ProcessEnv = process.env,
): EventLoopDelaySource {
  if (injected !== undefined) return { delayMs: injected, stop: noop };
  const fixed = env[eventLoopDelayEnv];
  if (fixed !== undefined && fixed !== '') {
    const ms = Number(fixed);
    if (!(Number.isFinite(ms) && ms >= 0)) {
      throw shockError('SHOCK_CONFIG_INVALID', `${eventLoopDelayEnv} must be a number of ms >= 0, got "${fixed}"`);
    }
    return { delayMs: () => ms, stop: noop };
  }
  const monitor = new EventLoopDelayMonitor();
  return { delayMs: () => monitor.delayMs(), stop: () => monitor.stop() };
}

function noop(): void {}

/**
 * Event-loop delay, sampled like fastify's `under-pressure`: the mean delay of `monitorEventLoopDelay` over the last
 * completed window (1 s), refreshed by one unref'd timer, so a stall that is over does not shed for long and the
 * start-up (module loading, schema compilation) never counts.
 */
export class EventLoopDelayMonitor {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private lastMs = 0;

  constructor(windowMs = 1000) {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    this.timer = setInterval(sampleLoopDelay, windowMs, this);
    this.timer.unref();
  }

  /** Mean event-loop delay of the last completed window, in ms (resolution subtracted, ≥ 0). */
  delayMs(): number {
    return this.lastMs;
  }

  /** Closes the window: keeps its mean and starts a new one. */
  sample(): void {
    const meanNs = this.histogram.count > 0 ? this.histogram.mean : 0;
    const ms = meanNs / 1e6 - 10;
    this.lastMs = ms > 0 ? ms : 0;
    this.histogram.reset();
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}

function sampleLoopDelay(monitor: EventLoopDelayMonitor): void {
  monitor.sample();
}
