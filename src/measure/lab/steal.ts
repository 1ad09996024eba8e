/**
 * The steal-time gate (seed 004, "Noisy-neighbor vCPU steal"): a window during which the hypervisor gave a large
 * share of the CPU to another tenant measures the neighbour, not the system, and is discarded and re-run. Steal is
 * read from the `steal` column of the aggregate `cpu` line of /proc/stat (Linux); elsewhere the gate is open and
 * records "unknown".
 */
import { readFileSync } from 'node:fs';

/** Cumulative CPU jiffies at one instant. */
export interface CpuTimes {
  steal: number;
  total: number;
}

/** Reads the aggregate CPU times, or null when /proc/stat is not available. */
export function readCpuTimes(statPath = '/proc/stat'): CpuTimes | null {
  try {
    const line = readFileSync(statPath, 'utf8').split('\n', 1)[0];
    if (!line.startsWith('cpu ')) return null;
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already inside user.
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { steal: fields[7] ?? 0, total };
  } catch {
    return null;
  }
}

/** Steal as a percentage of all CPU time between two readings; null when unknown. */
export function stealPctBetween(before: CpuTimes | null, after: CpuTimes | null): number | null {
  if (!before || !after) return null;
  const total = after.total - before.total;
  if (total <= 0) return 0;
  return (100 * (after.steal - before.steal)) / total;
}
