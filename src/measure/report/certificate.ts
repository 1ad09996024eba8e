/**
 * The birth certificate: the receipt of one Measurement Recipe run (seed 004, "Pareto Ledger" and "Measurement
 * Recipe"). It records γ, α, β with their 90% intervals, N_max and the autoscaler ceiling, the storage and network
 * floors, the CO-free p99 at 80% load with its histogram, the assumed constraints (traffic distribution, fsync,
 * telemetry), the machine and the date, and the drift triggers a later run is checked against.
 *
 * The JSON is versioned (`schema` + `version`) and validated with ajv whenever it is read, so `shock report` never
 * reasons from a document it does not understand.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { shockError } from '../../base/index.js';

/** The schema identifier every certificate carries. */
export const certificateSchemaId = 'shockabsorber/birth-certificate';
/** The one version this code writes and reads. */
export const certificateVersion = 1;

/** A point estimate with its 90% interval; `low`/`high` are null when the data supports no interval. */
export interface Estimate {
  value: number;
  low: number | null;
  high: number | null;
}

/** The throughput measured at one N: the median of the kept (stall-filtered, steal-gated) windows. */
export interface CertificatePoint {
  n: number;
  /** Client concurrency the capacity run used at this N (closed loop). */
  concurrency: number;
  throughputPerSec: number;
  /** Standard deviation across the kept windows (the weight of this point in the fit is 1/sd²). */
  throughputSdPerSec: number;
  windowsKept: number;
  windowsDiscarded: number;
}

/** The fitted law and what follows from it. */
export interface CertificateFit {
  method: string;
  /** Level of the intervals (0.9 by default: the seed's 90%). */
  level: number;
  gamma: Estimate;
  alpha: Estimate;
  beta: Estimate;
  /** N at the throughput peak; null when β = 0 (no peak: an Amdahl ceiling). */
  nMax: Estimate | null;
  /** The peak (or the ceiling γ/α when β = 0) in requests per second. */
  xMaxPerSec: number | null;
  /** Lower bound of the N_max interval minus two (seed: "Frontier Measurement Protocol"); null without interval. */
  autoscalerCeiling: number | null;
  /** Largest |measured − model| / model over the points, and whether it is within the 15% sanity bound. */
  sanity: { deviationMax: number; worstN: number; passed: boolean };
  /** Whether throughput was measured falling past the peak, beyond the noise. */
  retrograde: { measured: boolean; confirmed: boolean; note: string };
  warnings: string[];
}

/** A latency histogram as percentile → microseconds rows (what the report plots). */
export interface LatencyHistogram {
  percentiles: Array<{ percentile: number; latencyUs: number }>;
}

/** One CO-free open-loop latency run at a fixed fraction of the fitted capacity. */
export interface CertificateLatency {
  n: number;
  /** Fraction of the fitted capacity X(n) offered (0.8 for the recipe's latency run). */
  loadFraction: number;
  ratePerSec: number;
  durationMs: number;
  requests: number;
  errors: number;
  latencyUsP50: number;
  latencyUsP99: number;
  latencyUsP999: number;
  latencyUsMax: number;
  histogram: LatencyHistogram;
  /**
   * The load generator's validity verdict of the run (`runOpenLoop`'s `valid` and `problems`). Absent in
   * certificates written before it was recorded: validity unknown.
   */
  verdict?: LatencyVerdict;
}

/** Whether an open-loop latency run applied the load it was asked to apply (see docs/measure-load.md). */
export interface LatencyVerdict {
  valid: boolean;
  /**
   * Why it is not valid (empty when valid): `interrupted`, `dropped`, `rate_not_held`, `lag`, `errors`,
   * `no_responses`.
   */
  problems: Array<{ code: string; message: string }>;
  /** Requests sent per second over the middle of the schedule, as the generator measured it. */
  ratePerSecAchieved: number;
  /** Arrivals not sent because too many requests were outstanding. */
  dropped: number;
  /** p99 of how late requests were sent relative to their intended time, ms. */
  schedulingLagMsP99: number;
}

/** The assumed constraints: the conditions the numbers hold under (seed: "synthetic traffic mismatch"). */
export interface CertificateConstraints {
  keys: 'uniform' | 'zipf' | 'histogram' | 'trace' | 'unknown';
  zipfExponent: number | null;
  fsync: 'on' | 'off' | 'unknown';
  telemetry: 'on' | 'off' | 'unknown';
  /** Nodes or consumers run in production, when known (auditor's question 2). */
  operatingN: number | null;
  /** Fraction of writes crossing shard boundaries, when known (auditor's question 3). */
  crossShardFraction: number | null;
  notes: string[];
}

