/**
 * `shock report compare A B`: what moved between two birth certificates, whether each move is beyond the 90%
 * intervals, and what the change was in the Pareto Ledger's terms (seed 004, "The Pareto Ledger"): a movement
 * toward the frontier (the ceiling rose and nothing got worse), along it (one coordinate bought with another), a
 * regression (something got worse and nothing better), or no move beyond the noise. It also evaluates B against
 * A's drift triggers.
 */
import { latencyValidity, type Certificate, type Estimate } from './certificate.js';

/** Which way is better for a coordinate. */
type Better = 'higher' | 'lower';

/** One coordinate's movement. */
export interface Movement {
  name: string;
  unit: string;
  before: number | null;
  after: number | null;
  /** (after − before) / before; null when either side is missing or before is 0. */
  changeRatio: number | null;
  /** True when the two 90% intervals do not overlap (or, without intervals, the change exceeds 15%). */
  beyondIntervals: boolean;
  /** Whether the move, if beyond the intervals, is an improvement, a worsening, or neither. */
  verdict: 'better' | 'worse' | 'unchanged' | 'unknown';
}

/** A drift trigger of A evaluated on B. */
export interface TriggerCheck {
  rule: string;
  fired: boolean | null;
  evidence: string;
}

/** The comparison of two certificates. */
export interface Comparison {
  before: { name: string; createdAt: string };
  after: { name: string; createdAt: string };
  movements: Movement[];
  classification: 'toward-frontier' | 'along-frontier' | 'regression' | 'no-change' | 'unknown';
  explanation: string;
  triggers: TriggerCheck[];
}

const noIntervalChangeMin = 0.15;

function overlapFree(a: Estimate, b: Estimate): boolean | null {
  if (a.low === null || a.high === null || b.low === null || b.high === null) return null;
  return a.high < b.low || b.high < a.low;
}

function movement(name: string, unit: string, better: Better, a: Estimate | null, b: Estimate | null): Movement {
  if (!a || !b) {
    return {
      name,
      unit,
      before: a?.value ?? null,
      after: b?.value ?? null,
      changeRatio: null,
      beyondIntervals: false,
      verdict: 'unknown',
    };
  }
  const changeRatio = a.value === 0 ? null : (b.value - a.value) / Math.abs(a.value);
  const disjoint = overlapFree(a, b);
  const beyondIntervals =
    disjoint ?? (changeRatio === null ? b.value !== a.value : Math.abs(changeRatio) > noIntervalChangeMin);
  let verdict: Movement['verdict'] = 'unchanged';
  if (beyondIntervals) {
    const up = b.value > a.value;
    verdict = (better === 'higher') === up ? 'better' : 'worse';
  }
  return { name, unit, before: a.value, after: b.value, changeRatio, beyondIntervals, verdict };
}

function point(value: number | null | undefined): Estimate | null {
  return value === null || value === undefined ? null : { value, low: null, high: null };
}

function p99At80(c: Certificate): Estimate | null {
  const run = c.latency.find((l) => Math.abs(l.loadFraction - 0.8) < 0.05);
  return run ? point(run.latencyUsP99) : null;
}

/** Whether the 80% latency run was measured under a load the generator did not apply (see latencyVerdictText). */
function p99At80Invalid(c: Certificate): boolean {
  const run = c.latency.find((l) => Math.abs(l.loadFraction - 0.8) < 0.05);
  return run !== undefined && latencyValidity(run) === 'invalid';
}

function peakMeasured(c: Certificate): number | null {
  return c.points.length === 0 ? null : Math.max(...c.points.map((p) => p.throughputPerSec));
}

function classify(movements: Movement[]): Pick<Comparison, 'classification' | 'explanation'> {
  const better = movements.filter((m) => m.verdict === 'better').map((m) => m.name);
  const worse = movements.filter((m) => m.verdict === 'worse').map((m) => m.name);
  const known = movements.filter((m) => m.verdict !== 'unknown');
  if (known.length === 0) {
    return { classification: 'unknown', explanation: 'neither certificate has a fit to compare' };
  }
  const ceiling = movements.find((m) => m.name === 'X_max');
  if (better.length > 0 && worse.length === 0) {
    const expanded = ceiling?.verdict === 'better';
    return {
      classification: 'toward-frontier',
      explanation: `${better.join(', ')} improved beyond the intervals and nothing got worse${
        expanded ? ': the throughput ceiling moved out (frontier expansion)' : ''
      }`,
    };
  }
  if (better.length > 0 && worse.length > 0) {
    return {
      classification: 'along-frontier',
      explanation: `a trade: ${better.join(', ')} improved while ${worse.join(', ')} got worse — a movement along the frontier; record what was paid`,
    };
  }
  if (worse.length > 0) {
    return {
      classification: 'regression',
      explanation: `${worse.join(', ')} got worse beyond the intervals and nothing improved`,
    };
  }
  return { classification: 'no-change', explanation: 'no coordinate moved beyond the 90% intervals' };
}

