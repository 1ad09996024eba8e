/**
 * One batch through the handler, with retries and isolation, to an outcome that can be written in one sink
 * transaction: a result for every event that succeeded and a dead letter for every event that kept failing.
 *
 * 1. The pending events are handed to the handler. Events answered with a value are done; events answered with an
 *    `Error` stay pending (the failure is theirs). A throw, a rejection, a timeout or a wrong-length answer leaves
 *    every pending event pending (the failure cannot be attributed).
 * 2. Pending events are retried as a group, after an exponential backoff (`consumeBackoffBaseMs · 2^k`, capped at
 *    `consumeBackoffMaxMs`), up to `consumeRetriesMax` times.
 * 3. What is still pending is then isolated: events whose own result was an `Error` are dead-lettered; a group that
 *    failed by throwing is split in halves and each half is called once, recursively, so a throw is pinned on the
 *    events that cause it; a single event that still throws is dead-lettered. Isolation calls at most 2n times.
 *
 * The backoff waits are abortable (stop): the batch is then abandoned without a sink write, and redelivered later.
 */
import type { StoredEvent } from '../base/index.js';
import type { Handler, HandlerContext, HandlerResult } from './handler.js';

/** Retry policy of a batch (from `limits`). */
export interface RetryPolicy {
  retriesMax: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  handlerTimeoutMs: number;
}

/** The batch as the handler sees it, plus where it came from. */
export interface BatchInput {
  group: string;
  partition: number;
  /** The consumer's fencing epoch of the partition (0 when the caller has none). */
  epoch?: number;
  events: StoredEvent[];
  offsets: number[];
  redelivered: boolean;
}

/** The outcome of one event: stored result JSON, or failure. */
export type EventOutcome =
  { ok: true; resultJson: string; attempts: number } | { ok: false; error: string; attempts: number };

export interface BatchOutcome {
  /** One per input event, same order. */
  outcomes: EventOutcome[];
  /** Handler calls after the first (retries and isolation calls). */
  retries: number;
}

/** Thrown from `runBatch` when the abort signal fires during a backoff wait. */
export class BatchAbandoned extends Error {
  constructor() {
    super('batch abandoned: the consumer is stopping');
    this.name = 'BatchAbandoned';
  }
}

/** The backoff before retry number `retry` (1-based). */
export function backoffMs(policy: RetryPolicy, retry: number): number {
  return Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (retry - 1));
}

type CallAnswer = { thrown: string } | { results: readonly HandlerResult[] };

/** Runs one batch to its outcome (see the file comment). `stop` aborts only the backoff waits. */
export async function runBatch(
  handler: Handler,
  input: BatchInput,
  policy: RetryPolicy,
  stop: AbortSignal,
): Promise<BatchOutcome> {
  const n = input.events.length;
  const outcomes: (EventOutcome | undefined)[] = new Array(n);
  const attempts = new Array<number>(n).fill(0);
  const lastError = new Array<string>(n).fill('');
  const attributed = new Array<boolean>(n).fill(false);
  let calls = 0;

  const call = async (indexes: number[]): Promise<CallAnswer> => {
    for (const i of indexes) attempts[i]++;
    const answer = await callHandler(handler, input, indexes, calls++, policy.handlerTimeoutMs);
    if ('thrown' in answer) {
      for (const i of indexes) {
        lastError[i] = answer.thrown;
        attributed[i] = false;
      }
      return answer;
    }
    answer.results.forEach((r, k) => {
      const i = indexes[k];
      const stored = toStored(r);
      if (stored.ok) outcomes[i] = { ok: true, resultJson: stored.json, attempts: attempts[i] };
      else {
        lastError[i] = stored.error;
        attributed[i] = true;
      }
    });
    return answer;
  };

  let pending = range(n);
  for (let retry = 0; retry <= policy.retriesMax && pending.length > 0; retry++) {
    if (retry > 0) await sleep(backoffMs(policy, retry), stop);
    await call(pending);
    pending = pending.filter((i) => outcomes[i] === undefined);
  }

  const isolate = async (group: number[]): Promise<void> => {
    const answer = await call(group);
    if (!('thrown' in answer)) return;
    if (group.length === 1) return;
    const half = group.length >> 1;
    await isolate(group.slice(0, half));
    await isolate(group.slice(half));
  };
  const unattributed = pending.filter((i) => !attributed[i]);
  if (unattributed.length > 1) {
    const half = unattributed.length >> 1;
    await isolate(unattributed.slice(0, half));
    await isolate(unattributed.slice(half));
  }

  const final: EventOutcome[] = Array.from(
    { length: n },
    (_, i) => outcomes[i] ?? { ok: false, error: lastError[i] || 'handler failed', attempts: attempts[i] },
  );
  return { outcomes: final, retries: calls - 1 };
}

async function callHandler(
  handler: Handler,
  input: BatchInput,
  indexes: number[],
  attempt: number,
  timeoutMs: number,
): Promise<CallAnswer> {
  const all = indexes.length === input.events.length;
  const events = all ? input.events : indexes.map((i) => input.events[i]);
  const offsets = all ? input.offsets : indexes.map((i) => input.offsets[i]);
  const controller = new AbortController();
  const ctx: HandlerContext = {
    group: input.group,
    partition: input.partition,
    epoch: input.epoch ?? 0,
    offsets,
    attempt,
    redelivered: input.redelivered,
    signal: controller.signal,
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CallAnswer>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ thrown: `handler did not answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const work = (async (): Promise<CallAnswer> => {
    try {
      const results = await handler(events, ctx);
      if (!Array.isArray(results) || results.length !== events.length) {
        const got = Array.isArray(results) ? `${results.length} results` : describe(results);
        return { thrown: `handler returned ${got} for ${events.length} events (it must return one result per event)` };
      }
      return { results };
    } catch (err) {
      return { thrown: errorText(err) };
    }
  })();
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function toStored(result: HandlerResult): { ok: true; json: string } | { ok: false; error: string } {
  if (result instanceof Error) return { ok: false, error: errorText(result) };
  if (result === undefined) return { ok: true, json: 'null' };
  try {
    const json = JSON.stringify(result);
    if (json === undefined) return { ok: false, error: `the result is not JSON-serialisable (${typeof result})` };
    return { ok: true, json };
  } catch (err) {
    return { ok: false, error: `the result is not JSON-serialisable: ${errorText(err)}` };
  }
}

/** An error as one line for the dead-letter table: `Name [code]: message`. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${err.message}`;
  }
  return `thrown value: ${typeof err === 'string' ? err : describe(err)}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return `${typeof value} ${String(value)}`;
  try {
    return JSON.stringify(value).slice(0, 200);
  } catch {
    return 'an object';
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new BatchAbandoned());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new BatchAbandoned());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