/** Hardware floors of the achievable region (seed: "Bootstrap Protocol", Phase 1). */
export interface CertificateFloors {
  storageFsyncPerSec: number | null;
  networkRttUsP99: number | null;
  source: string;
}

/** Thresholds a later measurement is compared with (seed: "Pareto Ledger — Physics Taxes", Interior Diagnostics). */
export interface CertificateDriftTriggers {
  /** Re-measure when γ falls below this (a drop of more than 20%). */
  gammaFloorPerSec: number | null;
  /** Re-fit when β rises above this (more than 15% above the certificate). */
  betaCeiling: number | null;
  /** Stop adding nodes past this N. */
  nMax: number | null;
  /** Investigate when the measured peak falls below this (a shadow-frontier gap over 15% of X_max). */
  shadowFrontierFloorPerSec: number | null;
  rules: string[];
}

/** The machine the run measured on. */
export interface CertificateMachine {
  os: string;
  release: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  hostname: string;
}

/** The birth certificate (version 1). */
export interface Certificate {
  schema: typeof certificateSchemaId;
  version: typeof certificateVersion;
  createdAt: string;
  status: 'complete' | 'partial';
  /** Why the run is partial (interrupted, failing target, too few points...). */
  partialReason: string | null;
  subject: { name: string; target: string; command: string | null; nMeaning: string };
  plan: { n: number[]; windows: number; windowMs: number; stealPctMax: number };
  points: CertificatePoint[];
  fit: CertificateFit | null;
  latency: CertificateLatency[];
  floors: CertificateFloors;
  constraints: CertificateConstraints;
  machine: CertificateMachine;
  driftTriggers: CertificateDriftTriggers;
  warnings: string[];
}

const nullableNumber = { type: ['number', 'null'] };
const estimateSchema = {
  type: 'object',
  required: ['value', 'low', 'high'],
  additionalProperties: false,
  properties: { value: { type: 'number' }, low: nullableNumber, high: nullableNumber },
};
const stringArray = { type: 'array', items: { type: 'string' } };