function triggerChecks(a: Certificate, b: Certificate): TriggerCheck[] {
  const t = a.driftTriggers;
  const checks: TriggerCheck[] = [];
  const gamma = b.fit?.gamma.value ?? null;
  checks.push({
    rule: t.rules[0] ?? 'γ drop > 20%',
    fired: t.gammaFloorPerSec === null || gamma === null ? null : gamma < t.gammaFloorPerSec,
    evidence: gamma === null ? 'B has no fitted γ' : `γ = ${fmt(gamma)}/s vs floor ${fmt(t.gammaFloorPerSec)}/s`,
  });
  const beta = b.fit?.beta.value ?? null;
  checks.push({
    rule: t.rules[1] ?? 'β more than 15% above',
    fired: t.betaCeiling === null || beta === null ? null : beta > t.betaCeiling && beta > 0,
    evidence: beta === null ? 'B has no fitted β' : `β = ${fmt(beta)} vs ceiling ${fmt(t.betaCeiling)}`,
  });
  const operating = b.constraints.operatingN ?? null;
  checks.push({
    rule: t.rules[2] ?? 'N past N_max',
    fired: t.nMax === null || operating === null ? null : operating > t.nMax,
    evidence:
      operating === null
        ? 'B records no operating N (pass --operating-n)'
        : `operating N = ${operating} vs N_max = ${fmt(t.nMax)}`,
  });
  const peak = peakMeasured(b);
  checks.push({
    rule: t.rules[3] ?? 'shadow-frontier gap > 15%',
    fired: t.shadowFrontierFloorPerSec === null || peak === null ? null : peak < t.shadowFrontierFloorPerSec,
    evidence:
      peak === null
        ? 'B has no measured points'
        : `measured peak ${fmt(peak)}/s vs ${fmt(t.shadowFrontierFloorPerSec)}/s (85% of A's X_max)`,
  });
  return checks;
}

function fmt(v: number | null): string {
  if (v === null) return 'unknown';
  if (v === 0) return '0';
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

/** Compares certificate B (after) against A (before). */
export function compareCertificates(a: Certificate, b: Certificate): Comparison {
  const fa = a.fit;
  const fb = b.fit;
  const movements: Movement[] = [
    movement('γ', 'req/s', 'higher', fa?.gamma ?? null, fb?.gamma ?? null),
    movement('α', '', 'lower', fa?.alpha ?? null, fb?.alpha ?? null),
    movement('β', '', 'lower', fa?.beta ?? null, fb?.beta ?? null),
    movement('N_max', '', 'higher', fa?.nMax ?? null, fb?.nMax ?? null),
    movement('X_max', 'req/s', 'higher', point(fa?.xMaxPerSec), point(fb?.xMaxPerSec)),
    p99At80Invalid(a) || p99At80Invalid(b)
      ? movement('p99 at 80% load (a latency run not valid: not compared)', 'µs', 'lower', null, null)
      : movement('p99 at 80% load', 'µs', 'lower', p99At80(a), p99At80(b)),
  ];
  return {
    before: { name: a.subject.name, createdAt: a.createdAt },
    after: { name: b.subject.name, createdAt: b.createdAt },
    movements,
    ...classify(movements),
    triggers: triggerChecks(a, b),
  };
}

/** The comparison as terminal text. */
export function formatComparison(c: Comparison): string {
  const lines = [`compare: ${c.before.name} (${c.before.createdAt}) → ${c.after.name} (${c.after.createdAt})`, ''];
  for (const m of c.movements) {
    const change =
      m.changeRatio === null ? '' : ` (${m.changeRatio >= 0 ? '+' : ''}${(m.changeRatio * 100).toFixed(1)}%)`;
    const beyond =
      m.verdict === 'unknown' ? 'unknown' : m.beyondIntervals ? `beyond intervals: ${m.verdict}` : 'within intervals';
    lines.push(`  ${m.name.padEnd(16)} ${fmt(m.before).padStart(10)} → ${fmt(m.after).padEnd(10)}${change}  ${beyond}`);
  }
  lines.push('', `verdict: ${c.classification} — ${c.explanation}`, '', 'drift triggers of the first certificate:');
  for (const t of c.triggers) {
    const state = t.fired === null ? 'unknown' : t.fired ? 'FIRED' : 'ok';
    lines.push(`  [${state}] ${t.rule} (${t.evidence})`);
  }
  return lines.join('\n');
}
