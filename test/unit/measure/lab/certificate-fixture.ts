/** A valid birth certificate for tests that need one without measuring (values from a known law). */
import {
  driftTriggersFrom,
  type Certificate,
  type CertificateFit,
} from '../../../../src/measure/report/certificate.js';

/** USL throughput for the fixture's points. */
function law(gamma: number, alpha: number, beta: number, n: number): number {
  return (gamma * n) / (1 + alpha * (n - 1) + beta * n * (n - 1));
}

/** A certificate whose points follow γ, α, β exactly, with intervals ±`spread` (relative) around each value. */
export function sampleCertificate(
  options: { gamma?: number; alpha?: number; beta?: number; spread?: number; p99Us?: number; name?: string } = {},
): Certificate {
  const gamma = options.gamma ?? 100;
  const alpha = options.alpha ?? 0.05;
  const beta = options.beta ?? 0.002;
  const spread = options.spread ?? 0.03;
  const plan = [1, 2, 4, 8, 16, 32];
  const nMax = Math.sqrt((1 - alpha) / beta);
  const around = (v: number) => ({ value: v, low: v * (1 - spread), high: v * (1 + spread) });
  const fit: CertificateFit = {
    method: 'weighted nls (fixture)',
    level: 0.9,
    gamma: around(gamma),
    alpha: around(alpha),
    beta: around(beta),
    nMax: around(nMax),
    xMaxPerSec: law(gamma, alpha, beta, nMax),
    autoscalerCeiling: Math.floor(nMax * (1 - spread)) - 2,
    sanity: { deviationMax: 0.01, worstN: 1, passed: true },
    retrograde: { measured: false, confirmed: false, note: 'fixture' },
    warnings: [],
  };
  return {
    schema: 'shockabsorber/birth-certificate',
    version: 1,
    createdAt: '2026-11-23T12:00:00.000Z',
    status: 'complete',
    partialReason: null,
    subject: {
      name: options.name ?? 'fixture',
      target: 'http://127.0.0.1:1/',
      command: null,
      nMeaning: 'client concurrency (closed loop)',
    },
    plan: { n: plan, windows: 3, windowMs: 1000, stealPctMax: 10 },
    points: plan.map((n) => ({
      n,
      concurrency: 2 * n + 2,
      throughputPerSec: law(gamma, alpha, beta, n),
      throughputSdPerSec: 1,
      windowsKept: 3,
      windowsDiscarded: 0,
    })),
    fit,
    latency: [
      {
        n: 16,
        loadFraction: 0.8,
        ratePerSec: 0.8 * law(gamma, alpha, beta, 16),
        durationMs: 2000,
        requests: 1000,
        errors: 0,
        latencyUsP50: 20_000,
        latencyUsP99: options.p99Us ?? 60_000,
        latencyUsP999: 80_000,
        latencyUsMax: 90_000,
        histogram: {
          percentiles: [
            { percentile: 50, latencyUs: 20_000 },
            { percentile: 99, latencyUs: options.p99Us ?? 60_000 },
          ],
        },
      },
    ],
    floors: { storageFsyncPerSec: null, networkRttUsP99: null, source: 'not measured' },
    constraints: {
      keys: 'uniform',
      zipfExponent: null,
      fsync: 'on',
      telemetry: 'on',
      operatingN: null,
      crossShardFraction: null,
      notes: [],
    },
    machine: {
      os: 'linux',
      release: '6',
      arch: 'x64',
      cpus: 2,
      cpuModel: 'test',
      memoryBytes: 4e9,
      node: 'v20',
      hostname: 'test',
    },
    driftTriggers: driftTriggersFrom(fit),
    warnings: [],
  };
}
