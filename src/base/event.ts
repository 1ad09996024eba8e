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

/** Decodes a record value written by `encodeEvent`; throws SyntaxError on a value that is not one. */
export function decodeEvent(value: Buffer): StoredEvent {
  const parsed = JSON.parse(value.toString('utf8')) as StoredEvent;
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.event_id !== 'string') {
    throw new SyntaxError('record value is not an encoded event (no event_id)');
  }
  return parsed;
}
