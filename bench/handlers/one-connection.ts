/**
 * The consumer handler of bench/scale-out.ts: an I/O-bound downstream reached through ONE connection per process.
 * Each batch waits `SHOCK_BENCH_HANDLER_MS` (default 40 ms: a remote write's round trip, not CPU), and a process has
 * one batch in flight at a time (a module-level queue: every partition the process owns shares its connection).
 * So one process's capacity is its connection's — batch ÷ delay — and N processes of the group hold N connections:
 * the shared-nothing case the scaling receipt measures. Without the queue the unit of parallelism would be the
 * partition (each owned partition has a batch in flight), and one process would already run all 16 of them.
 */
import type { HandlerContext, HandlerResult, StoredEvent } from '../../src/consume/index.js';

const delayMs = Number(process.env.SHOCK_BENCH_HANDLER_MS ?? 40);
let connection: Promise<void> = Promise.resolve();

export default async function oneConnection(events: StoredEvent[], ctx: HandlerContext): Promise<HandlerResult[]> {
  const turn = connection.then(() => new Promise<void>((resolve) => setTimeout(resolve, delayMs)));
  connection = turn;
  await turn;
  return ctx.offsets.map((offset) => ({ partition: ctx.partition, offset }));
}
