/**
 * Queueing results the lab and the data plane lean on: Little's law, Kingman's G/G/1 approximation, the M/M/1
 * response-time distribution, and the coordinated-omission bias bound 1/(1 − ρ) (seed 004, Proposition 9).
 */
import { shockError } from '../base/index.js';

function domain(message: string): never {
  throw shockError('SHOCK_PHYSICS_DOMAIN', message);
}

function checkUtilisation(rho: number): void {
  if (!(rho >= 0 && rho < 1)) domain(`utilisation ρ must be in [0, 1) for a stable queue, got ${rho}`);
}

/** Little's law L = λW: mean number in the system from the arrival rate (per second) and mean time in it (seconds). */
export function littleL(arrivalPerSec: number, timeSec: number): number {
  if (!(arrivalPerSec >= 0 && timeSec >= 0)) domain('arrival rate and time must be >= 0');
  return arrivalPerSec * timeSec;
}

/** Little's law solved for W = L/λ (seconds). */
export function littleW(inSystem: number, arrivalPerSec: number): number {
  if (!(arrivalPerSec > 0 && inSystem >= 0)) domain('need an arrival rate > 0 and a count >= 0');
  return inSystem / arrivalPerSec;
}

/**
 * Kingman's approximation for the mean wait in a G/G/1 queue:
 *     E[W_q] ≈ (ρ/(1 − ρ)) · ((c_a² + c_s²)/2) · τ_s,
 * with c_a, c_s the coefficients of variation of inter-arrival and service times and τ_s the mean service time.
 * Exact for M/M/1 (c_a = c_s = 1).
 */
export function kingmanWait(rho: number, cvArrival: number, cvService: number, serviceTime: number): number {
  checkUtilisation(rho);
  if (!(cvArrival >= 0 && cvService >= 0 && serviceTime >= 0))
    domain('coefficients of variation and service time must be >= 0');
  return (rho / (1 - rho)) * ((cvArrival ** 2 + cvService ** 2) / 2) * serviceTime;
}

/**
 * The coordinated-omission bias bound (seed 004, Proposition 9): a generator that pauses during overload
 * understates the tail by at least 1/(1 − ρ); at ρ = 0.9 that is 10×.
 */
export function coordinatedOmissionBias(rho: number): number {
  checkUtilisation(rho);
  return 1 / (1 - rho);
}

/** M/M/1 with arrival rate λ and service rate μ (per second). */
export interface Mm1 {
  readonly rho: number;
  /** Mean time in system 1/(μ − λ), seconds. */
  readonly responseMean: number;
  /** Mean wait in queue ρ/(μ − λ), seconds. */
  readonly waitMean: number;
  /** Mean number in system ρ/(1 − ρ). */
  readonly inSystemMean: number;
}

export function mm1(arrivalPerSec: number, servicePerSec: number): Mm1 {
  if (!(servicePerSec > 0 && arrivalPerSec >= 0)) domain('need a service rate > 0 and an arrival rate >= 0');
  const rho = arrivalPerSec / servicePerSec;
  checkUtilisation(rho);
  const gap = servicePerSec - arrivalPerSec;
  return { rho, responseMean: 1 / gap, waitMean: rho / gap, inSystemMean: rho / (1 - rho) };
}

/**
 * The p-quantile of M/M/1 response time (FCFS): the time in system is exponential with rate μ − λ, so
 * t_p = −ln(1 − p)/(μ − λ). The P99 is ln(100) ≈ 4.6 mean response times.
 */
export function mm1ResponsePercentile(arrivalPerSec: number, servicePerSec: number, p: number): number {
  if (!(p >= 0 && p < 1)) domain(`the percentile must be in [0, 1), got ${p}`);
  const { responseMean } = mm1(arrivalPerSec, servicePerSec);
  return -Math.log(1 - p) * responseMean;
}

/**
 * The p-quantile of M/M/1 waiting time in queue: P(W_q > t) = ρ·e^(−(μ−λ)t), so t_p = max(0, ln(ρ/(1 − p))/(μ − λ)).
 */
export function mm1WaitPercentile(arrivalPerSec: number, servicePerSec: number, p: number): number {
  if (!(p >= 0 && p < 1)) domain(`the percentile must be in [0, 1), got ${p}`);
  const { rho } = mm1(arrivalPerSec, servicePerSec);
  if (rho === 0) return 0;
  return Math.max(0, Math.log(rho / (1 - p)) / (servicePerSec - arrivalPerSec));
}
