/**
 * Log generations: the parent/child rule against Kafka's partitioner (for any P, P' and key, the child a key lands
 * in depends on the parent it was in), and the manifest's state machine (random sequences of operations keep the
 * manifest valid; the durable round trip; refusals).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { isShockError } from '../../../src/base/index.js';
import { partitionForKey } from '../../../src/ingress/partition.js';
import {
  activeGeneration,
  beginReshard,
  checkManifest,
  drainingGenerations,
  initialManifest,
  parentsOf,
  readManifest,
  recordSealedEnd,
  retireGeneration,
  writeManifest,
  type GenerationManifest,
} from '../../../src/log/index.js';
import { tempDir } from '../../helpers/cli.js';

const partitionCount = fc.integer({ min: 1, max: 64 });

test("generations - the child a key lands in depends on the parent it was in (any P, P', key)", () => {
  fc.assert(
    fc.property(
      partitionCount,
      partitionCount,
      fc.array(fc.string(), { minLength: 1, maxLength: 20 }),
      (p, q, keys) => {
        for (const key of keys) {
          const bytes = Buffer.from(key, 'utf8');
          const parent = partitionForKey(bytes, p);
          const child = partitionForKey(bytes, q);
          assert.ok(parentsOf(child, p, q).includes(parent), `key ${JSON.stringify(key)}: ${p}→${q}`);
        }
      },
    ),
    { numRuns: 500 },
  );
});

test('generations - splits and merges depend on the parents of the modular structure only', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 32 }), fc.integer({ min: 2, max: 8 }), (p, k) => {
      // split P → kP: one parent each, c mod P
      for (let c = 0; c < p * k; c++) assert.deepEqual(parentsOf(c, p, p * k), [c % p]);
      // merge kP → P: the k parents congruent to c
      for (let c = 0; c < p; c++) {
        assert.deepEqual(
          parentsOf(c, p * k, p),
          Array.from({ length: k }, (_, i) => c + i * p),
        );
      }
    }),
  );
  // neither: every parent
  assert.deepEqual(parentsOf(1, 8, 3), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(parentsOf(0, 4, 6), [0, 1, 2, 3]);
  // every parent has at least one child, so "all children may start" means "every parent drained"
  fc.assert(
    fc.property(partitionCount, partitionCount, (p, q) => {
      const covered = new Set<number>();
      for (let c = 0; c < q; c++) for (const x of parentsOf(c, p, q)) covered.add(x);
      assert.equal(covered.size, p);
    }),
  );
});

type Op = { t: 'reshard'; partitions: number } | { t: 'seal' } | { t: 'retire' };

const ops = fc.array(
  fc.oneof(
    fc.record({ t: fc.constant('reshard' as const), partitions: partitionCount }),
    fc.record({ t: fc.constant('seal' as const) }),
    fc.record({ t: fc.constant('retire' as const) }),
  ),
  { maxLength: 40 },
);

/** Applies `op` if it is allowed now; returns the manifest and whether it changed. Refusals must be ShockErrors. */
function apply(m: GenerationManifest, op: Op): GenerationManifest {
  const draining = drainingGenerations(m);
  try {
    if (op.t === 'reshard') return beginReshard(m, op.partitions);
    const g = draining[0];
    if (g === undefined) return m;
    if (op.t === 'seal')
      return recordSealedEnd(
        m,
        g.gen,
        Array.from({ length: g.partitions }, (_, i) => i * 3),
      );
    return retireGeneration(m, g.gen);
  } catch (err) {
    assert.ok(isShockError(err), String(err));
    return m;
  }
}

