/**
 * The event envelope as it travels through the log: the ingress validates a request, fills in the tenant (from the
 * credential) and defaults, and appends `encodeEvent(event)` as the record value with `key` as the record key.
 * Consumers decode it with `decodeEvent`. The record's own timestamp is the ingress receive time, which lag in
 * seconds is measured against.
 */
export const priorities = ['critical', 'normal', 'low'] as const;
export type Priority = (typeof priorities)[number];

export interface StoredEvent {
  /** Idempotency key: client-supplied, or a sortable unique id assigned by the ingress. */
  event_id: string;
  /** From the API key, never from the body. */
  tenant: string;
  /** Selects the registered JSON Schema of `payload`. */
  type: string;
  /** Client time, ms since the epoch (the ingress receive time when the client gave none). */
  ts: number;
  priority: Priority;
  /** Partition key (defaults to the tenant). */
  key: string;
  payload: Record<string, unknown>;
}

export function encodeEvent(event: StoredEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/**
 * `encodeEvent` for an event whose payload is already JSON bytes (`payload[start, end)`, the client's own, which
 * `JSON.parse` accepted): the same members in the same order, the payload copied instead of re-serialised. Decodes
 * to the same object as `encodeEvent({...head, payload: JSON.parse(those bytes)})`.
 */
export function encodeEventSpliced(
  head: Omit<StoredEvent, 'payload'>,
  payload: Buffer,
  start: number,
  end: number,
): Buffer {
  const prefix =
    '{"event_id":' +
    jsonString(head.event_id) +
    ',"tenant":' +
    jsonString(head.tenant) +
    ',"type":' +
    jsonString(head.type) +
    ',"ts":' +
    (Number.isSafeInteger(head.ts) ? String(head.ts) : JSON.stringify(head.ts)) +
    ',"priority":"' +
    head.priority +
    '","key":' +
    jsonString(head.key) +
    ',"payload":';
  // Each UTF-16 unit is at most 3 UTF-8 bytes: allocate for the worst case, keep what was written.
  const out = Buffer.allocUnsafe(prefix.length * 3 + (end - start) + 1);
  let at = out.write(prefix, 0, 'utf8');
  at += payload.copy(out, at, start, end);
  out[at] = 0x7d; // }
  return out.subarray(0, at + 1);
}

/** Characters a JSON string must escape, and lone-surrogate candidates (JSON.stringify escapes those). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON must escape
const needsEscape = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** `JSON.stringify(s)` for a string, without the call when nothing needs escaping (the usual id, tenant, key). */
export function jsonString(s: string): string {
  return needsEscape.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

/** Decodes a record value written by `encodeEvent`; throws SyntaxError on a value that is not one. */
export function decodeEvent(value: Buffer): StoredEvent {
  const parsed = JSON.parse(value.toString('utf8')) as StoredEvent;
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.event_id !== 'string') {
    throw new SyntaxError('record value is not an encoded event (no event_id)');
  }
  return parsed;
}