/** JSON Schema (draft-07) of version 1; unknown keys are refused so a typo or a newer writer is caught. */
export const certificateJsonSchema = {
  $id: 'https://shockabsorber.dev/schemas/birth-certificate-1.json',
  type: 'object',
  additionalProperties: false,
  required: [
    'schema',
    'version',
    'createdAt',
    'status',
    'partialReason',
    'subject',
    'plan',
    'points',
    'fit',
    'latency',
    'floors',
    'constraints',
    'machine',
    'driftTriggers',
    'warnings',
  ],
  properties: {
    schema: { const: certificateSchemaId },
    version: { const: certificateVersion },
    createdAt: { type: 'string', minLength: 10 },
    status: { enum: ['complete', 'partial'] },
    partialReason: { type: ['string', 'null'] },
    subject: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'target', 'command', 'nMeaning'],
      properties: {
        name: { type: 'string' },
        target: { type: 'string' },
        command: { type: ['string', 'null'] },
        nMeaning: { type: 'string' },
      },
    },
    plan: {
      type: 'object',
      additionalProperties: false,
      required: ['n', 'windows', 'windowMs', 'stealPctMax'],
      properties: {
        n: { type: 'array', items: { type: 'integer', minimum: 1 } },
        windows: { type: 'integer', minimum: 1 },
        windowMs: { type: 'number', exclusiveMinimum: 0 },
        stealPctMax: { type: 'number', minimum: 0 },
      },
    },
    points: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['n', 'concurrency', 'throughputPerSec', 'throughputSdPerSec', 'windowsKept', 'windowsDiscarded'],
        properties: {
          n: { type: 'integer', minimum: 1 },
          concurrency: { type: 'integer', minimum: 1 },
          throughputPerSec: { type: 'number', minimum: 0 },
          throughputSdPerSec: { type: 'number', minimum: 0 },
          windowsKept: { type: 'integer', minimum: 0 },
          windowsDiscarded: { type: 'integer', minimum: 0 },
        },
      },
    },
    fit: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          additionalProperties: false,
          required: [
            'method',
            'level',
            'gamma',
            'alpha',
            'beta',
            'nMax',
            'xMaxPerSec',
            'autoscalerCeiling',
            'sanity',
            'retrograde',
            'warnings',
          ],
          properties: {
            method: { type: 'string' },
            level: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
            gamma: estimateSchema,
            alpha: estimateSchema,
            beta: estimateSchema,
            nMax: { oneOf: [{ type: 'null' }, estimateSchema] },
            xMaxPerSec: nullableNumber,
            autoscalerCeiling: nullableNumber,
            sanity: {
              type: 'object',
              additionalProperties: false,
              required: ['deviationMax', 'worstN', 'passed'],
              properties: {
                deviationMax: { type: 'number' },
                worstN: { type: 'number' },
                passed: { type: 'boolean' },
              },
            },
            retrograde: {
              type: 'object',
              additionalProperties: false,
              required: ['measured', 'confirmed', 'note'],
              properties: { measured: { type: 'boolean' }, confirmed: { type: 'boolean' }, note: { type: 'string' } },
            },
            warnings: stringArray,
          },
        },
      ],
    },
    latency: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: [
          'n',
          'loadFraction',
          'ratePerSec',
          'durationMs',
          'requests',
          'errors',
          'latencyUsP50',
          'latencyUsP99',
          'latencyUsP999',
          'latencyUsMax',
          'histogram',
        ],
        properties: {
          n: { type: 'integer', minimum: 1 },
          loadFraction: { type: 'number', exclusiveMinimum: 0 },
          ratePerSec: { type: 'number', minimum: 0 },
          durationMs: { type: 'number', minimum: 0 },
          requests: { type: 'integer', minimum: 0 },
          errors: { type: 'integer', minimum: 0 },
          latencyUsP50: { type: 'number' },
          latencyUsP99: { type: 'number' },
          latencyUsP999: { type: 'number' },
          latencyUsMax: { type: 'number' },
          verdict: {
            type: 'object',
            additionalProperties: false,
            required: ['valid', 'problems', 'ratePerSecAchieved', 'dropped', 'schedulingLagMsP99'],
            properties: {
              valid: { type: 'boolean' },
              problems: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['code', 'message'],
                  properties: { code: { type: 'string' }, message: { type: 'string' } },
                },
              },
              ratePerSecAchieved: { type: 'number', minimum: 0 },
              dropped: { type: 'integer', minimum: 0 },
              schedulingLagMsP99: { type: 'number', minimum: 0 },
            },
          },
          histogram: {
            type: 'object',
            additionalProperties: false,
            required: ['percentiles'],
            properties: {
              percentiles: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['percentile', 'latencyUs'],
                  properties: { percentile: { type: 'number' }, latencyUs: { type: 'number' } },
                },
              },
            },
          },
        },
      },
    },
    floors: {
      type: 'object',
      additionalProperties: false,
      required: ['storageFsyncPerSec', 'networkRttUsP99', 'source'],
      properties: { storageFsyncPerSec: nullableNumber, networkRttUsP99: nullableNumber, source: { type: 'string' } },
    },
    constraints: {
      type: 'object',
      additionalProperties: false,
      required: ['keys', 'zipfExponent', 'fsync', 'telemetry', 'operatingN', 'crossShardFraction', 'notes'],
      properties: {
        keys: { enum: ['uniform', 'zipf', 'histogram', 'trace', 'unknown'] },
        zipfExponent: nullableNumber,
        fsync: { enum: ['on', 'off', 'unknown'] },
        telemetry: { enum: ['on', 'off', 'unknown'] },
        operatingN: nullableNumber,
        crossShardFraction: nullableNumber,
        notes: stringArray,
      },
    },
    machine: {
      type: 'object',
      additionalProperties: false,
      required: ['os', 'release', 'arch', 'cpus', 'cpuModel', 'memoryBytes', 'node', 'hostname'],
      properties: {
        os: { type: 'string' },
        release: { type: 'string' },
        arch: { type: 'string' },
        cpus: { type: 'integer' },
        cpuModel: { type: 'string' },
        memoryBytes: { type: 'number' },
        node: { type: 'string' },
        hostname: { type: 'string' },
      },
    },
    driftTriggers: {
      type: 'object',
      additionalProperties: false,
      required: ['gammaFloorPerSec', 'betaCeiling', 'nMax', 'shadowFrontierFloorPerSec', 'rules'],
      properties: {
        gammaFloorPerSec: nullableNumber,
        betaCeiling: nullableNumber,
        nMax: nullableNumber,
        shadowFrontierFloorPerSec: nullableNumber,
        rules: stringArray,
      },
    },
    warnings: stringArray,
  },
} as const;

let compiled: ReturnType<Ajv['compile']> | undefined;

