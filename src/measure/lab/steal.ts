/**
 * The steal-time gate of the lab (seed 004, "Noisy-neighbor vCPU steal"): a window during which the hypervisor gave
 * a large share of the CPU to another tenant measures the neighbour, not the system, and is discarded and re-run.
 * Reads /proc/stat through the steal probe; where it is not available (not Linux) the gate is open and records
 * "unknown" (null) instead of failing the run.
 */
import { readCpuTimes, stealFraction, type CpuTimes } from '../probe/index.js';

/** The aggregate CPU times, or null when /proc/stat cannot be read. */
export function readCpuTimesOrNull(statPath = '/proc/stat'): CpuTimes | null {
  try {
    return readCpuTimes(statPath);
  } catch {
    return null;
  }
}

/** Steal as a percentage of all CPU time between two readings; null when unknown. */
export function stealPctBetween(before: CpuTimes | null, after: CpuTimes | null): number | null {
  if (!before || !after) return null;
  return 100 * stealFraction(before, after);
}
