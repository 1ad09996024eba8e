/**
 * CPU steal probe and the steal-time gate (seed 004, "Steal-Time Gating"): steal is the fraction of CPU time the
 * guest wanted but the hypervisor gave to another tenant. A throughput window taken under steal s reports
 * X·(1 − s), which a USL fit would misread as coherency cost; so a measurement window whose steal exceeds 2% is
 * rejected and re-run. Read from the aggregate `cpu` line of /proc/stat at the start and the end of the interval:
 *
 *   steal fraction = Δsteal / Δ(user + nice + system + idle + iowait + irq + softirq + steal)
 *
 * (guest and guest_nice are already counted inside user and nice, so they are not added again).
 */
import { readFileSync } from 'node:fs';
import { shockError } from '../../base/index.js';

/** The seed's gate: a window with more than 2% steal is rejected. */
export const stealGateFractionMax = 0.02;

/** Cumulative jiffies of the aggregate `cpu` line. */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  /** Sum of the eight fields above. */
  total: number;
}

/** Parses the aggregate `cpu` line of /proc/stat; null when there is none. */
export function parseProcStat(text: string): CpuTimes | null {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) return null;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 4 || f.some((v) => !Number.isFinite(v))) return null;
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return {
    user,
    nice,
    system,
    idle,
    iowait,
    irq,
    softirq,
    steal,
    total: user + nice + system + idle + iowait + irq + softirq + steal,
  };
}

/** Reads /proc/stat (or `statPath`); SHOCK_PROBE_FAILED when it is missing or unreadable (not Linux). */
export function readCpuTimes(statPath = '/proc/stat'): CpuTimes {
  let text: string;
  try {
    text = readFileSync(statPath, 'utf8');
  } catch (err) {
    throw shockError('SHOCK_PROBE_FAILED', `cannot read ${statPath}: ${(err as Error).message}`, {
      file: statPath,
      hint: 'the steal probe needs Linux /proc/stat; on other systems read steal from the cloud provider metrics',
    });
  }
  const times = parseProcStat(text);
  if (times === null)
    throw shockError('SHOCK_PROBE_FAILED', `${statPath} has no aggregate cpu line`, { file: statPath });
  return times;
}

/** Δsteal / Δtotal between two readings (0 when no time passed). */
export function stealFraction(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  if (total <= 0) return 0;
  return Math.max(0, after.steal - before.steal) / total;
}

export interface StealProbeOptions {
  /** Measurement interval, ms. Default 5000. */
  intervalMs?: number;
  /** Gate threshold (fraction). Default 0.02. */
  gateFractionMax?: number;
  statPath?: string;
  signal?: AbortSignal;
}

export interface StealProbeResult {
  schema: 'shock.probe.steal/1';
  startTime: string;
  intervalMs: number;
  stealFraction: number;
  gateFractionMax: number;
  /** True when steal ≤ the gate: the window may be used. */
  passed: boolean;
  jiffies: { steal: number; total: number };
}

/** Reads steal at the start and end of an interval and applies the gate. */
export async function probeSteal(options: StealProbeOptions = {}): Promise<StealProbeResult> {
  const intervalMs = options.intervalMs ?? 5000;
  const gateFractionMax = options.gateFractionMax ?? stealGateFractionMax;
  const startTime = new Date().toISOString();
  const before = readCpuTimes(options.statPath);
  const startedMs = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, intervalMs);
    options.signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const after = readCpuTimes(options.statPath);
  const fraction = stealFraction(before, after);
  return {
    schema: 'shock.probe.steal/1',
    startTime,
    intervalMs: performance.now() - startedMs,
    stealFraction: fraction,
    gateFractionMax,
    passed: fraction <= gateFractionMax,
    jiffies: { steal: after.steal - before.steal, total: after.total - before.total },
  };
}
