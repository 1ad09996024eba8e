/**
 * `shock lab --demo`: the paper's Figure 1 measured for real. The three consumer designs of `designs.ts` run as
 * real server processes (one per N, started by the lab like any command target), each is measured across N by the
 * recipe and fitted, and one page shows the three measured curves with their fitted coefficients and intervals:
 * near-linear (shared-nothing), an Amdahl ceiling (one shared lock), retrograde past N_max (all-to-all
 * coordination).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shockError, type ShockError } from '../../../base/index.js';
import { renderDemoHtml, type DemoDesignResult } from '../../report/certificate-html.js';
import { runLab, type LabOptions, type LabProgress, type LabResult } from '../recipe.js';
import { demoDesigns, demoTimingDefault, type DemoDesign, type DemoTiming } from './designs.js';

/** Options of the demonstration. */
export interface DemoOptions {
  outDir: string;
  /** How to start this program's `lab serve-demo` (executable and leading arguments). */
  selfCommand: string[];
  plan: number[];
  windows: number;
  windowMs: number;
  warmupMs: number;
  latencyMs: number;
  timing: DemoTiming;
  designs: DemoDesign[];
  seed: number;
  signal?: AbortSignal;
  onProgress?: (design: DemoDesign, progress: LabProgress) => void;
}

/** Defaults that finish in about three minutes on a 2-core machine. */
export const demoDefaults = {
  plan: [1, 2, 4, 8, 12, 16, 24, 32],
  windows: 3,
  windowMs: 1200,
  warmupMs: 500,
  latencyMs: 2000,
} as const;

/** What each design is, in one sentence for the report. */
export const designDescriptions: Record<DemoDesign, string> = {
  'shared-nothing':
    'Each consumer owns its partition and its writes; nothing is shared (the A2 design). Expected: near-linear.',
  'shared-lock':
    'The commit of every batch (8 ms of the 40) runs under one lock shared by all consumers. Expected: an Amdahl ceiling γ/α.',
  coordinated:
    'Before its write, each consumer fetches the version vector (N entries) of every other consumer and merges it: N − 1 messages of N entries per batch. Expected: retrograde past N_max.',
};

/** The result of the demonstration. */
export interface DemoResult {
  designs: Array<DemoDesignResult & { result: LabResult }>;
  error: ShockError | null;
}

function timingArgs(timing: DemoTiming): string[] {
  return [
    '--write-ms',
    String(timing.writeMs),
    '--commit-ms',
    String(timing.commitMs),
    '--entry-ms',
    String(timing.entryMs),
  ];
}

/** The lab options for one design. */
export function demoLabOptions(options: DemoOptions, design: DemoDesign): LabOptions {
  return {
    name: `demo: ${design}`,
    target: {
      url: 'http://127.0.0.1:{PORT}/batch',
      command: null,
      argv: [
        ...options.selfCommand,
        'lab',
        'serve-demo',
        '--design',
        design,
        '--consumers',
        '{N}',
        '--port',
        '{PORT}',
        ...timingArgs(options.timing),
      ],
      readyUrl: 'http://127.0.0.1:{PORT}/healthz',
      readyTimeoutMs: 20_000,
    },
    plan: options.plan,
    windows: options.windows,
    windowMs: options.windowMs,
    warmupMs: options.warmupMs,
    // Twice N (plus two) batches in flight keeps every consumer busy: the closed loop saturates the design.
    concurrency: { kind: 'factor', factor: 2 },
    request: { method: 'GET', body: null, headers: {} },
    stealPctMax: 10,
    windowRetriesMax: 2,
    errorFractionMax: 0.5,
    latency: { loadFractions: [0.8], durationMs: options.latencyMs, n: null },
    constraints: {
      keys: 'uniform',
      zipfExponent: null,
      fsync: 'off',
      telemetry: 'off',
      operatingN: null,
      crossShardFraction: null,
      notes: [
        `simulated device: write ${options.timing.writeMs} ms, commit ${options.timing.commitMs} ms under the lock, ${options.timing.entryMs} ms per version-vector entry fetched from each peer`,
      ],
    },
    floors: {
      storageFsyncPerSec: null,
      networkRttUsP99: null,
      source: 'not probed (the demo writes to a simulated device)',
    },
    outDir: join(options.outDir, design),
    seed: options.seed,
    signal: options.signal,
    onProgress: options.onProgress ? (p) => options.onProgress!(design, p) : undefined,
  };
}

/** Runs the demonstration; writes DIR/<design>/…, DIR/demo.json and DIR/report.html. */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  try {
    mkdirSync(options.outDir, { recursive: true });
  } catch (cause) {
    throw shockError('SHOCK_CLI_OUTPUT_UNWRITABLE', `cannot create ${options.outDir}`, { dir: options.outDir }, cause);
  }
  const designs: DemoResult['designs'] = [];
  let error: ShockError | null = null;
  for (const design of options.designs) {
    if (options.signal?.aborted) break;
    const result = await runLab(demoLabOptions(options, design));
    designs.push({
      design,
      description: designDescriptions[design],
      certificate: result.certificate,
      band: result.band,
      result,
    });
    if (result.error) {
      // A design whose data the fit refuses is still shown; an interruption ends the demonstration.
      error = result.error;
      if (result.error.code === 'SHOCK_LAB_INTERRUPTED' || options.signal?.aborted) break;
    }
  }
  const note = `Same I/O-bound work for every design (a ${options.timing.writeMs} ms batch write, so N is not limited by the CPU cores); only the sharing differs. Real server processes, real HTTP, closed-loop capacity windows of ${options.windowMs} ms, ${options.windows} per N.`;
  writeFileSync(join(options.outDir, 'report.html'), renderDemoHtml(designs, note));
  writeFileSync(
    join(options.outDir, 'demo.json'),
    JSON.stringify(
      {
        timing: options.timing,
        plan: options.plan,
        designs: designs.map((d) => ({
          design: d.design,
          certificate: `${d.design}/certificate.json`,
          fit: d.certificate.fit,
          points: d.certificate.points,
        })),
        error: error ? error.toJSON() : null,
      },
      null,
      2,
    ) + '\n',
  );
  return { designs, error };
}

export { demoDesigns, demoTimingDefault };
