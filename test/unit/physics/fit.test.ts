/**
 * fitUsl: the honesty rules (active bound, refusal, five-point minimum, retrograde confirmation, the 15% rule,
 * ceiling), windows and weights, and bad input with stable codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitUsl, fitWarningCodes, uslThroughput, type Measurement } from '../../../src/physics/index.js';

const curve = (gamma: number, alpha: number, beta: number, ns: number[]): Measurement[] =>
  ns.map((n) => ({ n, x: uslThroughput({ gamma, alpha, beta }, n) }));
const codes = (fit: { warnings: readonly { code: string }[] }) => fit.warnings.map((w) => w.code);

test('fit - exact data is recovered by every method with no warnings when the recipe is followed', () => {
  const rows = curve(500, 0.03, 0.002, [1, 2, 4, 8, 16, 24, 32, 48]);
  for (const method of ['nls', 'closed', 'quantile'] as const) {
    const fit = fitUsl(rows, { method, bootstrap: 50 });
    assert.ok(Math.abs(fit.alpha - 0.03) < 1e-6, `${method} α ${fit.alpha}`);
    assert.ok(Math.abs(fit.beta - 0.002) < 1e-7, `${method} β ${fit.beta}`);
    assert.ok(Math.abs(fit.gamma - 500) < 1e-3, `${method} γ ${fit.gamma}`);
    assert.deepEqual(codes(fit), [], `${method} warnings`);
    assert.equal(fit.rows.length, rows.length);
    assert.equal(fit.residuals.length, rows.length);
    assert.ok(fit.residuals.every((r) => Math.abs(r) < 1e-3));
  }
});

test('fit - two distinct N: β is held at 0 (Amdahl) with a warning', () => {
  const fit = fitUsl(
    [
      { n: 1, x: 100 },
      { n: 4, x: 350 },
    ],
    { method: 'nls' },
  );
  assert.equal(fit.beta, 0);
  assert.ok(Math.abs((fit.gamma * 4) / (1 + 3 * fit.alpha) - 350) < 1e-6);
  assert.ok(codes(fit).includes(fitWarningCodes.betaNotIdentified));
  assert.ok(codes(fit).includes(fitWarningCodes.noInterval));
  assert.equal(fit.nMax, Infinity);
});

test('fit - clearly super-linear data is refused with SHOCK_FIT_NON_PHYSICAL and says why', () => {
  // Throughput per node grows with N: X = N^1.3 (cold caches in the early points, say).
  const rows = [1, 2, 4, 8, 16, 32].map((n) => ({ n, x: 100 * n ** 1.3 }));
  for (const method of ['nls', 'closed', 'quantile'] as const) {
    assert.throws(
      () => fitUsl(rows, { method }),
      (err: any) => {
        assert.equal(err.code, 'SHOCK_FIT_NON_PHYSICAL');
        assert.match(err.message, /negative/);
        assert.match(err.message, /super-linear|bends upward/);
        assert.ok(String(err.details.hint).length > 20);
        return true;
      },
    );
  }
});

test('fit - a negative β within noise is held at the bound, never silently', () => {
  // Amdahl data (β = 0) with a little noise that tips the unconstrained β below zero.
  const noise = [0.004, -0.006, 0.005, -0.003, 0.006, -0.002, 0.004, 0.008];
  const rows = [1, 2, 4, 8, 12, 16, 24, 32].map((n, i) => ({
    n,
    x: uslThroughput({ gamma: 100, alpha: 0.05, beta: 0 }, n) * (1 + noise[i]),
  }));
  const fit = fitUsl(rows, { method: 'nls', bootstrap: 0 });
  assert.ok(fit.unconstrained === undefined || fit.unconstrained.beta < 0);
  if (fit.atBound.beta) {
    assert.equal(fit.beta, 0);
    const w = fit.warnings.find((x) => x.code === fitWarningCodes.boundActive);
    assert.ok(w, 'bound warning');
    assert.match(w!.message, /within its interval of zero/);
  }
  assert.ok(fit.alpha >= 0 && fit.beta >= 0);
});

test('fit - the 15% rule names the point that is off the model', () => {
  const rows = curve(1000, 0.02, 0.001, [1, 2, 4, 8, 16, 32, 48, 64]);
  rows[3] = { n: 8, x: rows[3].x * 0.7 };
  const fit = fitUsl(rows, { method: 'nls', bootstrap: 0 });
  // Unweighted least squares follows the large X at large N, so the bad point also drags the small-N points off.
  const off = fit.warnings.filter((w) => w.code === fitWarningCodes.pointOffModel);
  const at8 = off.find((w) => (w.details as any).n === 8);
  assert.ok(at8, 'the point at N = 8 is named');
  assert.match(at8!.message, /N = 8 is −?-?\d+(\.\d)?% off the model/);
  assert.match(at8!.hint, /below the model/);
});

test('fit - retrograde confirmation: no point beyond N_max asks for about 2×N_max', () => {
  const fit = fitUsl(curve(1000, 0.02, 0.001, [1, 2, 4, 8, 12, 16, 20]), { bootstrap: 0 });
  const w = fit.warnings.find((x) => x.code === fitWarningCodes.retrogradeUnconfirmed);
  assert.ok(w);
  assert.equal((w!.details as any).suggestedN, Math.ceil(2 * fit.nMax));
  const confirmed = fitUsl(curve(1000, 0.02, 0.001, [1, 2, 4, 8, 16, 32, 64]), { bootstrap: 0 });
  assert.ok(!codes(confirmed).includes(fitWarningCodes.retrogradeUnconfirmed));
});

test('fit - windows per N: weights 1/σ², groups summarised, ceiling from the bootstrap interval', () => {
  const rows: Measurement[] = [];
  const wiggle = [-0.02, 0.01, 0.015, -0.005, 0];
  for (const n of [1, 2, 4, 8, 12, 16, 24]) {
    const x = uslThroughput({ gamma: 1000, alpha: 0.04, beta: 0.01 }, n);
    for (const w of wiggle) rows.push({ n, x: x * (1 + w * (1 + n / 8)) });
  }
  const fit = fitUsl(rows, { bootstrap: 200, seed: 3 });
  assert.equal(fit.weighted, true);
  assert.equal(fit.groups.length, 7);
  assert.equal(fit.groups[0].count, 5);
  assert.ok(fit.rows[0].weight > fit.rows[rows.length - 1].weight, 'noisier windows weigh less');
  assert.ok(fit.bootstrap && fit.bootstrap.succeeded === 200);
  assert.ok(fit.ceiling && fit.ceiling.source === 'bootstrap');
  assert.equal(fit.ceiling!.nodes, Math.floor(fit.bootstrap!.nMax.lower) - 2);
  assert.ok(fit.bootstrap!.nMax.lower <= fit.nMax && fit.nMax <= fit.bootstrap!.nMax.upper);
  const unweighted = fitUsl(rows, { bootstrap: 0, weights: 'none' });
  assert.equal(unweighted.weighted, false);
});

test('fit - bad input: each problem has a stable code and a message, never a NaN', () => {
  const cases: [Measurement[], string, RegExp][] = [
    [[], 'SHOCK_FIT_TOO_FEW_POINTS', /no measurements/],
    [
      [
        { n: 1, x: 10 },
        { n: 1, x: 11 },
      ],
      'SHOCK_FIT_TOO_FEW_POINTS',
      /two distinct N/,
    ],
    [
      [
        { n: 0, x: 10 },
        { n: 2, x: 11 },
      ],
      'SHOCK_FIT_INPUT_INVALID',
      /N must be >= 1/,
    ],
    [
      [
        { n: 1, x: NaN },
        { n: 2, x: 11 },
      ],
      'SHOCK_FIT_INPUT_INVALID',
      /X is not a number/,
    ],
    [
      [
        { n: 1, x: 10 },
        { n: Infinity, x: 11 },
      ],
      'SHOCK_FIT_INPUT_INVALID',
      /finite/,
    ],
    [
      [
        { n: 1, x: -1 },
        { n: 2, x: 11 },
      ],
      'SHOCK_FIT_INPUT_INVALID',
      /> 0/,
    ],
    [
      [
        { n: 1, x: 10 },
        { n: 2, x: 10 },
        { n: 4, x: 10 },
      ],
      'SHOCK_FIT_FLAT_THROUGHPUT',
      /every N/,
    ],
  ];
  for (const [rows, code, message] of cases) {
    assert.throws(
      () => fitUsl(rows),
      (err: any) => err.code === code && message.test(err.message),
      code,
    );
  }
  assert.throws(() => fitUsl(curve(1, 0.1, 0.01, [1, 2, 4]), { method: 'quantile', tau: 1.5 }), {
    code: 'SHOCK_PHYSICS_DOMAIN',
  });
});

test('fit - every bad row is reported at once', () => {
  try {
    fitUsl([
      { n: 0, x: 1 },
      { n: 2, x: -3 },
      { n: 3, x: NaN },
    ]);
    assert.fail('should throw');
  } catch (err: any) {
    assert.equal(err.code, 'SHOCK_FIT_INPUT_INVALID');
    assert.match(err.message, /3 bad value/);
    assert.match(err.message, /row 1/);
    assert.match(err.message, /row 3/);
  }
});
