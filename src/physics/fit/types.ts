/**
 * The shapes the fit methods share. Each method has a *core*: a constrained point estimate (α ≥ 0, β ≥ 0) without
 * intervals or warnings, cheap enough to run a thousand times in a bootstrap. `fitUsl` in `./fit.ts` wraps a core
 * with validation, the active-bound rule, intervals and the honesty warnings.
 */
import type { Measurement } from './data.js';

export type FitMethod = 'closed' | 'nls' | 'quantile';
export const fitMethods: readonly FitMethod[] = ['closed', 'nls', 'quantile'];

/** Rows and their least-squares weights. */
export interface WeightedRows {
  readonly rows: readonly Measurement[];
  readonly weights: readonly number[];
}

/** Index of each coefficient in vectors and covariance matrices: (γ, α, β). */
export const paramIndex = { gamma: 0, alpha: 1, beta: 2 } as const;

export interface CoreOptions {
  /** Hold β at 0 (only two distinct N: β is not identifiable). */
  readonly betaFixed?: boolean;
  /** Quantile level for the quantile method (default 0.1). */
  readonly tau?: number;
  /**
   * A known good starting point for iterative methods (the full-data estimate, when fitting bootstrap resamples):
   * the quantile method then skips its own least-squares start.
   */
  readonly start?: { readonly alpha: number; readonly beta: number };
}

/** A constrained estimate from one method. */
export interface CoreEstimate {
  readonly gamma: number;
  readonly alpha: number;
  readonly beta: number;
  /** Coefficients held at the bound 0 (including β held because it cannot be identified). */
  readonly atBound: { readonly alpha: boolean; readonly beta: boolean };
  /**
   * Covariance of (γ, α, β) at the estimate, scaled by the residual variance; rows and columns of coefficients held
   * at a bound (or not estimated, like γ in the closed form) are 0. Undefined without residual degrees of freedom.
   */
  readonly covariance?: number[][];
  /** Residual degrees of freedom of the estimate (rows − estimated coefficients). */
  readonly dof: number;
  /** The minimised loss: weighted residual sum of squares, or the check loss for quantile regression. */
  readonly loss: number;
  readonly iterations: number;
}

/** The unconstrained optimum (coefficients may be negative), the evidence for the active-bound rule. */
export interface UnconstrainedEstimate {
  readonly gamma: number;
  readonly alpha: number;
  readonly beta: number;
  readonly covariance?: number[][];
  readonly dof: number;
}

/** What a method core returns. */
export interface CoreResult {
  readonly estimate: CoreEstimate;
  /** Absent when the method does not compute one (quantile regression defers to least squares). */
  readonly unconstrained?: UnconstrainedEstimate;
}
