/**
 * Byte spans inside JSON the parser has already accepted, so the ingress can store a client's `payload` by copying
 * its bytes instead of re-serialising the parsed object (`JSON.stringify` was the largest single cost of batch
 * ingestion, ahead of `JSON.parse` itself: bench/ingress-batch.ts).
 *
 * The functions run only on bytes that `JSON.parse` accepted (as UTF-8 text); quotes, backslashes and brackets are
 * ASCII, so a byte scan sees the same structure. The scan is one pass in JS over the bytes of the event. Anything unexpected returns null and the caller falls back to
 * `JSON.stringify`: a span is an optimisation, never a second parser whose opinion matters.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** JSON whitespace: space, tab, line feed, carriage return. */
export function isJsonSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function skipSpace(buf: Buffer, i: number, end: number): number {
  while (i < end && isJsonSpace(buf[i])) i++;
  return i;
}

/**
 * `i` at an opening quote: the index after the closing quote, or -1. A plain loop: event strings are short, and a
 * native `Buffer#indexOf` costs more per call than it saves per byte (measured).
 */
function skipString(buf: Buffer, i: number, end: number): number {
  for (let j = i + 1; j < end; j++) {
    const b = buf[j];
    if (b === QUOTE) return j + 1;
    if (b === BACKSLASH) j++;
  }
  return -1;
}

/** `i` at the first byte of a value: the index after it, or -1. */
function skipValue(buf: Buffer, i: number, end: number): number {
  const c = buf[i];
  if (c === QUOTE) return skipString(buf, i, end);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    while (i < end) {
      const b = buf[i];
      if (b === QUOTE) {
        i = skipString(buf, i, end);
        if (i === -1) return -1;
        continue;
      }
      if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter.
  while (i < end) {
    const b = buf[i];
    if (b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET || isJsonSpace(b)) break;
    i++;
  }
  return i;
}

/** Where `walkObject` found the member it looked for: `[memberStart, memberEnd)`, or -1 when it did not. */
let memberStart = -1;
let memberEnd = -1;

/**
 * `i` at the first byte of an object: the index after its closing brace, or -1. Sets `memberStart`/`memberEnd` to
 * the span of member `name`'s value — the last one when the name repeats, as `JSON.parse` keeps the last — or to -1
 * when there is no such member or a member name is written with escapes (which might spell `name`: the caller then
 * handles it the slow way).
 */
function walkObject(buf: Buffer, i: number, end: number, name: string): number {
  memberStart = -1;
  memberEnd = -1;
  let unknown = false;
  i = skipSpace(buf, i + 1, end);
  while (i < end && buf[i] !== CLOSE_BRACE) {
    if (buf[i] !== QUOTE) return -1;
    const keyEnd = skipString(buf, i, end);
    if (keyEnd === -1) return -1;
    const keyStart = i + 1;
    const keyLength = keyEnd - 1 - keyStart;
    let matches = keyLength === name.length;
    for (let k = 0; matches && k < keyLength; k++) matches = buf[keyStart + k] === name.charCodeAt(k);
    for (let k = keyStart; !matches && !unknown && k < keyEnd - 1; k++) if (buf[k] === BACKSLASH) unknown = true;
    i = skipSpace(buf, keyEnd, end);
    if (buf[i] !== COLON) return -1;
    i = skipSpace(buf, i + 1, end);
    const valueStart = i;
    i = skipValue(buf, i, end);
    if (i === -1) return -1;
    if (matches) {
      memberStart = valueStart;
      memberEnd = i;
    }
    i = skipSpace(buf, i, end);
    if (buf[i] === COMMA) i = skipSpace(buf, i + 1, end);
  }
  if (i >= end) return -1;
  if (unknown) memberStart = memberEnd = -1;
  return i + 1;
}

/**
 * The span `[start, end]` of the value of member `name` of the JSON object in `buf[start, end)` — the last one
 * when the name repeats, as `JSON.parse` keeps the last — or null (not an object, no such member, or a member name
 * written with escapes, which the caller then handles the slow way).
 */
export function memberValueSpan(buf: Buffer, start: number, end: number, name: string): [number, number] | null {
  const i = skipSpace(buf, start, end);
  if (buf[i] !== OPEN_BRACE || walkObject(buf, i, end, name) === -1 || memberStart === -1) return null;
  return [memberStart, memberEnd];
}

/**
 * The spans of the elements of the JSON array in `buf[start, end)` and, in the same pass, of each element's member
 * `name`: `[start0, end0, memberStart0, memberEnd0, start1, …]`, the member span `-1, -1` where `memberValueSpan`
 * would be null; null when the bytes are not an array.
 */
export function arrayMemberSpans(buf: Buffer, start: number, end: number, name: string): number[] | null {
  let i = skipSpace(buf, start, end);
  if (buf[i] !== OPEN_BRACKET) return null;
  i = skipSpace(buf, i + 1, end);
  const spans: number[] = [];
  if (buf[i] === CLOSE_BRACKET) return spans;
  while (i < end) {
    const s = i;
    if (buf[i] === OPEN_BRACE) {
      i = walkObject(buf, i, end, name);
      if (i === -1) return null;
      spans.push(s, i, memberStart, memberEnd);
    } else {
      i = skipValue(buf, i, end);
      if (i === -1) return null;
      spans.push(s, i, -1, -1);
    }
    i = skipSpace(buf, i, end);
    if (buf[i] === COMMA) i = skipSpace(buf, i + 1, end);
    else if (buf[i] === CLOSE_BRACKET) return spans;
    else return null;
  }
  return null;
}
