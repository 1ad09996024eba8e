/**
 * The raw record of a lab run: `windows.ndjson`, one JSON object per line, appended as the run goes, so a run can
 * be re-fitted without re-measuring (`shock lab --refit DIR`) and an interrupted run leaves everything it measured.
 *
 * Lines are `{"kind":"run",...}` (the run's settings, first), `{"kind":"window",...}` (one capacity window each,
 * kept or discarded, with its HDR histogram), `{"kind":"ramp",...}` (a command target's concurrency ramp at one N,
 * before its windows) and `{"kind":"latency",...}` (one open-loop latency run each). Readers skip kinds they do not
 * know, so older files (without ramp lines) read the same.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { shockError } from '../../base/index.js';
import type {
  CertificateConstraints,
  CertificateFloors,
  CertificateLatency,
  CertificateMachine,
} from '../report/certificate.js';

/** The settings line. */
export interface RunRecord {
  kind: 'run';
  startedAt: string;
  name: string;
  target: string;
  command: string | null;
  nMeaning: string;
  plan: number[];
  windows: number;
  windowMs: number;
  stealPctMax: number;
  /** Whether the run planned a latency run (absent in older files: assumed yes). */
  latencyPlanned?: boolean;
  constraints: CertificateConstraints;
  floors: CertificateFloors;
  machine: CertificateMachine;
}

/** Why a window was not kept. */
export type DiscardReason = 'stall' | 'steal' | 'errors' | 'interrupted' | 'empty';

/** One capacity window. */
export interface WindowRecord {
  kind: 'window';
  n: number;
  concurrency: number;
  /** 0-based attempt index at this N (re-runs of discarded windows count too). */
  attempt: number;
  startedAt: string;
  durationMs: number;
  completed: number;
  errors: number;
  /** Completions above the stall boundary, excluded from the filtered count. */
  aboveStall: number;
  /** Completed minus the requests above the stall boundary, per second. */
  throughputPerSec: number;
  ratioP99P50: number;
  stallBoundaryMs: number | null;
  stealPct: number | null;
  kept: boolean;
  reason: DiscardReason | null;
  firstError: string | null;
  /** HDR histogram of the window's latencies (compressed base64). */
  histogram: string;
}

/** The concurrency ramp at one N (command targets without --concurrency-factor). */
export interface RampRecord {
  kind: 'ramp';
  n: number;
  /** The least relative throughput gain of a doubling that continues the ramp (0.05). */
  gainMin: number;
  /** Most doublings after the first step. */
  stepsMax: number;
  /** Length of each step's probe window, ms. */
  probeMs: number;
  /** Each step: its client concurrency, the throughput of its probe and the gain over the best step before. */
  steps: Array<{ concurrency: number; ratePerSec: number; gain: number | null }>;
  /** Why the ramp stopped: a doubling gained less than gainMin, it ran stepsMax doublings, or it was interrupted. */
  stop: 'gain' | 'steps' | 'interrupted';
  /** The concurrency the windows at this N were measured with. */
  concurrency: number;
}

/** One latency run. */
export interface LatencyRecord extends CertificateLatency {
  kind: 'latency';
  /** HDR histogram of the run (compressed base64). */
  encodedHistogram: string;
}

/** Any line of windows.ndjson. */
export type LabRecord = RunRecord | WindowRecord | RampRecord | LatencyRecord;

/** Appends one record (synchronously, so a crash loses at most the line being written). */
export function appendRecord(path: string, record: LabRecord): void {
  try {
    appendFileSync(path, JSON.stringify(record) + '\n');
  } catch (cause) {
    throw shockError('SHOCK_CLI_OUTPUT_UNWRITABLE', `cannot write ${path}`, { file: path }, cause);
  }
}

/** The records of a run directory's windows.ndjson; a torn last line (a crash mid-write) is ignored. */
export function readRecords(path: string): {
  run: RunRecord;
  windows: WindowRecord[];
  ramps: RampRecord[];
  latency: LatencyRecord[];
} {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw shockError(
      'SHOCK_CLI_INPUT_UNREADABLE',
      `cannot read ${path}`,
      { file: path, hint: 'pass the --out DIR of a lab run' },
      cause,
    );
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const records: LabRecord[] = [];
  lines.forEach((line, i) => {
    try {
      records.push(JSON.parse(line) as LabRecord);
    } catch (cause) {
      if (i === lines.length - 1) return;
      throw shockError('SHOCK_REPORT_INVALID', `${path} line ${i + 1} is not JSON`, { file: path, line: i + 1 }, cause);
    }
  });
  const run = records.find((r): r is RunRecord => r.kind === 'run');
  if (!run) throw shockError('SHOCK_REPORT_INVALID', `${path} has no run line`, { file: path });
  return {
    run,
    windows: records.filter((r): r is WindowRecord => r.kind === 'window'),
    ramps: records.filter((r): r is RampRecord => r.kind === 'ramp'),
    latency: records.filter((r): r is LatencyRecord => r.kind === 'latency'),
  };
}
