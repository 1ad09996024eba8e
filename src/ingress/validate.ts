/**
 * Validation of the event envelope and of each type's payload, compiled once at start-up with ajv (one validator
 * per event type, fastify `lib/validation.js`). Every problem of an event is reported at once, each with the JSON
 * pointer of the field (`instancePath`) so a 400 says which field is wrong.
 *
 * The envelope (ARCHITECTURE.md "Event and API"): `event_id` optional string, `type` required, `ts` optional integer
 * ms, `priority` critical | normal | low (default normal), `key` optional (default: the tenant), `payload` object.
 * Unknown top-level fields are rejected. A `tenant` field is allowed only when it names the caller's own tenant
 * (checked by the server: the tenant always comes from the API key).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { priorities, shockError, type Priority, type ShockError } from '../base/index.js';
import { rejection } from './rejection.js';

type FormatsPlugin = (ajv: Ajv) => Ajv;
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  (addFormatsModule as unknown as FormatsPlugin);

/** An event after validation, before the server fills in tenant, defaults and the receive time. */
export interface ValidEvent {
  event_id: string | undefined;
  type: string;
  ts: number | undefined;
  priority: Priority;
  key: string | undefined;
  payload: Record<string, unknown>;
  /** Present only when the body named one; the server checks it equals the caller's tenant. */
  tenant: string | undefined;
}

/** One problem with an event: where (JSON pointer) and what. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** Limits the validator enforces, in UTF-8 bytes. */
export interface ValidatorLimits {
  eventIdBytesMax: number;
  keyBytesMax: number;
}

const typeBytesMax = 128;

function envelopeSchema(l: ValidatorLimits) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'payload'],
    properties: {
      event_id: { type: 'string', minLength: 1, maxLength: l.eventIdBytesMax },
      type: { type: 'string', minLength: 1, maxLength: typeBytesMax },
      ts: { type: 'integer', minimum: 0, maximum: 8_640_000_000_000_000 },
      priority: { enum: [...priorities] },
      key: { type: 'string' },
      payload: { type: 'object' },
      tenant: { type: 'string' },
    },
  } as const;
}

/** The compiled validators of one configuration. */
export class EventValidator {
  private readonly envelope: ValidateFunction;
  private readonly payloads = new Map<string, ValidateFunction>();
  /** Registered type names, for the 400 that names an unknown type. */
  readonly types: readonly string[];

  /** Compiles the envelope and every payload schema; throws SHOCK_CONFIG_INVALID naming each bad schema. */
  constructor(
    schemas: Readonly<Record<string, object>>,
    readonly limits: ValidatorLimits,
  ) {
    // strictNumbers: `type: number` refuses Infinity and NaN, which `strict: false` would otherwise let through.
    const ajv = new Ajv({ allErrors: true, strict: false, strictNumbers: true });
    addFormats(ajv);
    this.envelope = ajv.compile(envelopeSchema(limits));
    const problems: string[] = [];
    for (const [type, schema] of Object.entries(schemas)) {
      try {
        this.payloads.set(type, ajv.compile(schema));
      } catch (err) {
        problems.push(`/schemas/${type}: ${(err as Error).message}`);
      }
    }
    if (problems.length > 0) {
      throw shockError('SHOCK_CONFIG_INVALID', `invalid payload schema(s): ${problems.join('; ')}`, { problems });
    }
    this.types = Object.keys(schemas).sort();
  }

  /** Validates one parsed JSON value; returns the event or the ShockError (400) that lists every problem. */
  validate(value: unknown): ValidEvent | ShockError {
    const problems: FieldProblem[] = [];
    if (!this.envelope(value)) collect(this.envelope.errors, '', problems);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return rejection('SHOCK_INGRESS_INVALID_EVENT', 'the event must be a JSON object', { problems });
    }
    const v = value as Record<string, unknown>;
    let keyTooLong = false;
    if (typeof v.key === 'string' && Buffer.byteLength(v.key, 'utf8') > this.limits.keyBytesMax) {
      keyTooLong = true;
      problems.push({ path: '/key', message: `must be at most ${this.limits.keyBytesMax} UTF-8 bytes` });
    }
    if (typeof v.event_id === 'string' && Buffer.byteLength(v.event_id, 'utf8') > this.limits.eventIdBytesMax) {
      if (!problems.some((p) => p.path === '/event_id')) {
        problems.push({ path: '/event_id', message: `must be at most ${this.limits.eventIdBytesMax} UTF-8 bytes` });
      }
    }
    const payloadValidator = typeof v.type === 'string' ? this.payloads.get(v.type) : undefined;
    if (payloadValidator !== undefined && typeof v.payload === 'object' && v.payload !== null) {
      if (!payloadValidator(v.payload)) collect(payloadValidator.errors, '/payload', problems);
    }
    if (problems.length === 1 && keyTooLong) {
      return rejection('SHOCK_INGRESS_KEY_TOO_LONG', problems[0].message.replace(/^must/, 'the key must'), {
        problems,
        keyBytesMax: this.limits.keyBytesMax,
      });
    }
    if (problems.length > 0) {
      return rejection('SHOCK_INGRESS_INVALID_EVENT', describe(problems), { problems });
    }
    if (payloadValidator === undefined) {
      return rejection('SHOCK_INGRESS_UNKNOWN_TYPE', `no schema is registered for type "${String(v.type)}"`, {
        problems: [{ path: '/type', message: 'unknown event type' }],
        types: this.types,
      });
    }
    return {
      event_id: v.event_id as string | undefined,
      type: v.type as string,
      ts: v.ts as number | undefined,
      priority: (v.priority as Priority | undefined) ?? 'normal',
      key: v.key as string | undefined,
      payload: v.payload as Record<string, unknown>,
      tenant: v.tenant as string | undefined,
    };
  }
}

/** Turns ajv errors into field problems (`/payload/amount_cents: must be integer`). */
function collect(errors: ErrorObject[] | null | undefined, prefix: string, out: FieldProblem[]): void {
  for (const e of errors ?? []) {
    let path = prefix + e.instancePath;
    let message = e.message ?? e.keyword;
    if (e.keyword === 'required') {
      path = `${path}/${(e.params as { missingProperty: string }).missingProperty}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      path = `${path}/${(e.params as { additionalProperty: string }).additionalProperty}`;
      message = 'is not a known field';
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    }
    out.push({ path: path === '' ? '/' : path, message });
  }
}

/** One line naming every problem: "/payload/url is required; /priority must be one of critical, normal, low". */
function describe(problems: FieldProblem[]): string {
  return problems.map((p) => `${p.path} ${p.message}`).join('; ');
}
