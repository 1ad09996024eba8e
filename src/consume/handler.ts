/**
 * The user's handler: a module the user names by path, whose default export processes one batch of events of one
 * partition and returns one result per event.
 *
 * ```ts
 * import type { HandlerContext, HandlerResult, StoredEvent } from '<shockabsorber>/src/consume/index.js';
 * export default async function handle(events: StoredEvent[], ctx: HandlerContext): Promise<HandlerResult[]> {
 *   return events.map((e) => ({ type: e.type }));   // stored in the sink, keyed by (e.tenant, e.event_id)
 * }
 * ```
 *
 * - `results[i]` answers `events[i]`: a JSON-serialisable value is stored in the sink as that event's result
 *   (`undefined` is stored as `null`); an `Error` marks that one event as failed — it is retried, and if it keeps
 *   failing it goes to the dead-letter table while the rest of the batch is stored.
 * - Throwing (or rejecting) fails the whole batch: it is retried with exponential backoff, then the failing events
 *   are isolated by bisection and dead-lettered; the partition moves on.
 * - Delivery is at-least-once: after a crash a batch can be handed over again (`ctx.redelivered`). The sink write is
 *   idempotent by the event's identity `(tenant, event_id)` — each event carries its `tenant` (from the API key) —
 *   so the *stored* effect happens once; effects outside the sink must be idempotent too, keyed the same way.
 * - The handler runs in a consumer worker (a thread or a process), one batch at a time per partition, events in
 *   offset order. Running the built CLI it must be JavaScript (`.js`/`.mjs`); running from source under tsx, `.ts`
 *   works too.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { shockError, type StoredEvent } from '../base/index.js';

export type { StoredEvent } from '../base/index.js';

/** A value that survives `JSON.stringify` unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One event's outcome: a value to store, or an `Error` for that event alone. */
export type HandlerResult = JsonValue | undefined | Error;

/** What a handler knows about the batch it is given. */
export interface HandlerContext {
  /** The consumer group. */
  readonly group: string;
  readonly partition: number;
  /**
   * The consumer's fencing epoch of the partition: it grows at each start of a consumer of the partition anywhere in
   * the group, and the sink refuses results of an older epoch. A downstream with effects of its own can fence by it.
   */
  readonly epoch: number;
  /** Log offsets of the events, same order. */
  readonly offsets: readonly number[];
  /** 0 on the first call for this batch; counts retries and isolation calls after it. */
  readonly attempt: number;
  /** True when the batch lies below the sink's high-water mark: some events may have been handled before. */
  readonly redelivered: boolean;
  /** Aborted when the call times out (`limits.consumeHandlerTimeoutMs`); the call's answer is then ignored. */
  readonly signal: AbortSignal;
}

/** The handler signature: the default export of the handler module. */
export type Handler = (
  events: StoredEvent[],
  ctx: HandlerContext,
) => Promise<readonly HandlerResult[]> | readonly HandlerResult[];

/**
 * Imports the handler module at `path` (relative paths resolve from `cwd`). A missing file, a module that throws
 * while loading, or a default export that is not a function → SHOCK_CONSUME_HANDLER_INVALID saying what to do.
 */
export async function loadHandler(path: string, cwd = process.cwd()): Promise<Handler> {
  const absolute = isAbsolute(path) ? path : resolve(cwd, path);
  const shape = 'export default async function handle(events, ctx) { return events.map(() => result) }';
  if (!existsSync(absolute)) {
    throw shockError('SHOCK_CONSUME_HANDLER_INVALID', `no handler module at ${absolute}`, {
      path: absolute,
      hint: `give the path of a module that does \`${shape}\``,
    });
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw shockError(
      'SHOCK_CONSUME_HANDLER_INVALID',
      `the handler module ${absolute} failed to load: ${message}`,
      {
        path: absolute,
        hint: absolute.endsWith('.ts')
          ? 'a .ts handler needs the CLI run from source under tsx; compile it to .js for the built CLI'
          : 'fix the error above; run the module with `node` alone to see it',
      },
      err,
    );
  }
  const handler = mod.default;
  if (typeof handler !== 'function') {
    throw shockError(
      'SHOCK_CONSUME_HANDLER_INVALID',
      `the handler module ${absolute} has no default-exported function (default is ${describe(handler)})`,
      { path: absolute, hint: `the module must \`${shape}\`` },
    );
  }
  return handler as Handler;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  return typeof value;
}
