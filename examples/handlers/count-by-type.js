// @ts-check
/**
 * The built-in example handler of the consumers (and the one a cell uses when no handler is configured): for each
 * event it stores a small summary — type, tenant, key and payload size — as its result in the sink, keyed by the
 * event id. Summing the stored rows by type gives counts per type that stay exact under redelivery, because the
 * sink keeps one row per event id.
 *
 * It is plain JavaScript so that the built CLI loads it without a TypeScript loader; the types come from the
 * consumer's `Handler` signature. Copy it as the start of your own handler:
 *
 *   shock serve --handler ./my-handler.js
 *
 * The contract (see docs/consume.md): return one result per event, same order — a JSON value to store, or an
 * `Error` for an event that failed (retried, then dead-lettered). Throwing fails and retries the whole batch.
 */

/** @type {import('../../src/consume/handler.js').Handler} */
export default async function countByType(events) {
  return events.map((event) => ({
    type: event.type,
    tenant: event.tenant,
    key: event.key,
    payloadFields: Object.keys(event.payload ?? {}).length,
  }));
}
