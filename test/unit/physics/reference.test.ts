/**
 * Each fit method against the published datasets in shared/reference/usl/ (copied to examples/): the coefficients
 * the reference tool reports, to the printed precision, with the same method.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fitUsl, fitWarningCodes, parseMeasurementText, type Measurement } from '../../../src/physics/index.js';

function dataset(name: string): Measurement[] {
  return parseMeasurementText(readFileSync(new URL(`../../../examples/${name}`, import.meta.url), 'utf8'), name);
}

/** `value` printed to `digits` significant digits equals `printed`. */
function printedAs(value: number, printed: number, digits: number, what: string) {
  assert.equal(Number(value.toPrecision(digits)), printed, `${what}: ${value} should print as ${printed}`);
}

test('reference - SPEC SDM91, closed form: σ = 1.705e-02, κ = 7.892e-05 (R usl README)', () => {
  const fit = fitUsl(dataset('specsdm91.csv'), { method: 'closed', bootstrap: 0 });
  assert.equal(fit.gamma, 64.9);
  printedAs(fit.alpha, 1.705e-2, 4, 'σ');
  printedAs(fit.beta, 7.892e-5, 4, 'κ');
});

test('reference - ray tracer, NLS: γ = 21.8488, α = 0.0578, β = 0 with the bound reported (R usl)', () => {
  const fit = fitUsl(dataset('raytracer.csv'), { method: 'nls', bootstrap: 0 });
  printedAs(fit.gamma, 21.8488, 6, 'γ');
  printedAs(fit.alpha, 0.0578, 3, 'α');
  assert.equal(fit.beta, 0);
  assert.equal(fit.atBound.beta, true);
  assert.equal(fit.nMax, Infinity);
  const bound = fit.warnings.find((w) => w.code === fitWarningCodes.boundActive);
  assert.ok(bound, 'the active bound is never silent');
  assert.ok(fit.unconstrained && fit.unconstrained.beta < 0, 'the unconstrained optimum is slightly negative');
  // R's 95% intervals are α [0.0337, 0.0819], γ [17.87, 25.83], β ±0.000214. Ours come from the covariance of all
  // three coefficients at the bound point with Student t on n − 3 degrees of freedom, which is a little wider
  // (R's are 0.98× a normal-quantile interval on n − 2): the same centre, widths within 25%.
  const wald95 = fitUsl(dataset('raytracer.csv'), { method: 'nls', bootstrap: 0, level: 0.95 }).intervals!;
  const within = (actual: number, published: number, tol: number, what: string) =>
    assert.ok(Math.abs(actual - published) < tol, `${what}: ${actual} vs published ${published}`);
  within(wald95.alpha!.upper, 0.0819, 0.0075, 'α upper');
  within(wald95.gamma!.lower, 17.87, 1.2, 'γ lower');
  within(wald95.gamma!.upper, 25.83, 1.2, 'γ upper');
  within(wald95.beta!.upper, 0.000214, 0.00006, 'β upper');
});

test('reference - R usl coefficient test data: α = 0.02, β = 0.02, γ = 1.00 by every method', () => {
  for (const method of ['nls', 'closed', 'quantile'] as const) {
    // The data is the exact curve rounded to 4 decimals, so the median envelope (τ = 0.5) is the curve too.
    const fit = fitUsl(dataset('synthetic-0.02-0.02.csv'), { method, tau: 0.5, bootstrap: 0 });
    printedAs(fit.alpha, 0.02, 3, `${method} α`);
    printedAs(fit.beta, 0.02, 3, `${method} β`);
    printedAs(fit.gamma, 1.0, 3, `${method} γ`);
  }
});

test('reference - counter-shard table (seed 004): α = 0.04, β = 0.010, N_max ≈ 10 by closed form and NLS', () => {
  for (const method of ['closed', 'nls'] as const) {
    const fit = fitUsl(dataset('counter-shard.csv'), { method });
    printedAs(fit.alpha, 0.04, 2, `${method} α`);
    printedAs(fit.beta, 0.01, 2, `${method} β`);
    assert.ok(Math.abs(fit.gamma - 1000) < 1, `${method} γ ${fit.gamma}`);
    assert.equal(Math.round(fit.nMax), 10);
    assert.ok(Math.abs(fit.xMax - 4425) < 2);
    const codes = fit.warnings.map((w) => w.code);
    assert.ok(codes.includes(fitWarningCodes.noInterval), 'four distinct N: no interval');
    assert.ok(codes.includes(fitWarningCodes.retrogradeUnconfirmed), 'largest N 8 < N_max');
    assert.equal(fit.intervals, undefined);
    assert.equal(fit.ceiling, undefined);
  }
});
