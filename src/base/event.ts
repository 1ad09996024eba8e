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
    `{"event_id":${JSON.stringify(head.event_id)},"tenant":${JSON.stringify(head.tenant)},` +
    `"type":${JSON.stringify(head.type)},"ts":${JSON.stringify(head.ts)},"priority":${JSON.stringify(head.priority)},` +
    `"key":${JSON.stringify(head.key)},"payload":`;
  const prefixBytes = Buffer.byteLength(prefix, 'utf8');
  const out = Buffer.allocUnsafe(prefixBytes + (end - start) + 1);
  out.write(prefix, 0, 'utf8');
  payload.copy(out, prefixBytes, start, end);
  out[out.length - 1] = 0x7d; // }
  return out;
}

/** Decodes a record value written by `encodeEvent`; throws SyntaxError on a value that is not one. */
export function decodeEvent(value: Buffer): StoredEvent {
  const parsed = JSON.parse(value.toString('utf8')) as StoredEvent;
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.event_id !== 'string') {
    throw new SyntaxError('record value is not an encoded event (no event_id)');
  }
  return parsed;
}
