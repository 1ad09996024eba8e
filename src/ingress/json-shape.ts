/**
 * Two properties of an event that `JSON.parse` accepts but the rest of the data plane must not be handed:
 *
 * - **Nesting deeper than `eventDepthMax`.** `JSON.parse` is iterative and takes any depth, but `JSON.stringify`,
 *   `structuredClone`, ajv's compiled validators of recursive schemas and most consumers' own code recurse: on
 *   Node 20 `JSON.stringify` of objects nested ~1,900 deep overflows the main thread's stack (a 500
 *   `SHOCK_INTERNAL`, issue 12 item 3). Events deeper than the limit are refused (400 `SHOCK_INGRESS_TOO_DEEP`)
 *   before anything recursive sees them; the limit's ceiling (`eventDepthCeiling` in `src/base/limits.ts`) leaves every such path a
 *   margin of about four times.
 * - **Numbers that are not finite.** JSON has no Infinity, but `JSON.parse('1e400')` gives `Infinity`, which a
 *   consumer would read as such while `JSON.stringify` writes it as `null`: the event would not mean what the client
 *   sent. A number literal that overflows a double is refused (400 `SHOCK_INGRESS_NUMBER_NOT_FINITE`, with the JSON
 *   pointer of every such number), wherever it is in the event — a schema need not say `number` there.
 *
 * Both are found in one pass over the bytes, on bytes `JSON.parse` has accepted (so structure is plain ASCII:
 * quotes, backslashes, brackets): strings are skipped, brackets counted, and only a number literal with an exponent
 * or more than 308 integer digits — the only ones that can overflow — is converted to check it. The pass is
 * iterative: its cost is linear in the bytes whatever the depth. Pointers are found (rarely) by an iterative walk
 * of the parsed value.
 */
import type { ShockError } from '../base/index.js';
import { rejection } from './rejection.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const DOT = 0x2e;
const PLUS = 0x2b;
const MINUS = 0x2d;

/** What `checkJsonShape` found: nothing wrong, nesting deeper than allowed, or a number that is not finite. */
export const jsonShapes = { ok: 0, tooDeep: 1, notFinite: 2 } as const;
export type JsonShape = (typeof jsonShapes)[keyof typeof jsonShapes];

/** Byte classes of the scan: one table load instead of a chain of comparisons per byte. */
const OTHER = 0;
const STRING = 1;
const OPEN = 2;
const CLOSE = 3;
const DIGIT = 4;
const EXPONENT = 5;
const byteKinds = new Uint8Array(256);
byteKinds[QUOTE] = STRING;
byteKinds[OPEN_BRACE] = byteKinds[OPEN_BRACKET] = OPEN;
byteKinds[CLOSE_BRACE] = byteKinds[CLOSE_BRACKET] = CLOSE;
for (let b = DIGIT_0; b <= DIGIT_9; b++) byteKinds[b] = DIGIT;
byteKinds[LOWER_E] = byteKinds[UPPER_E] = EXPONENT;

function isDigit(b: number): boolean {
  return b >= DIGIT_0 && b <= DIGIT_9;
}

function isNumberByte(b: number): boolean {
  return isDigit(b) || b === DOT || b === LOWER_E || b === UPPER_E || b === PLUS || b === MINUS;
}

/** The number literal around `buf[i]` is finite as a double. */
function literalIsFinite(buf: Buffer, i: number, start: number, end: number): boolean {
  let s = i;
  while (s > start && isNumberByte(buf[s - 1])) s--;
  let e = i;
  while (e < end && isNumberByte(buf[e])) e++;
  return Number.isFinite(Number(buf.toString('latin1', s, e)));
}

/**
 * Checks the JSON value in `buf[start, end)` (bytes `JSON.parse` accepted): `tooDeep` when objects and arrays nest
 * more than `depthMax` levels (the value itself is level 1: `{"payload":{}}` is 2 deep), else `notFinite` when a
 * number literal overflows to ±Infinity, else `ok`. One iterative pass; stops at the first problem.
 */
export function checkJsonShape(buf: Buffer, start: number, end: number, depthMax: number): JsonShape {
  let depth = 0;
  let digits = 0;
  let notFinite = false;
  for (let i = start; i < end; i++) {
    const kind = byteKinds[buf[i]];
    if (kind === OTHER) {
      digits = 0;
    } else if (kind === STRING) {
      for (i++; i < end; i++) {
        const c = buf[i];
        if (c === QUOTE) break;
        if (c === BACKSLASH) i++;
      }
      digits = 0;
    } else if (kind === OPEN) {
      depth++;
      if (depth > depthMax) return jsonShapes.tooDeep;
    } else if (kind === CLOSE) {
      depth--;
    } else if (kind === DIGIT) {
      // More than 308 integer digits can pass Number.MAX_VALUE (1.8e308); fraction digits are reset by the dot.
      digits++;
      if (digits === 309 && !notFinite) notFinite = !literalIsFinite(buf, i, start, end);
    } else {
      // An exponent: outside strings an `e` follows a digit only in a number (`true`, `false` have it after a letter).
      if (digits > 0 && !notFinite) notFinite = !literalIsFinite(buf, i, start, end);
      digits = 0;
    }
  }
  return notFinite ? jsonShapes.notFinite : jsonShapes.ok;
}

/**
 * The 400 for the event in `buf[start, end)` whose parsed value is `value`, or null when its shape is fine:
 * `SHOCK_INGRESS_TOO_DEEP` past `depthMax` levels, `SHOCK_INGRESS_NUMBER_NOT_FINITE` naming each number (JSON
 * pointer) that is not finite.
 */
export function shapeRejection(
  buf: Buffer,
  start: number,
  end: number,
  depthMax: number,
  value: unknown,
): ShockError | null {
  const shape = checkJsonShape(buf, start, end, depthMax);
  if (shape === jsonShapes.ok) return null;
  if (shape === jsonShapes.tooDeep) {
    return rejection('SHOCK_INGRESS_TOO_DEEP', `the event nests objects and arrays deeper than ${depthMax} levels`, {
      eventDepthMax: depthMax,
    });
  }
  const problems = notFinitePointers(value).map((path) => ({
    path: path === '' ? '/' : path,
    message: 'must be a finite number',
  }));
  // No pointer: the number is under a member name that repeats, which JSON.parse drops but the stored bytes keep.
  if (problems.length === 0) problems.push({ path: '/', message: 'holds a number that is not finite' });
  const where = problems.map((p) => p.path).join(', ');
  return rejection(
    'SHOCK_INGRESS_NUMBER_NOT_FINITE',
    `${where}: a number overflows a 64-bit float (it would read as Infinity)`,
    { problems },
  );
}

/**
 * Where in a parsed value a number is not finite: JSON pointers (RFC 6901: `""` is the value itself, `"/"` its
 * member named ""), in document order, at most `pointersMax` of them.
 */
export function notFinitePointers(value: unknown, pointersMax = 10): string[] {
  const found: string[] = [];
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0 && found.length < pointersMax) {
    const [v, pointer] = stack.pop()!;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) found.push(pointer);
    } else if (Array.isArray(v)) {
      for (let k = v.length - 1; k >= 0; k--) stack.push([v[k], `${pointer}/${k}`]);
    } else if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v);
      for (let k = keys.length - 1; k >= 0; k--) {
        stack.push([(v as Record<string, unknown>)[keys[k]], `${pointer}/${escapePointer(keys[k])}`]);
      }
    }
  }
  return found;
}

/** A member name as a JSON pointer token: `~` → `~0`, `/` → `~1`. */
function escapePointer(name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1');
}
