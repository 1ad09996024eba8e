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
  return Buffer.from(eventJson(event), 'utf8');
}

/** The JSON text `encodeEvent` encodes. */
export function eventJson(event: StoredEvent): string {
  return JSON.stringify(event);
}

/** Bytes of one slab of an `EventWriter`. */
const slabBytes = 64 * 1024;

/**
 * Writes stored events and keys into shared 64 KiB slabs, one allocation per slab instead of one per event, with
 * plain byte stores for the ASCII strings events are made of (a native string write costs more per call than these
 * few bytes). Each result is a `subarray` of a slab: it stays valid after later writes (a full slab is replaced,
 * never reused). One writer per gateway; not for values kept for long (a kept result keeps its whole slab).
 */
export class EventWriter {
  private slab: Buffer;
  private at = 0;

  /** `bytesFirst`: the size of the first slab (default 64 KiB), e.g. what one batch is expected to need. */
  constructor(bytesFirst = slabBytes) {
    this.slab = Buffer.allocUnsafeSlow(bytesFirst);
  }

  /**
   * `encodeEvent` for an event whose payload is already JSON bytes (`payload[start, end)`, the client's own, which
   * `JSON.parse` accepted): the same members in the same order, the payload copied instead of re-serialised.
   * Decodes to the same object as `encodeEvent({...head, payload: JSON.parse(those bytes)})`.
   */
  spliced(head: Omit<StoredEvent, 'payload'>, payload: Uint8Array, start: number, end: number): Buffer {
    const ts = Number.isSafeInteger(head.ts) ? String(head.ts) : JSON.stringify(head.ts);
    const strings = head.event_id.length + head.tenant.length + head.type.length + head.key.length;
    // Each UTF-16 unit is at most 6 bytes once escaped (\uXXXX): room for the worst case, keep what was written.
    const room = constantBytes + 6 * strings + ts.length + head.priority.length + (end - start);
    const buf = this.reserve(room);
    const from = this.at;
    let at = putBytes(buf, EVENT_ID, from);
    at = putJsonString(buf, head.event_id, at);
    at = putBytes(buf, TENANT, at);
    at = putJsonString(buf, head.tenant, at);
    at = putBytes(buf, TYPE, at);
    at = putJsonString(buf, head.type, at);
    at = putBytes(buf, TS, at);
    at = putAscii(buf, ts, at);
    at = putBytes(buf, PRIORITY, at);
    at = putAscii(buf, head.priority, at);
    at = putBytes(buf, KEY, at);
    at = putJsonString(buf, head.key, at);
    at = putBytes(buf, PAYLOAD, at);
    buf.set(payload.subarray(start, end), at);
    at += end - start;
    buf[at++] = 0x7d; // }
    this.at = at;
    return buf.subarray(from, at);
  }

  /** `Buffer.from(s, 'utf8')`, written into the slab. */
  utf8(s: string): Buffer {
    const buf = this.reserve(3 * s.length);
    const from = this.at;
    let at = from;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        at = from + buf.write(s, from, 'utf8');
        break;
      }
      buf[at++] = c;
    }
    this.at = at;
    return buf.subarray(from, at);
  }

  /** A buffer with `bytes` free from `this.at`: the current slab, a fresh one, or (when larger) its own. */
  private reserve(bytes: number): Buffer {
    if (this.at + bytes <= this.slab.length) return this.slab;
    this.slab = Buffer.allocUnsafeSlow(Math.max(slabBytes, bytes));
    this.at = 0;
    return this.slab;
  }
}

const EVENT_ID = Buffer.from('{"event_id":');
const TENANT = Buffer.from(',"tenant":');
const TYPE = Buffer.from(',"type":');
const TS = Buffer.from(',"ts":');
const PRIORITY = Buffer.from(',"priority":"');
const KEY = Buffer.from('","key":');
const PAYLOAD = Buffer.from(',"payload":');
/** The fixed bytes of a spliced event: member names, quotes of the four strings, the closing brace. */
const constantBytes = [EVENT_ID, TENANT, TYPE, TS, PRIORITY, KEY, PAYLOAD].reduce((n, b) => n + b.length, 0) + 8 + 1;

function putBytes(buf: Buffer, bytes: Buffer, at: number): number {
  for (let i = 0; i < bytes.length; i++) buf[at + i] = bytes[i];
  return at + bytes.length;
}

/** A string known to be ASCII (digits, a priority name). */
function putAscii(buf: Buffer, s: string, at: number): number {
  for (let i = 0; i < s.length; i++) buf[at + i] = s.charCodeAt(i);
  return at + s.length;
}

/** `JSON.stringify(s)` as UTF-8: byte stores while the string is printable ASCII, a native write otherwise. */
function putJsonString(buf: Buffer, s: string, at: number): number {
  buf[at] = 0x22; // "
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) return at + buf.write(JSON.stringify(s), at, 'utf8');
    buf[at + 1 + i] = c;
  }
  buf[at + 1 + s.length] = 0x22;
  return at + s.length + 2;
}

/** Decodes a record value written by `encodeEvent`; throws SyntaxError on a value that is not one. */
export function decodeEvent(value: Buffer): StoredEvent {
  const parsed = JSON.parse(value.toString('utf8')) as StoredEvent;
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.event_id !== 'string') {
    throw new SyntaxError('record value is not an encoded event (no event_id)');
  }
  return parsed;
}
