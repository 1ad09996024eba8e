/** The target assignment of a group's partitions: total, balanced, order-free and sticky (properties). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assignPartitions } from '../../../src/log/leases.js';

const memberSet = fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,12}$/), { minLength: 1, maxLength: 16 });
const partitions = fc.integer({ min: 1, max: 64 });

test('leases - every partition has exactly one owner from the set, shares differ by at most one', () => {
  fc.assert(
    fc.property(memberSet, partitions, (members, p) => {
      const owner = assignPartitions(members, p);
      assert.equal(owner.length, p);
      const counts = new Map(members.map((m) => [m, 0]));
      for (const o of owner) {
        assert.ok(o !== undefined && counts.has(o));
        counts.set(o, (counts.get(o) ?? 0) + 1);
      }
      const shares = [...counts.values()];
      assert.ok(Math.max(...shares) - Math.min(...shares) <= 1, `shares ${shares.join(',')}`);
    }),
  );
});

test('leases - the assignment depends on the set of members, not their order', () => {
  fc.assert(
    fc.property(memberSet, partitions, fc.integer(), (members, p, seed) => {
      const shuffled = [...members].sort(
        (a, b) => ((a + seed).length % 3) - ((b + seed).length % 3) || (a < b ? 1 : -1),
      );
      assert.deepEqual(assignPartitions(shuffled, p), assignPartitions(members, p));
    }),
  );
});

test('leases - a member joining moves about its own share (at most 3 × ⌈P/(N+1)⌉ + 2), not everything', () => {
  fc.assert(
    fc.property(memberSet, partitions, fc.stringMatching(/^[A-Z]{1,6}$/), (members, p, joiner) => {
      const before = assignPartitions(members, p);
      const after = assignPartitions([...members, joiner], p);
      const moved = before.filter((o, i) => o !== after[i]).length;
      assert.ok(moved <= 3 * Math.ceil(p / (members.length + 1)) + 2, `moved ${moved} of ${p}`);
    }),
  );
});

test('leases - no members: no owner', () => {
  assert.deepEqual(assignPartitions([], 3), [undefined, undefined, undefined]);
});
