/**
 * Durable end offsets for consumers in child processes. A worker thread shares the writer's SharedArrayBuffer; a
 * child process cannot, so the supervisor watches the writer's partitions with `waitFor` (no polling) and sends
 * each new range over IPC, and the child publishes it into a buffer of its own from which its read-only reader
 * works exactly as in a thread.
 */
import { openFileLogReader, SharedOffsets, type Log } from '../log/index.js';

/** A reader for a child process, plus the function that feeds it new ranges. */
export async function openRelayedReader(
  dir: string,
  partitions: number,
  ranges: [number, number][],
): Promise<{
  log: Log;
  publish: (partition: number, offsetStart: number, offsetEnd: number) => void;
  close: () => void;
}> {
  const shared = SharedOffsets.create(partitions);
  ranges.forEach(([start, end], p) => shared.publish(p, start, end));
  const log = await openFileLogReader({ dir, partitions, shared: shared.buffer });
  return { log, publish: (p, start, end) => shared.publish(p, start, end), close: () => shared.close() };
}

/**
 * Watches partitions of the writer's log and calls `send` with every new range, until `signal` aborts. One pending
 * `waitFor` per partition; an idle partition wakes once per `idleWaitMs`.
 */
export function relayRanges(
  log: Log,
  partitions: readonly number[],
  send: (partition: number, offsetStart: number, offsetEnd: number) => void,
  signal: AbortSignal,
  idleWaitMs: number,
): void {
  for (const p of partitions) {
    void (async () => {
      let end = log.state(p).offsetEnd;
      while (!signal.aborted) {
        const startedMs = performance.now();
        const next = await log.waitFor(p, end, idleWaitMs);
        if (signal.aborted) return;
        if (next !== end) {
          end = next;
          send(p, log.state(p).offsetStart, next);
        } else if (performance.now() - startedMs < 1) {
          // waitFor answers at once with no news only when the log is closing: do not spin.
          await new Promise((resolve) => setTimeout(resolve, idleWaitMs));
        }
      }
    })().catch(() => undefined);
  }
}
