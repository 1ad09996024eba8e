/**
 * The honesty rules of a fit (seed 004: "The Five-Point Minimum and the Retrograde Confirmation", the 15% sanity
 * check, the non-negative constraint) as warnings with stable codes. A code is never renamed or reused once
 * released; `docs/physics.md` lists each with what to do.
 */

export const fitWarningCodes = {
  /** Fewer than 5 distinct N: a point estimate without a confidence interval (and so no autoscaler ceiling). */
  noInterval: 'SHOCK_FIT_W_NO_INTERVAL',
  /** No measurement beyond the fitted N_max: the retrograde region (β) is an extrapolation. */
  retrogradeUnconfirmed: 'SHOCK_FIT_W_RETROGRADE_UNCONFIRMED',
  /** A measured point is more than 15% off the fitted model. */
  pointOffModel: 'SHOCK_FIT_W_POINT_OFF_MODEL',
  /** α or β is held at its bound 0: the unconstrained optimum was negative but within its interval of zero. */
  boundActive: 'SHOCK_FIT_W_BOUND_ACTIVE',
  /** Only two distinct N: β cannot be identified and is fixed at 0 (Amdahl's law). */
  betaNotIdentified: 'SHOCK_FIT_W_BETA_NOT_IDENTIFIED',
  /** No measurement at N = 1: γ is extrapolated from the smallest N (closed form only). */
  noSingleNode: 'SHOCK_FIT_W_NO_SINGLE_NODE',
  /** The N_max interval is wide: the measurement is noise-dominated. */
  wideInterval: 'SHOCK_FIT_W_WIDE_INTERVAL',
  /** Many bootstrap resamples could not be fitted; the bootstrap interval rests on fewer resamples. */
  bootstrapDegenerate: 'SHOCK_FIT_W_BOOTSTRAP_DEGENERATE',
  /** The lower bound of the N_max interval leaves no room: floor(lower) − 2 < 1. */
  ceilingNone: 'SHOCK_FIT_W_CEILING_NONE',
  /** Efficiency falls below 0.6 well before N_max: the serial path (α), not coherency, is binding. */
  contentionDominant: 'SHOCK_FIT_W_CONTENTION_DOMINANT',
} as const;

export type FitWarningCode = (typeof fitWarningCodes)[keyof typeof fitWarningCodes];

/** One honesty warning: what is wrong, what to do next, and the numbers behind it. */
export interface FitWarning {
  readonly code: FitWarningCode;
  readonly message: string;
  /** What to do next, in one sentence. */
  readonly hint: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The deviation above which a point is "off the model" (seed 004, Measurement Recipe step 6). */
export const offModelFraction = 0.15;
/** The fewest distinct N for an interval (seed 004, "The Five-Point Minimum"). */
export const intervalDistinctNMin = 5;

export function fitWarning(
  code: FitWarningCode,
  message: string,
  hint: string,
  details?: Record<string, unknown>,
): FitWarning {
  return details === undefined ? { code, message, hint } : { code, message, hint, details };
}
