import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncMutex } from '../../../../src/measure/lab/demo/mutex.js';
import { ConsumerPool } from '../../../../src/measure/lab/demo/consumer-pool.js';
import { createDesign } from '../../../../src/measure/lab/demo/designs.js';
import { lawThroughputPerSec } from '../../../../src/measure/lab/known-law.js';

test('demo mutex - serves waiters in arrival order, one at a time', async () => {
  const lock = new AsyncMutex();
  const order: number[] = [];
  let inside = 0;
  await Promise.all(
    [0, 1, 2, 3, 4].map((i) =>
      lock.with(async () => {
        inside++;
        assert.equal(inside, 1);
        order.push(i);
        await new Promise((r) => setTimeout(r, 1));
        inside--;
      }),
    ),
  );
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  assert.equal(lock.waitingCount, 0);
});

test('demo designs - every design completes every submitted batch', async () => {
  for (const design of ['shared-nothing', 'shared-lock', 'coordinated'] as const) {
    const pool = new ConsumerPool(createDesign(design, 4, { writeMs: 1, commitMs: 1, entryMs: 0.1 }));
    await Promise.all(Array.from({ length: 20 }, () => pool.submit()));
    assert.equal(pool.completed, 20, design);
    pool.stop();
    await assert.rejects(pool.submit().then(() => Promise.reject(new Error('never'))));
  }
});

test('known law - X(N) is the USL formula', () => {
  assert.equal(lawThroughputPerSec(100, 0, 0, 8), 800);
  assert.ok(Math.abs(lawThroughputPerSec(100, 0.05, 0.002, 32) - 3200 / (1 + 0.05 * 31 + 0.002 * 32 * 31)) < 1e-9);
});
