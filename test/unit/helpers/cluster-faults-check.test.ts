/** The fault test's checker finds each kind of broken promise in a history (and passes a clean one). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, newHistory, type Acked } from '../../helpers/cluster-faults.js';

const ack = (key: string, index: number, partition: number, offset: number): Acked => ({
  key,
  index,
  id: `${key}-${index}`,
  partition,
  offset,
  attempts: 1,
  gateway: 0,
  atMs: index,
});

function clean() {
  const h = newHistory(7);
  h.acked.push(ack('a', 0, 1, 10), ack('a', 1, 1, 12), ack('b', 0, 0, 3));
  h.offsetSamples.push({ atMs: 1, partition: 1, offset: 5 }, { atMs: 2, partition: 1, offset: 13 });
  const sink = new Map([
    ['acme/a-0', 1],
    ['acme/a-1', 1],
    ['acme/b-0', 1],
  ]);
  return { h, sink, owned: [[0], [1]] };
}

test('checker - a clean history is valid', () => {
  const { h, sink, owned } = clean();
  assert.deepEqual(check(h, sink, owned, 2), {
    valid: true,
    acknowledged: 3,
    lost: [],
    duplicated: [],
    orderViolations: [],
    offsetRegressions: [],
    ownership: [],
  });
});

test('checker - a lost or doubled 202, an order inversion, a backwards offset and a bad owner each fail it', () => {
  const cases: [string, (c: ReturnType<typeof clean>) => void, keyof ReturnType<typeof check>][] = [
    ['lost', (c) => c.sink.delete('acme/a-1'), 'lost'],
    ['duplicated', (c) => c.sink.set('acme/b-0', 2), 'duplicated'],
    ['order', (c) => (c.h.acked[1] = ack('a', 1, 1, 9)), 'orderViolations'],
    ['partition', (c) => (c.h.acked[1] = ack('a', 1, 0, 20)), 'orderViolations'],
    ['regression', (c) => c.h.offsetSamples.push({ atMs: 3, partition: 1, offset: 12 }), 'offsetRegressions'],
    ['no owner', (c) => (c.owned = [[0], []]), 'ownership'],
    ['two owners', (c) => (c.owned = [[0, 1], [1]]), 'ownership'],
  ];
  for (const [name, breakIt, field] of cases) {
    const c = clean();
    breakIt(c);
    const v = check(c.h, c.sink, c.owned, 2);
    assert.equal(v.valid, false, name);
    assert.equal((v[field] as string[]).length, 1, `${name}: ${JSON.stringify(v)}`);
  }
});
