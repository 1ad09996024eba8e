/**
 * Assertions for invariants we own (TIGER_STYLE). A failed assertion is our bug: it throws SHOCK_INTERNAL with
 * context and is never caught to carry on. Bad input and faults of the world are ShockErrors, not assertions.
 */
import { ShockError } from './errors.js';

export function assert(condition: unknown, message: string, context?: Record<string, unknown>): asserts condition {
  if (!condition) {
    throw new ShockError('SHOCK_INTERNAL', { message: `assertion failed: ${message}`, details: context });
  }
}

/** Offsets, counts and byte positions must be exact: JS numbers are exact only below 2^53. */
export function assertSafeInteger(value: number, name: string): void {
  assert(Number.isSafeInteger(value), `${name} must be a safe integer`, { [name]: value });
}

export function assertNever(value: never, message = 'unreachable'): never {
  throw new ShockError('SHOCK_INTERNAL', { message: `assertion failed: ${message}`, details: { value } });
}