test('generations - any sequence of operations keeps the manifest valid; refusals change nothing', () => {
  fc.assert(
    fc.property(partitionCount, ops, (p0, list) => {
      let m = initialManifest(p0);
      for (const op of list) {
        const before = JSON.stringify(m);
        const next = apply(m, op);
        checkManifest(JSON.parse(JSON.stringify(next)), 'mem');
        const active = activeGeneration(next);
        if (op.t === 'reshard' && JSON.stringify(next) !== before) {
          // a reshard happens only when nothing drains and the count changes
          assert.equal(drainingGenerations(m).length, 0);
          assert.notEqual(activeGeneration(m).partitions, op.partitions);
          assert.equal(active.partitions, op.partitions);
          assert.equal(active.gen, activeGeneration(m).gen + 1);
        }
        // at most one generation drains, the one before the active one
        const draining = drainingGenerations(next);
        assert.ok(draining.length <= 1);
        if (draining.length === 1) assert.equal(draining[0].gen, active.gen - 1);
        // a recorded end never changes, a retired generation never comes back
        for (const g of m.generations) {
          const after = next.generations[g.gen];
          if (g.sealedEnd !== null) assert.deepEqual(after.sealedEnd, g.sealedEnd);
          if (g.state === 'retired') assert.equal(after.state, 'retired');
        }
        m = next;
      }
    }),
    { numRuns: 300 },
  );
});

test('generations - refusals: same count, busy while draining, end recorded twice, retire before the end', () => {
  const m0 = initialManifest(4);
  assert.throws(() => beginReshard(m0, 4), { code: 'SHOCK_CELL_ADMIN_INVALID' });
  assert.throws(() => beginReshard(m0, 0), { code: 'SHOCK_CELL_ADMIN_INVALID' });
  assert.throws(() => beginReshard(m0, 2.5), { code: 'SHOCK_CELL_ADMIN_INVALID' });
  const m1 = beginReshard(m0, 8);
  assert.deepEqual(
    m1.generations.map((g) => [g.gen, g.partitions, g.dir, g.state]),
    [
      [0, 4, 'log', 'sealed'],
      [1, 8, 'log-g1', 'active'],
    ],
  );
  assert.throws(() => beginReshard(m1, 3), { code: 'SHOCK_CELL_RESHARD_BUSY' });
  assert.throws(() => retireGeneration(m1, 0), { code: 'SHOCK_INTERNAL' });
  assert.throws(() => recordSealedEnd(m1, 0, [1, 2, 3]), { code: 'SHOCK_INTERNAL' });
  const m2 = recordSealedEnd(m1, 0, [5, 6, 7, 8]);
  assert.throws(() => recordSealedEnd(m2, 0, [5, 6, 7, 8]), { code: 'SHOCK_INTERNAL' });
  const m3 = retireGeneration(m2, 0);
  const m4 = beginReshard(m3, 3);
  assert.equal(activeGeneration(m4).dir, 'log-g2');
});

test('generations - the manifest round-trips through disk; damage is SHOCK_LOG_MANIFEST_INVALID', async () => {
  const t = tempDir('shock-gen-');
  try {
    assert.equal(await readManifest(t.dir), null);
    const m = recordSealedEnd(beginReshard(initialManifest(4), 8), 0, [1, 2, 3, 4]);
    await writeManifest(t.dir, m);
    assert.deepEqual(await readManifest(t.dir), m);
    writeFileSync(join(t.dir, 'generations.json'), '{"format":"shock-generations","version":1,"generations":[]}');
    await assert.rejects(readManifest(t.dir), { code: 'SHOCK_LOG_MANIFEST_INVALID' });
    writeFileSync(join(t.dir, 'generations.json'), '{not json');
    await assert.rejects(readManifest(t.dir), { code: 'SHOCK_LOG_MANIFEST_INVALID' });
    const twoActive = { ...m, generations: m.generations.map((g) => ({ ...g, state: 'active', sealedEnd: null })) };
    writeFileSync(join(t.dir, 'generations.json'), JSON.stringify(twoActive));
    await assert.rejects(readManifest(t.dir), { code: 'SHOCK_LOG_MANIFEST_INVALID' });
  } finally {
    t.cleanup();
  }
});
