/**
 * Helpers of the consumer tests: events as the ingress would append them, and waiting for a condition with a bound.
 */
import { encodeEvent, type StoredEvent } from '../../src/base/index.js';
import type { Log } from '../../src/log/index.js';

/** Event `i` of a test: id `ev-<partition>-<i>`, payload `{ n: i, ...extra }`. */
export function testEvent(partition: number, i: number, extra: Record<string, unknown> = {}): StoredEvent {
  return {
    event_id: `ev-${partition}-${String(i).padStart(6, '0')}`,
    tenant: 'acme',
    type: i % 3 === 0 ? 'click' : 'view',
    ts: 1_700_000_000_000 + i,
    priority: 'normal',
    key: `k${i}`,
    payload: { n: i, ...extra },
  };
}

/** Appends events to a partition in chunks; returns the offsets' range. */
export async function appendEvents(
  log: Log,
  partition: number,
  events: StoredEvent[],
  timestampMs?: number,
): Promise<{ first: number; end: number }> {
  let first = -1;
  let end = 0;
  for (let i = 0; i < events.length; i += 500) {
    const chunk = events
      .slice(i, i + 500)
      .map((e) => ({ key: Buffer.from(e.key), value: encodeEvent(e), timestampMs }));
    const r = await log.append(partition, chunk);
    if (first < 0) first = r.baseOffset;
    end = r.baseOffset + r.count;
  }
  return { first, end };
}

/** Resolves once `check()` is true; rejects after `timeoutMs` with `what`. Checks every 20 ms (test-side only). */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
