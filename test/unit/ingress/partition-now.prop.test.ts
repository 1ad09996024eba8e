/**
 * `partitionNow`: the partition an append uses is the key's partition under the log's partition count at the
 * append, whatever the count was when the event was prepared (a reshard may change it while a request waits).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { partitionForKey } from '../../../src/ingress/partition.js';
import { partitionNow, type IngestState } from '../../../src/ingress/stages.js';
import type { Prepared } from '../../../src/ingress/prepare.js';

test('partitionNow - equals partitionForKey under the current count, before and after a change', () => {
  fc.assert(
    fc.property(fc.string(), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 }), (key, p, q) => {
      const log = { partitions: p };
      const s = { log } as unknown as IngestState;
      const keyBytes = Buffer.from(key, 'utf8');
      const e = { keyBytes, partition: partitionForKey(keyBytes, p), partitionsAt: p } as Prepared;
      assert.equal(partitionNow(s, e), partitionForKey(keyBytes, p));
      log.partitions = q;
      assert.equal(partitionNow(s, e), partitionForKey(keyBytes, q));
    }),
  );
});
