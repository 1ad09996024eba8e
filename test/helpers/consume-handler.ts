/**
 * A handler for the consumer tests, steered by each event's payload:
 * - `failAlways: true` → answers that event with an Error (a per-event failure);
 * - `throwAlways: true` → throws when the batch holds that event (a batch failure the consumer must isolate);
 * - `hangOnceMarker: PATH` → the first time (no file at PATH) it creates PATH, announces itself on the
 *   BroadcastChannel `shock-consume-test` and never answers, so a test can kill the worker mid-batch;
 * - `announceThenWaitMs: N` → announces the batch on the same channel, then takes N ms (a batch in flight).
 * Every other event's result is `{ n: payload.n, type }`.
 */
import { existsSync, writeFileSync } from 'node:fs';
import type { HandlerContext, HandlerResult, StoredEvent } from '../../src/consume/index.js';

export default async function testHandler(events: StoredEvent[], ctx: HandlerContext): Promise<HandlerResult[]> {
  for (const e of events) {
    const marker = e.payload.hangOnceMarker;
    if (typeof marker === 'string' && !existsSync(marker)) {
      writeFileSync(marker, JSON.stringify({ eventId: e.event_id, partition: ctx.partition, offsets: ctx.offsets }));
      const channel = new BroadcastChannel('shock-consume-test');
      channel.postMessage({ hanging: e.event_id, partition: ctx.partition });
      channel.close();
      await new Promise(() => undefined);
    }
    if (e.payload.throwAlways === true) throw new Error(`cannot process ${e.event_id}`);
    if (typeof e.payload.announceThenWaitMs === 'number') {
      const channel = new BroadcastChannel('shock-consume-test');
      channel.postMessage({ started: e.event_id, partition: ctx.partition });
      channel.close();
      await new Promise((resolve) => setTimeout(resolve, e.payload.announceThenWaitMs as number));
    }
  }
  return events.map((e) =>
    e.payload.failAlways === true
      ? new RangeError(`bad event ${e.event_id}`)
      : { n: e.payload.n as number, type: e.type },
  );
}