function validator(): ReturnType<Ajv['compile']> {
  // Compiled once, on first use (STYLE: compile once at start-up).
  compiled ??= new Ajv({ allErrors: true, strict: false }).compile(certificateJsonSchema);
  return compiled;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

/** Checks a parsed document; returns the certificate or throws SHOCK_REPORT_INVALID listing every problem. */
export function validateCertificate(value: unknown, source = 'certificate'): Certificate {
  const validate = validator();
  if (validate(value)) return value as Certificate;
  const found = value as { schema?: unknown; version?: unknown } | null;
  if (found && typeof found === 'object' && found.schema === certificateSchemaId && found.version !== 1) {
    throw shockError('SHOCK_REPORT_INVALID', `${source} is version ${String(found.version)}; this shock reads 1`, {
      file: source,
      hint: 'use the shock version that wrote it, or re-run `shock lab --refit DIR` to rewrite it',
    });
  }
  throw shockError('SHOCK_REPORT_INVALID', `${source} is not a valid birth certificate`, {
    file: source,
    problems: describeErrors(validate.errors).slice(0, 20),
    hint: 'a certificate is the certificate.json written by `shock lab --out DIR`',
  });
}

/** Reads and validates a certificate file. */
export function readCertificate(path: string): Certificate {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw shockError('SHOCK_CLI_INPUT_UNREADABLE', `cannot read ${path}`, { file: path }, cause);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw shockError('SHOCK_REPORT_INVALID', `${path} is not JSON`, { file: path }, cause);
  }
  return validateCertificate(parsed, path);
}

/** Serialises a certificate (validated first: we never write what we could not read back). */
export function formatCertificate(certificate: Certificate): string {
  validateCertificate(certificate, 'the certificate being written');
  return JSON.stringify(certificate, null, 2) + '\n';
}

/** Writes a certificate file. */
export function writeCertificate(path: string, certificate: Certificate): void {
  const text = formatCertificate(certificate);
  try {
    writeFileSync(path, text);
  } catch (cause) {
    throw shockError('SHOCK_CLI_OUTPUT_UNWRITABLE', `cannot write ${path}`, { file: path }, cause);
  }
}

/** The drift triggers that follow from a fit (seed thresholds: γ −20%, β +15%, N_max, shadow gap 15%). */
export function driftTriggersFrom(fit: CertificateFit | null): CertificateDriftTriggers {
  const rules = [
    'γ drop > 20% vs this certificate → storage or CPU contention review',
    'β more than 15% above this certificate → USL re-fit within 7 business days',
    'N past N_max → stop adding nodes; reduce β first',
    'shadow-frontier gap > 15% of X_max → investigate before the next scale-out',
  ];
  if (!fit) return { gammaFloorPerSec: null, betaCeiling: null, nMax: null, shadowFrontierFloorPerSec: null, rules };
  return {
    gammaFloorPerSec: fit.gamma.value * 0.8,
    betaCeiling: fit.beta.value * 1.15,
    nMax: fit.nMax ? fit.nMax.value : null,
    shadowFrontierFloorPerSec: fit.xMaxPerSec === null ? null : fit.xMaxPerSec * 0.85,
    rules,
  };
}

function shortNumber(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(1) : v.toPrecision(2);
}

/** One problem of a latency run's verdict in words, with its numbers. */
function problemText(l: CertificateLatency, verdict: LatencyVerdict, code: string, message: string): string {
  switch (code) {
    case 'interrupted':
      return 'interrupted (stopped before its duration)';
    case 'rate_not_held':
      return `rate not held (achieved ${shortNumber(verdict.ratePerSecAchieved)} of ${shortNumber(l.ratePerSec)}/s)`;
    case 'dropped':
      return `${verdict.dropped} arrivals dropped (too many requests outstanding)`;
    case 'lag':
      return `the generator fell behind (p99 send lag ${shortNumber(verdict.schedulingLagMsP99)} ms)`;
    case 'errors':
      return `errors (${l.errors} of ${l.requests + l.errors} requests)`;
    case 'no_responses':
      return 'no responses';
    default:
      return message;
  }
}

/** `valid`, `invalid`, or `unknown` (a certificate written before the verdict was recorded). */
export function latencyValidity(l: CertificateLatency): 'valid' | 'invalid' | 'unknown' {
  if (!l.verdict) return 'unknown';
  return l.verdict.valid ? 'valid' : 'invalid';
}

/**
 * The verdict of a latency run in words: `valid`, `validity unknown (...)`, or `not valid: rate not held (achieved
 * X of Y/s); ...` — a latency figure from a run that is not valid was measured under a load that was not applied.
 */
export function latencyVerdictText(l: CertificateLatency): string {
  const verdict = l.verdict;
  if (!verdict) return 'validity unknown (not recorded by the shock that wrote this certificate)';
  if (verdict.valid) return 'valid';
  const reasons = verdict.problems.map((p) => problemText(l, verdict, p.code, p.message));
  return `not valid: ${reasons.length > 0 ? reasons.join('; ') : 'no reason recorded'}`;
}
