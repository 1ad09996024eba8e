/**
 * The one error-code registry of the project (fastify `lib/errors.js`, undici `lib/core/errors.js`).
 *
 * Every failure that reaches a user carries a stable `SHOCK_<AREA>_<WHAT>` code. Callers match on `code`, never on
 * a class. `docs/errors.md` documents every code; a test fails when the two disagree.
 *
 * Areas append their codes here, grouped by area; a code is never renamed or reused once released.
 */

export interface ErrorSpec {
  /** Human message template; `details` are shown beside it, not interpolated. */
  readonly message: string;
  /** HTTP status the ingress answers with (500 for codes that never cross HTTP). */
  readonly httpStatus: number;
  /** True when the same request may succeed later unchanged (429, 503, a sick disk). */
  readonly retriable: boolean;
  /** Exit code the CLI uses when this error ends a command (sysexits.h style). */
  readonly exitCode: number;
}

/** sysexits.h codes the CLI uses: 64 usage, 65 data, 66 no input, 69 unavailable, 70 software, 73 can't create, 74 I/O. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 64,
  dataErr: 65,
  noInput: 66,
  unavailable: 69,
  software: 70,
  cantCreate: 73,
  ioErr: 74,
} as const;

function spec(message: string, httpStatus: number, retriable: boolean, exitCode: number): ErrorSpec {
  return { message, httpStatus, retriable, exitCode };
}

export const errorRegistry = {
  // --- base / cli ---
  SHOCK_INTERNAL: spec('internal error: a broken invariant (a bug in shockabsorber)', 500, false, ExitCode.software),
  SHOCK_CLI_USAGE: spec('invalid command-line usage', 500, false, ExitCode.usage),
  SHOCK_CLI_INPUT_UNREADABLE: spec('the input file cannot be read', 500, false, ExitCode.noInput),
  SHOCK_CLI_OUTPUT_UNWRITABLE: spec('the output file cannot be written', 500, false, ExitCode.cantCreate),
  SHOCK_CLI_ADMIN_UNREACHABLE: spec('the cell admin API cannot be reached', 503, true, ExitCode.unavailable),
  SHOCK_CONFIG_INVALID: spec('the configuration is invalid', 500, false, ExitCode.usage),

  // --- physics / fit ---
  SHOCK_FIT_INPUT_INVALID: spec('the measurement data is not usable for a fit', 500, false, ExitCode.dataErr),
  SHOCK_FIT_TOO_FEW_POINTS: spec('too few distinct N to fit the model', 500, false, ExitCode.dataErr),
  SHOCK_FIT_FLAT_THROUGHPUT: spec('throughput does not vary with N: nothing to fit', 500, false, ExitCode.dataErr),
  SHOCK_FIT_NON_PHYSICAL: spec(
    'the data needs a negative coefficient (super-linear or non-physical scaling)',
    500,
    false,
    ExitCode.dataErr,
  ),
  SHOCK_FIT_NOT_CONVERGED: spec('the fit did not converge', 500, false, ExitCode.dataErr),
  SHOCK_PHYSICS_DOMAIN: spec('an argument is outside the domain of the formula', 500, false, ExitCode.usage),

  // --- measure ---
  SHOCK_LOAD_BAD_OPTION: spec('invalid load-generator option', 500, false, ExitCode.usage),
  SHOCK_LOAD_TARGET_UNREACHABLE: spec('the target cannot be reached', 500, true, ExitCode.unavailable),
  SHOCK_LOAD_RATE_NOT_HELD: spec('the generator could not hold the requested rate', 500, false, ExitCode.failure),
  SHOCK_LOAD_INTERRUPTED: spec(
    'the load run was interrupted; the figures cover the time it ran',
    500,
    true,
    ExitCode.failure,
  ),
  SHOCK_LOAD_TEMPLATE_FIELD: spec('the request template names a field that does not exist', 500, false, ExitCode.usage),
  SHOCK_PROBE_FAILED: spec('the probe could not run', 500, true, ExitCode.ioErr),
  SHOCK_HISTOGRAM_LOG_INVALID: spec('the histogram log (.hlog) is not valid', 500, false, ExitCode.dataErr),
  SHOCK_LOAD_TOO_MANY_ERRORS: spec(
    'the error rate of the load run exceeded --max-error-rate',
    500,
    false,
    ExitCode.failure,
  ),
  SHOCK_PROBE_GATE_FAILED: spec(
    'the probe measured a value outside its gate (e.g. CPU steal > 2%)',
    500,
    true,
    ExitCode.failure,
  ),
  SHOCK_LAB_BAD_TARGET: spec('the lab target is not usable', 500, false, ExitCode.usage),
  SHOCK_LAB_INTERRUPTED: spec('the lab run was interrupted; the partial result was saved', 500, true, ExitCode.failure),
  SHOCK_LAB_TARGET_FAILING: spec('the system under test answers with errors', 500, true, ExitCode.unavailable),
  SHOCK_LAB_NOTHING_MEASURED: spec('no window could be kept: nothing to fit', 500, false, ExitCode.dataErr),
  SHOCK_REPORT_INVALID: spec('the certificate or report file is not valid', 500, false, ExitCode.dataErr),

  // --- log ---
  SHOCK_LOG_CORRUPT_RECORD: spec('a log record failed its CRC or framing check', 500, false, ExitCode.dataErr),
  SHOCK_LOG_IO: spec('the log storage failed (disk full, read-only, I/O error)', 503, true, ExitCode.ioErr),
  SHOCK_LOG_CLOSED: spec('the log is closed', 503, true, ExitCode.unavailable),
  SHOCK_LOG_OFFSET_OUT_OF_RANGE: spec('the offset is outside the partition', 500, false, ExitCode.usage),
  SHOCK_LOG_RECORD_TOO_LARGE: spec('the record is larger than the log accepts', 413, false, ExitCode.dataErr),
  SHOCK_LOG_BAD_PARTITION: spec('no such partition', 500, false, ExitCode.usage),
  SHOCK_LOG_LOCKED: spec('the log directory is already open in another process', 500, false, ExitCode.unavailable),
  SHOCK_LOG_RECORD_INVALID: spec('the record is not valid (key and value must be bytes)', 400, false, ExitCode.dataErr),
  SHOCK_LOG_MANIFEST_INVALID: spec('the log generation manifest is not valid', 500, false, ExitCode.dataErr),
  SHOCK_LOG_APPEND_CONFLICT: spec(
    "another writer moved the partition's end during the append",
    503,
    true,
    ExitCode.unavailable,
  ),

  SHOCK_LOG_FULL: spec(
    'the log holds as many unconsumed records as its retention allows',
    503,
    true,
    ExitCode.unavailable,
  ),

  // --- consume ---
  SHOCK_CONSUME_HANDLER_INVALID: spec('the handler module is not usable', 500, false, ExitCode.usage),
  SHOCK_CONSUME_FENCED: spec('another consumer owns this partition (fenced)', 500, true, ExitCode.unavailable),
  SHOCK_SINK_IO: spec('the sink failed', 503, true, ExitCode.ioErr),
  SHOCK_SINK_SCHEMA: spec('the sink database has a schema this version does not know', 500, false, ExitCode.dataErr),
  SHOCK_SINK_UNREACHABLE: spec('the sink database cannot be reached', 503, true, ExitCode.unavailable),
  SHOCK_CONSUME_WORKER_FAILED: spec('a consumer worker could not start', 500, false, ExitCode.software),
  SHOCK_CONSUME_STOPPED: spec('the consumers are stopped', 503, true, ExitCode.unavailable),

  // --- ingress ---
  SHOCK_INGRESS_INVALID_JSON: spec('the body is not valid JSON', 400, false, ExitCode.dataErr),
  SHOCK_INGRESS_INVALID_UTF8: spec('the body is not valid UTF-8', 400, false, ExitCode.dataErr),
  SHOCK_INGRESS_INVALID_EVENT: spec('the event does not match its schema', 400, false, ExitCode.dataErr),
  SHOCK_INGRESS_UNKNOWN_TYPE: spec('no schema is registered for this event type', 400, false, ExitCode.dataErr),
  SHOCK_INGRESS_KEY_TOO_LONG: spec('the partition key is too long', 400, false, ExitCode.dataErr),
  SHOCK_INGRESS_BATCH_EMPTY: spec('the batch holds no records', 400, false, ExitCode.dataErr),
  SHOCK_INGRESS_BATCH_TOO_LONG: spec('the batch holds too many records', 413, false, ExitCode.dataErr),
  SHOCK_INGRESS_BODY_TOO_LARGE: spec('the request body is too large', 413, false, ExitCode.dataErr),
  SHOCK_INGRESS_RECORD_TOO_LARGE: spec('a record is too large', 413, false, ExitCode.dataErr),
  SHOCK_INGRESS_UNSUPPORTED_MEDIA_TYPE: spec('unsupported content type', 415, false, ExitCode.dataErr),
  SHOCK_INGRESS_UNAUTHENTICATED: spec('missing or unknown API key', 401, false, ExitCode.usage),
  SHOCK_INGRESS_FORBIDDEN: spec('this key may not do that', 403, false, ExitCode.usage),
  SHOCK_INGRESS_NOT_FOUND: spec('no such route', 404, false, ExitCode.usage),
  SHOCK_INGRESS_METHOD_NOT_ALLOWED: spec('method not allowed on this route', 405, false, ExitCode.usage),
  SHOCK_INGRESS_REQUEST_TIMEOUT: spec('the request took too long to arrive', 408, true, ExitCode.failure),
  SHOCK_INGRESS_LENGTH_REQUIRED: spec(
    'a valid Content-Length or chunked body is required',
    411,
    false,
    ExitCode.dataErr,
  ),
  SHOCK_INGRESS_RATE_LIMITED: spec("the tenant's rate limit is exhausted", 429, true, ExitCode.unavailable),
  SHOCK_INGRESS_SHED: spec('the server is overloaded and shed the request', 503, true, ExitCode.unavailable),
  SHOCK_INGRESS_STORAGE_UNAVAILABLE: spec('the log is unavailable (circuit open)', 503, true, ExitCode.unavailable),
  SHOCK_INGRESS_SHUTTING_DOWN: spec('the server is shutting down', 503, true, ExitCode.unavailable),
  SHOCK_INGRESS_HEADERS_TOO_LARGE: spec('the request headers are too large', 431, false, ExitCode.dataErr),
  SHOCK_INGRESS_BAD_REQUEST: spec('the request is not valid HTTP/1.1', 400, false, ExitCode.dataErr),
  SHOCK_INGRESS_TOO_DEEP: spec('the body nests deeper than the ingress accepts', 400, false, ExitCode.dataErr),
  SHOCK_INGRESS_NUMBER_NOT_FINITE: spec('a number in the body is too large to represent', 400, false, ExitCode.dataErr),
  SHOCK_INGRESS_APPEND_FAILED: spec('the log refused or failed the append', 503, true, ExitCode.unavailable),

  // --- cell ---
  SHOCK_CELL_NOT_READY: spec(
    'the cell is not ready (draining, log failed, consumers down)',
    503,
    true,
    ExitCode.unavailable,
  ),
  SHOCK_CELL_LISTEN_FAILED: spec(
    'the cell cannot listen on its address (port in use?)',
    500,
    false,
    ExitCode.unavailable,
  ),
  SHOCK_CELL_DATA_DIR_UNUSABLE: spec(
    'the data directory cannot be created or written',
    500,
    false,
    ExitCode.cantCreate,
  ),
  SHOCK_CELL_ADMIN_UNAUTHENTICATED: spec('missing or wrong admin token', 401, false, ExitCode.usage),
  SHOCK_CELL_ADMIN_HOST_REFUSED: spec('the admin API refuses this Host header', 421, false, ExitCode.usage),
  SHOCK_CELL_ADMIN_MEDIA_TYPE: spec('the admin API accepts only application/json bodies', 415, false, ExitCode.usage),
  SHOCK_CELL_ADMIN_INVALID: spec('the admin request is not valid', 400, false, ExitCode.usage),
  SHOCK_CELL_TENANT_UNKNOWN: spec('no such tenant', 404, false, ExitCode.usage),
  SHOCK_CELL_TENANT_EXISTS: spec('a tenant with this id already exists', 409, false, ExitCode.usage),
  SHOCK_CELL_RESHARD_BUSY: spec('a reshard is already in progress', 409, true, ExitCode.unavailable),
  SHOCK_CELL_RESHARD_UNSUPPORTED: spec(
    'this log engine cannot reshard a running cell yet',
    501,
    false,
    ExitCode.unavailable,
  ),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorRegistry;

export interface ShockErrorOptions {
  /** Specific message; defaults to the registry's message for the code. */
  message?: string;
  /** Structured facts a caller or user can act on (field, value, file, offset, hint...). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** The one error class. Callers match on `code`. */
export class ShockError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly retriable: boolean;
  readonly exitCode: number;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, options: ShockErrorOptions = {}) {
    const entry = errorRegistry[code];
    super(options.message ?? entry.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShockError';
    this.code = code;
    this.httpStatus = entry.httpStatus;
    this.retriable = entry.retriable;
    this.exitCode = entry.exitCode;
    this.details = options.details ?? {};
  }

  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** Shorthand: `throw shockError('SHOCK_FIT_TOO_FEW_POINTS', 'need 2 distinct N, got 1', { n: 1 })`. */
export function shockError(code: ErrorCode, message?: string, details?: Record<string, unknown>, cause?: unknown) {
  return new ShockError(code, { message, details, cause });
}

export function isShockError(err: unknown): err is ShockError {
  return err instanceof ShockError;
}
