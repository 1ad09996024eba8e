/**
 * A handler for the consumer-group tests: each result records who wrote it — the writing process's pid, the
 * consumer's fencing epoch of the partition, and when the handler ran (epoch ms) — so a test can tell from the sink
 * alone which process, under which epoch, stored every row.
 */
import type { HandlerContext, HandlerResult, StoredEvent } from '../../src/consume/index.js';

export default function groupHandler(events: StoredEvent[], ctx: HandlerContext): HandlerResult[] {
  const atMs = Date.now();
  return events.map(() => ({ pid: process.pid, epoch: ctx.epoch, atMs }));
}
