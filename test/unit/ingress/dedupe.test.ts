/** The dedupe window and generated event ids. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/base/index.js';
import { DedupeWindow, type DedupeEntry } from '../../../src/ingress/dedupe.js';
import { EventIdGenerator } from '../../../src/ingress/event-id.js';

const entry = (offset: number, acceptedAtMs: number): DedupeEntry => ({
  partition: 0,
  pending: null,
  index: 0,
  offset,
  acceptedAtMs,
});

test('dedupe - ids are remembered per tenant, within the count bound and the age window', () => {
  const w = new DedupeWindow(3, 1000);
  w.add('a', 'e1', entry(1, 0));
  assert.equal(w.get('a', 'e1', 10)?.offset, 1);
  assert.equal(w.get('b', 'e1', 10), undefined); // another tenant's id is another event
  assert.equal(w.get('a', 'e1', 1001), undefined); // older than the window
  for (let i = 2; i <= 5; i++) w.add('a', `e${i}`, entry(i, 2000));
  assert.equal(w.size('a'), 3);
  assert.equal(w.get('a', 'e2', 2000), undefined); // evicted, oldest first
  assert.equal(w.get('a', 'e5', 2000)?.offset, 5);
});

test('dedupe - remove forgets only the entry it was given (a failed append)', () => {
  const w = new DedupeWindow(10, 1000);
  const first = entry(1, 0);
  w.add('a', 'e', first);
  const second = entry(2, 0);
  w.add('a', 'e', second);
  w.remove('a', 'e', first);
  assert.equal(w.get('a', 'e', 0), second);
  w.remove('a', 'e', second);
  assert.equal(w.get('a', 'e', 0), undefined);
});

test('event ids - ULID-shaped, unique and strictly increasing, also within one millisecond', () => {
  const clock = new ManualClock(1_700_000_000_000);
  const ids = new EventIdGenerator(clock);
  let previous = '';
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    if (i % 1000 === 0) clock.advance(1);
    const id = ids.next();
    assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.ok(id > previous, `${id} <= ${previous}`);
    previous = id;
    seen.add(id);
  }
  assert.equal(seen.size, 5000);
  // The first 10 characters encode the millisecond timestamp (ULID spec).
  assert.equal(new EventIdGenerator(new ManualClock(0)).next().slice(0, 10), '0000000000');
});
