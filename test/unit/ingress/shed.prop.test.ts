/** Shedding: p = (load − capacity)/load, priority order, seeded draws; and the circuit breaker's state machine. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock, mulberry32 } from '../../../src/base/index.js';
import { CircuitBreaker } from '../../../src/ingress/breaker.js';
import {
  Shedder,
  eventLoopDelayEnv,
  eventLoopDelaySource,
  shedByPriority,
  sheddingDefaults,
} from '../../../src/ingress/shed.js';

const signals = (inflightEvents: number) => ({ inflightEvents, logQueueDepth: 0, eventLoopDelayMs: 0 });

test('shed - expected shed fraction equals p = 1 - 1/rho, taken from low first, critical last', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.tuple(fc.nat(100), fc.nat(100), fc.nat(100)).filter(([a, b, c]) => a + b + c > 0),
      (p, [c, n, l]) => {
        const total = c + n + l;
        const mix: [number, number, number] = [c / total, n / total, l / total];
        const q = shedByPriority(p, mix);
        const expected = q[0] * mix[0] + q[1] * mix[1] + q[2] * mix[2];
        if (Math.abs(expected - p) > 1e-9) return false;
        if (q.some((x) => x < 0 || x > 1 + 1e-12)) return false;
        // Never critical while any low or normal is left to shed; never normal while low is left.
        if (q[0] > 0 && ((mix[1] > 0 && q[1] < 1 - 1e-12) || (mix[2] > 0 && q[2] < 1 - 1e-12))) return false;
        if (q[1] > 0 && mix[2] > 0 && q[2] < 1 - 1e-12) return false;
        return true;
      },
    ),
    { numRuns: 1000 },
  );
});

test('shed - at 150% load a third of the traffic is shed (seed worked example), by seeded draws', () => {
  const clock = new ManualClock();
  const shedder = new Shedder({ ...sheddingDefaults, inflightAppendsMax: 100 }, clock, mulberry32(42));
  for (let i = 0; i < 1000; i++) shedder.observe('normal');
  const pressure = shedder.assess(signals(149), 1); // (149 + 1) / 100 = 1.5
  assert.equal(pressure.ratio, 1.5);
  assert.ok(Math.abs(pressure.p - 1 / 3) < 1e-12);
  let shedCount = 0;
  const draws = 30_000;
  for (let i = 0; i < draws; i++) if (shedder.shouldShed(pressure, 'normal')) shedCount++;
  // Binomial(30000, 1/3): sd ≈ 82; 6 sd bound.
  assert.ok(Math.abs(shedCount - draws / 3) < 500, `shed ${shedCount} of ${draws}`);
});

test('shed - critical is kept while low traffic can absorb p; everything is shed at the hard limit', () => {
  const clock = new ManualClock();
  const shedder = new Shedder({ ...sheddingDefaults, inflightAppendsMax: 100 }, clock, mulberry32(1));
  for (let i = 0; i < 50; i++) shedder.observe('low');
  for (let i = 0; i < 50; i++) shedder.observe('critical');
  const pressure = shedder.assess(signals(139), 1); // rho 1.4, p ≈ 0.286 < 0.5 low share
  for (let i = 0; i < 1000; i++) assert.equal(shedder.shouldShed(pressure, 'critical'), false);
  const hard = shedder.assess(signals(199), 1);
  assert.equal(hard.reason, 'hard_limit');
  assert.equal(shedder.shouldShed(hard, 'critical'), true);
});

test('shed - below capacity nothing is shed; the dominant signal names the reason', () => {
  const clock = new ManualClock();
  const shedder = new Shedder(
    { ...sheddingDefaults, inflightAppendsMax: 100, eventLoopDelayMsMax: 100 },
    clock,
    mulberry32(1),
  );
  shedder.observe('low');
  assert.equal(shedder.assess(signals(50), 1).p, 0);
  const loop = shedder.assess({ inflightEvents: 0, logQueueDepth: 0, eventLoopDelayMs: 150 }, 1);
  assert.equal(loop.reason, 'event_loop_delay');
  assert.ok(loop.p > 0);
  const queue = shedder.assess({ inflightEvents: 0, logQueueDepth: 75_000, eventLoopDelayMs: 0 }, 1);
  assert.equal(queue.reason, 'queue_depth');
});

test('shed - delay mode grows the delay with queue depth instead of rejecting', () => {
  const clock = new ManualClock();
  const o = {
    ...sheddingDefaults,
    mode: 'delay' as const,
    inflightAppendsMax: 100,
    delayMsMax: 200,
    delayStartRatio: 0.5,
  };
  const shedder = new Shedder(o, clock, mulberry32(1));
  shedder.observe('low');
  const delays = [40, 60, 75, 100, 150].map((inflight) => shedder.assess(signals(inflight - 1), 1));
  assert.deepEqual(
    delays.map((d) => d.delayMs),
    [0, 40, 100, 200, 200],
  );
  for (const d of delays) assert.equal(d.p, 0);
  assert.equal(shedder.assess(signals(250), 1).reason, 'hard_limit');
});

test('breaker - closed, opens after N consecutive failures, half-open after the cool-down, one probe at a time', () => {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker(3, 5000, clock);
  const seen: string[] = [];
  breaker.onTransition = (from, to) => seen.push(`${from}->${to}`);
  for (let i = 0; i < 2; i++) {
    assert.ok(breaker.tryAcquire());
    breaker.onFailure();
  }
  assert.ok(breaker.tryAcquire());
  breaker.onSuccess(); // a success resets the consecutive count
  for (let i = 0; i < 3; i++) {
    assert.ok(breaker.tryAcquire());
    breaker.onFailure();
  }
  assert.equal(breaker.state(), 'open');
  assert.equal(breaker.tryAcquire(), false);
  assert.equal(breaker.msUntilProbe(), 5000);
  clock.advance(5000);
  assert.equal(breaker.state(), 'half-open');
  assert.equal(breaker.tryAcquire(), true);
  assert.equal(breaker.tryAcquire(), false); // only one probe
  breaker.onFailure();
  assert.equal(breaker.state(), 'open');
  clock.advance(5000);
  assert.ok(breaker.tryAcquire());
  breaker.onSuccess();
  assert.equal(breaker.state(), 'closed');
  assert.deepEqual(seen, [
    'closed->open',
    'open->half-open',
    'half-open->open',
    'open->half-open',
    'half-open->closed',
  ]);
});

test('shed - the event-loop delay signal is the injected one, else the environment fixes it, else it is measured', () => {
  const env = { [eventLoopDelayEnv]: '250' };
  const injected = eventLoopDelaySource(() => 7, env);
  assert.equal(injected.delayMs(), 7, 'an injected source wins over the environment');
  injected.stop();
  const fixed = eventLoopDelaySource(undefined, env);
  assert.equal(fixed.delayMs(), 250);
  fixed.stop();
  for (const bad of ['-1', 'soon', 'Infinity']) {
    assert.throws(() => eventLoopDelaySource(undefined, { [eventLoopDelayEnv]: bad }), {
      code: 'SHOCK_CONFIG_INVALID',
    });
  }
  const measured = eventLoopDelaySource(undefined, {});
  assert.equal(measured.delayMs(), 0, 'nothing measured before the first 1 s window closes');
  measured.stop();
});
