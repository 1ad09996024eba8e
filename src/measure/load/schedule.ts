/**
 * The open-loop arrival schedule. The target rate is a piecewise-linear function r(t) (k6 `ramping-arrival-rate`,
 * vegeta's linear pacer): stage j ramps linearly from the previous target to its own over its duration. Arrivals
 * are placed by inverting the cumulative intensity Λ(t) = ∫₀ᵗ r(u) du:
 *
 *   constant spacing: request i is due at Λ⁻¹(i);
 *   Poisson arrivals: request i is due at Λ⁻¹(E_i), E_i = E_{i−1} + Exp(1) (time-rescaling theorem), so the
 *   arrivals form an inhomogeneous Poisson process of intensity r(t).
 *
 * Due times are computed from the start, never from the previous send, so the schedule cannot drift. W worker threads
 * split one schedule: constant — worker w takes i ≡ w (mod W); Poisson — each worker draws its own Poisson process
 * of intensity r(t)/W (a superposition of independent Poisson processes is Poisson with the summed intensity).
 */
import { assert, randomExponential, shockError, type Rng } from '../../base/index.js';

export interface Stage {
  durationMs: number;
  /** The rate reached at the end of the stage (requests/s); the stage ramps linearly towards it. */
  ratePerSecTarget: number;
}

export type ArrivalProcess = 'constant' | 'poisson';

/** Parses `30s:1000,60s:5000` (k6 stages). Durations take ms, s, m, h (bare number = seconds). */
export function parseStages(text: string): Stage[] {
  const problems: string[] = [];
  const stages: Stage[] = [];
  const items = text.split(',').map((s) => s.trim());
  for (const item of items) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?:(\d+(?:\.\d+)?)$/.exec(item);
    if (!m) {
      problems.push(`"${item}" is not DURATION:RATE (e.g. 30s:1000)`);
      continue;
    }
    const unit = m[2] ?? 's';
    const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
    const durationMs = Number(m[1]) * factor;
    if (!(durationMs > 0)) problems.push(`"${item}": the duration must be > 0`);
    stages.push({ durationMs, ratePerSecTarget: Number(m[3]) });
  }
  if (problems.length === 0 && !stages.some((s) => s.ratePerSecTarget > 0)) {
    problems.push('at least one stage needs a rate > 0');
  }
  if (problems.length > 0) {
    throw shockError('SHOCK_LOAD_BAD_OPTION', `--stages is malformed: ${problems.join('; ')}`, {
      stages: text,
      hint: 'write stages as DURATION:RATE pairs separated by commas, e.g. --stages 30s:1000,60s:5000',
    });
  }
  return stages;
}

/** Piecewise-linear rate profile: starts at `ratePerSecInitial`, then each stage ramps to its target. */
export interface RateProfile {
  ratePerSecInitial: number;
  stages: Stage[];
}

/** Profile of a constant rate held for a duration. */
export function constantProfile(ratePerSec: number, durationMs: number): RateProfile {
  return { ratePerSecInitial: ratePerSec, stages: [{ durationMs, ratePerSecTarget: ratePerSec }] };
}

interface Segment {
  startMs: number;
  durationMs: number;
  /** Λ at the segment start (requests). */
  countStart: number;
  /** Rate at the start, requests per ms. */
  a: number;
  /** Rate change per ms², (r1 − r0) / T. */
  b: number;
}

/** Λ(t) and its inverse over a rate profile. Times in ms from the start of the schedule. */
export class CumulativeIntensity {
  readonly durationMs: number;
  /** Λ(T): the expected number of arrivals over the whole schedule. */
  readonly countTotal: number;
  private readonly segments: Segment[];

  constructor(profile: RateProfile) {
    this.segments = [];
    let startMs = 0;
    let count = 0;
    let rate = profile.ratePerSecInitial;
    for (const stage of profile.stages) {
      assert(stage.durationMs > 0 && stage.ratePerSecTarget >= 0 && rate >= 0, 'a stage needs T > 0 and r ≥ 0', {
        stage,
      });
      const a = rate / 1000;
      const b = (stage.ratePerSecTarget - rate) / 1000 / stage.durationMs;
      this.segments.push({ startMs, durationMs: stage.durationMs, countStart: count, a, b });
      count += a * stage.durationMs + (b * stage.durationMs * stage.durationMs) / 2;
      startMs += stage.durationMs;
      rate = stage.ratePerSecTarget;
    }
    this.durationMs = startMs;
    this.countTotal = count;
  }

  /** Λ⁻¹(n): the time (ms) by which n arrivals are expected, or null when n ≥ Λ(T). */
  timeOfCountMs(n: number): number | null {
    if (!(n < this.countTotal)) return null;
    for (const s of this.segments) {
      const inSegment = n - s.countStart;
      const segmentCount = s.a * s.durationMs + (s.b * s.durationMs * s.durationMs) / 2;
      if (inSegment >= segmentCount) continue;
      // Solve (b/2)u² + a·u − Δ = 0 in the cancellation-free form u = 2Δ / (a + √(a² + 2bΔ)).
      const root = Math.sqrt(Math.max(0, s.a * s.a + 2 * s.b * inSegment));
      const u = inSegment <= 0 ? 0 : (2 * inSegment) / (s.a + root);
      return s.startMs + Math.min(u, s.durationMs);
    }
    return null;
  }
}

/** One scheduled request: its global sequence number and its intended send time (ms from the start). */
export interface Arrival {
  seq: number;
  dueMs: number;
}

/** The arrivals one worker (of `workerCount`) is responsible for, in due order. Bounded by Λ(T). */
export class ArrivalSequence {
  private k = 0;
  private countPoisson = 0;

  constructor(
    private readonly intensity: CumulativeIntensity,
    private readonly process: ArrivalProcess,
    private readonly rng: Rng,
    private readonly workerIndex = 0,
    private readonly workerCount = 1,
  ) {
    assert(workerIndex >= 0 && workerIndex < workerCount, 'worker index out of range', { workerIndex, workerCount });
  }

  /** The next arrival, or null when the schedule has ended. */
  next(): Arrival | null {
    const seq = this.workerIndex + this.k * this.workerCount;
    let n: number;
    if (this.process === 'constant') {
      n = seq;
    } else {
      this.countPoisson += randomExponential(this.rng, this.workerCount);
      n = this.countPoisson;
    }
    const dueMs = this.intensity.timeOfCountMs(n);
    if (dueMs === null) return null;
    this.k++;
    return { seq, dueMs };
  }
}
