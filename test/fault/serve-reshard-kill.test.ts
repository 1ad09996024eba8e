/**
 * kill -9 of `shock serve` during a reshard (4 → 8) under keyed load, at four points: while the reshard request
 * is in flight (in practice before the manifest write; either outcome must be a clean state), after the manifest
 * write with events already accepted into the new generation but the old generation's end not yet recorded (held
 * there by the test-only SHOCK_TEST_RESHARD_SEAL_DELAY_MS), right after the switch was answered, and while the old
 * generation drains. After a restart on the
 * same data directory (and the reshard asked again if it had not happened), the load completes and: no 5xx from
 * a running cell, every 202 in the sink exactly once, per key the handler first saw the events in accepted order,
 * and the old generation is retired and deleted. The crash states on disk are also covered one by one, without
 * timing, in test/unit/cell/generation-log.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli.js';
import {
  adminCall,
  startServe,
  testKeys,
  waitUntil,
  writeConfig,
  type AdminSide,
  type ServeProcess,
} from '../helpers/cell-serve.js';
import {
  checkExactlyOnceInOrder,
  newLoadRecord,
  readSink,
  sendKeyed,
  settle,
  writeRecordingHandler,
  type Target,
} from '../helpers/reshard-load.js';

const keys = 8;
const perKey = 120;
type KillPoint = 'request in flight' | 'before the end is recorded' | 'after the switch' | 'during the drain';

function postReshard(cell: AdminSide, partitions: number) {
  return adminCall(cell, '/admin/reshard', 'POST', { partitions });
}

async function killAt(point: KillPoint, serve: ServeProcess, target: Target): Promise<void> {
  if (point === 'request in flight') {
    const pending = postReshard(serve, 8).catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    target.down = true;
    await serve.stop('SIGKILL');
    await pending;
    return;
  }
  if (point === 'before the end is recorded') {
    // The cell runs with SHOCK_TEST_RESHARD_SEAL_DELAY_MS: the manifest names generation 1, appends go there, and
    // generation 0's end is not recorded yet while the request waits.
    const pending = postReshard(serve, 8).catch(() => undefined);
    const manifestFile = join(serve.dataDir, 'generations.json');
    const sealedUnrecorded = () => {
      if (!existsSync(manifestFile)) return false;
      const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as { generations: { sealedEnd: number[] | null }[] };
      return m.generations.length === 2 && m.generations[0].sealedEnd === null;
    };
    await waitUntil(sealedUnrecorded, 20_000, 5);
    // Events are being accepted into generation 1 while generation 0's end is still unrecorded.
    await waitUntil(async () => ((await adminCall(serve, '/admin/reshard')).body.generations[1]?.lagEvents ?? 0) > 0);
    assert.equal(sealedUnrecorded(), true);
    target.down = true;
    await serve.stop('SIGKILL');
    await pending;
    return;
  }
  if (point === 'after the switch') {
    assert.equal((await postReshard(serve, 8)).status, 200);
  } else {
    // Paused, generation 0 cannot drain before the test has seen it draining; then the drain runs and is killed.
    assert.equal((await adminCall(serve, '/admin/consumers/pause', 'POST')).status, 200);
    assert.equal((await postReshard(serve, 8)).status, 200);
    const s = (await adminCall(serve, '/admin/reshard')).body;
    assert.equal(s.state, 'draining');
    assert.equal((await adminCall(serve, '/admin/consumers/resume', 'POST')).status, 200);
    await new Promise((r) => setTimeout(r, 50));
  }
  target.down = true;
  const killed = await serve.stop('SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');
}

const points: KillPoint[] = ['request in flight', 'before the end is recorded', 'after the switch', 'during the drain'];
for (const point of points) {
  test(`serve reshard kill - kill -9 ${point}: restart completes the reshard, every 202 once, per-key order`, async () => {
    const t = tempDir('shock-reshard-kill-');
    const dataDir = join(t.dir, 'data');
    const { handler, arrivals } = writeRecordingHandler(t.dir);
    const config = writeConfig(t.dir, {
      tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 1_000_000, burst: 1_000_000 }],
      log: { partitions: 4 },
      consumers: { workers: 2, handler, handlerDelayMs: 30 },
    });
    if (point === 'before the end is recorded') process.env.SHOCK_TEST_RESHARD_SEAL_DELAY_MS = '3000';
    let serve = await startServe(dataDir, ['--config', config]);
    delete process.env.SHOCK_TEST_RESHARD_SEAL_DELAY_MS;
    const target: Target = { url: serve.url, down: false };
    try {
      const record = newLoadRecord();
      const senders = Array.from({ length: keys }, (_, k) => sendKeyed(target, `key-${k}`, perKey, record, 2));
      const total = keys * perKey;
      await waitUntil(() => record.acked.size >= total / 3, 60_000, 10);

      await killAt(point, serve, target);
      serve = await startServe(dataDir, ['--config', config]);
      target.url = serve.url;
      target.down = false;

      const after = (await adminCall(serve, '/admin/reshard')).body;
      if (after.generation === 0) {
        // Killed before the manifest named the new generation: nothing happened; the operator asks again.
        assert.equal(point, 'request in flight');
        assert.equal(existsSync(join(dataDir, 'log-g1')), false, 'the unnamed directory was removed');
        assert.equal((await postReshard(serve, 8)).status, 200);
      } else {
        assert.equal(after.generation, 1);
        assert.equal(after.partitions, 8);
        const gen0 = after.generations.find((g: { gen: number }) => g.gen === 0);
        // Either still draining (its end recorded at the latest by this open) or already retired.
        if (gen0 !== undefined) assert.equal(gen0.sealedEnd.length, 4);
      }

      await settle(serve, dataDir, senders, record, total, 90_000);
      assert.equal(record.perKey.size, keys);
      await checkExactlyOnceInOrder(dataDir, arrivals, record);
      // Every event once: the ids are key-n, and each key's n run 0 .. perKey − 1.
      assert.equal(readSink(dataDir).size, total);
      const manifest = JSON.parse(readFileSync(join(dataDir, 'generations.json'), 'utf8')) as {
        generations: { partitions: number; state: string }[];
      };
      assert.deepEqual(
        manifest.generations.map((g) => [g.partitions, g.state]),
        [
          [4, 'retired'],
          [8, 'active'],
        ],
      );
      assert.equal(existsSync(join(dataDir, 'log')), false);
    } finally {
      target.ended = true;
      await serve.stop('SIGKILL');
      t.cleanup();
    }
  });
}
