/**
 * Resharding a running `shock serve` (the real process, real files): keyed load runs while the cell goes from 4 to
 * 8 partitions (a split) and then from 8 to 3 (neither a split nor a merge: every child depends on every parent).
 * No request gets a 5xx; every 202'd event is in the sink exactly once; per key, the handler saw the events in the
 * order they were accepted; the old generations are drained, retired and deleted; metrics and stats show it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, runCli } from '../helpers/cli.js';
import {
  adminCall,
  fetchMetrics,
  fetchStats,
  request,
  startServe,
  testKeys,
  waitUntil,
  writeConfig,
} from '../helpers/cell-serve.js';
import {
  checkExactlyOnceInOrder,
  newLoadRecord,
  sendKeyed,
  settle,
  writeRecordingHandler,
  type Target,
} from '../helpers/reshard-load.js';

const keys = 12;
const perKey = 150;

test('serve reshard - 4 → 8 → 3 under keyed load: no 5xx, every 202 once in the sink, per-key order kept', async () => {
  const t = tempDir('shock-reshard-');
  const dataDir = join(t.dir, 'data');
  const { handler, arrivals } = writeRecordingHandler(t.dir);
  const config = writeConfig(t.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 1_000_000, burst: 1_000_000 }],
    log: { partitions: 4 },
    // A slow handler keeps the old generation behind at the switch, so the drain is real.
    consumers: { workers: 2, handler, handlerDelayMs: 20 },
  });
  const serve = await startServe(dataDir, ['--config', config]);
  const target: Target = { url: serve.url, down: false };
  try {
    const record = newLoadRecord();
    const senders = Array.from({ length: keys }, (_, k) => sendKeyed(target, `key-${k}`, perKey, record, 2));
    const total = keys * perKey;

    await waitUntil(() => record.acked.size >= total / 4, 60_000, 10);
    // Paused consumers keep generation 0 from draining until they resume: the busy answer below does not race it.
    const pause = await adminCall(serve, '/admin/consumers/pause', 'POST');
    assert.equal(pause.status, 200);
    const first = await adminCall(serve, '/admin/reshard', 'POST', { partitions: 8 });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.generation, 1);
    assert.equal(first.body.partitions, 8);
    assert.equal(first.body.generations[0].state, 'sealed');
    assert.equal(first.body.generations[0].sealedEnd.length, 4);
    // A second reshard while generation 0 drains is refused, and changes nothing.
    const busy = await adminCall(serve, '/admin/reshard', 'POST', { partitions: 3 });
    assert.equal(busy.status, 409);
    assert.equal(busy.body.error.code, 'SHOCK_CELL_RESHARD_BUSY');
    assert.equal((await adminCall(serve, '/admin/reshard')).body.state, 'draining');
    // New events are accepted meanwhile (into generation 1) and wait there.
    await waitUntil(async () => (await adminCall(serve, '/admin/reshard')).body.generations[1].lagEvents > 0);
    assert.equal((await adminCall(serve, '/admin/consumers/resume', 'POST')).status, 200);
    await waitUntil(async () => (await adminCall(serve, '/admin/reshard')).body.state === 'idle', 60_000);
    assert.equal(existsSync(join(dataDir, 'log')), false, 'the retired generation is deleted');

    await waitUntil(() => record.acked.size >= (total * 2) / 3, 60_000, 10);
    // The CLI this time: --wait returns once generation 1 has drained and retired (the load still runs).
    const cli = await runCli([
      'reshard',
      '--partitions',
      '3',
      '--wait',
      '--admin',
      serve.adminUrl,
      '--data-dir',
      serve.dataDir,
      '--json',
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const second = JSON.parse(cli.stdout) as { generation: number; partitions: number; state: string };
    assert.equal(second.generation, 2);
    assert.equal(second.partitions, 3);
    assert.equal(second.state, 'idle');
    assert.equal(existsSync(join(dataDir, 'log-g1')), false);

    await settle(serve, dataDir, senders, record, total, 60_000);
    assert.equal(record.acked.size, total);
    const stats = await fetchStats(serve);
    assert.equal(stats.cell.partitions, 3);
    assert.deepEqual(
      stats.reshard.generations.map((g: { gen: number; state: string }) => [g.gen, g.state]),
      [[2, 'active']],
    );
    const metrics = await fetchMetrics(serve);
    assert.match(metrics, /^shock_log_generation 2$/m);
    assert.match(metrics, /^shock_log_generation_partitions\{generation="2",state="active"\} 3$/m);
    const status = await runCli(['reshard', '--status', '--admin', serve.adminUrl, '--data-dir', serve.dataDir]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /generation 2 is active with 3 partitions; nothing is draining/);

    const manifest = JSON.parse(readFileSync(join(dataDir, 'generations.json'), 'utf8')) as {
      generations: { state: string; partitions: number }[];
    };
    assert.deepEqual(
      manifest.generations.map((g) => [g.partitions, g.state]),
      [
        [4, 'retired'],
        [8, 'retired'],
        [3, 'active'],
      ],
    );
    assert.equal(existsSync(join(dataDir, 'log-g1')), false);
    const seen = await checkExactlyOnceInOrder(dataDir, arrivals, record);
    assert.ok(seen >= total);
  } finally {
    target.ended = true;
    const stopped = await serve.stop('SIGTERM');
    assert.equal(stopped.code, 0, serve.output().stderr);
  }
  // The restarted cell opens the manifest's active generation (3 partitions), whatever the config says.
  const again = await startServe(dataDir, ['--config', config]);
  try {
    const s = await fetchStats(again);
    assert.equal(s.cell.partitions, 3);
    assert.equal(s.reshard.generation, 2);
  } finally {
    assert.equal((await again.stop('SIGTERM')).code, 0);
    t.cleanup();
  }
});

test('serve reshard - refusals: a bad body, the same count, and the CLI without a count', async () => {
  const t = tempDir('shock-reshard-bad-');
  const serve = await startServe(join(t.dir, 'data'), ['--partitions', '2']);
  try {
    const post = (body: string) =>
      request(`${serve.adminUrl}/admin/reshard`, {
        method: 'POST',
        headers: { authorization: `Bearer ${serve.adminToken}`, 'content-type': 'application/json' },
        body,
      });
    for (const body of [
      '{}',
      '{"partitions":"8"}',
      '{"partitions":8,"x":1}',
      '{"partitions":0}',
      '{"partitions":2.5}',
    ]) {
      const r = await post(body);
      assert.equal(r.status, 400, body);
      assert.equal(r.body.error.code, 'SHOCK_CELL_ADMIN_INVALID', body);
    }
    const same = await post('{"partitions":2}');
    assert.equal(same.status, 400);
    assert.match(same.body.error.message, /already has 2 partitions/);
    const cli = await runCli(['reshard', '--admin', serve.adminUrl]);
    assert.equal(cli.code, 64);
    assert.match(cli.stderr, /exactly one of --partitions N or --status/);
    const help = await runCli(['reshard', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--partitions <n>/);
    const status = (await adminCall(serve, '/admin/reshard')).body;
    assert.equal(status.generation, 0);
    assert.equal(status.state, 'idle');
  } finally {
    assert.equal((await serve.stop('SIGTERM')).code, 0);
    t.cleanup();
  }
});
