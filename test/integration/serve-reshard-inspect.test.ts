/**
 * `shock log inspect DATA_DIR` after a reshard of a real `shock serve`: with the consumers paused, generation 0 is
 * sealed with a backlog and generation 1 takes new events; inspect shows each generation (state, partitions,
 * offsets, sealed ends) with its per-group lag, and the total lag per group across both — the same number the
 * cell reports in /v1/stats. After the drain generation 0 shows as retired and the total lag goes to 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/cli.js';
import { adminCall, fetchStats, request, startServe, testKeys, waitUntil, writeConfig } from '../helpers/cell-serve.js';
import type { DataDirReport } from '../../src/log/index.js';

async function send(url: string, prefix: string, count: number): Promise<void> {
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({ event_id: `${prefix}-${i}`, type: 'page.view', key: `key-${i}`, payload: { url: `/${i}` } }),
  );
  const res = await request(`${url}/v1/events/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/x-ndjson' },
    body: lines.join('\n') + '\n',
  });
  assert.equal(res.status, 202, res.text.slice(0, 500));
  assert.equal(res.body.failedRecordCount, 0, res.text.slice(0, 500));
}

async function inspectData(dataDir: string): Promise<DataDirReport> {
  const r = await runCli(['log', 'inspect', dataDir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as DataDirReport;
}

const sinkLag = (r: DataDirReport) => r.groups.find((g) => g.group === 'sink')?.lagTotal;

test('serve reshard inspect - each generation with its partitions, offsets and lag per group, and the total across them', async () => {
  const t = tempDir('shock-reshard-inspect-');
  const dataDir = join(t.dir, 'data');
  const config = writeConfig(t.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 1_000_000, burst: 1_000_000 }],
    log: { partitions: 2 },
    consumers: { workers: 1 },
  });
  const serve = await startServe(dataDir, ['--config', config]);
  try {
    await send(serve.url, 'a', 100);
    // Before any reshard: a data directory with no manifest is generation 0, active.
    await waitUntil(async () => sinkLag(await inspectData(dataDir)) === 0, 30_000, 200);
    const before = await inspectData(dataDir);
    assert.equal(before.manifest, false);
    assert.deepEqual(
      before.generations.map((g) => [g.gen, g.state, g.partitions]),
      [[0, 'active', 2]],
    );

    assert.equal((await adminCall(serve, '/admin/consumers/pause', 'POST')).status, 200);
    await send(serve.url, 'b', 60);
    const reshard = await adminCall(serve, '/admin/reshard', 'POST', { partitions: 4 });
    assert.equal(reshard.status, 200, reshard.text);
    await send(serve.url, 'c', 80);

    const r = await inspectData(dataDir);
    assert.equal(r.manifest, true);
    assert.deepEqual(
      r.generations.map((g) => [g.gen, g.state, g.partitions, g.dir]),
      [
        [0, 'sealed', 2, 'log'],
        [1, 'active', 4, 'log-g1'],
      ],
    );
    const [g0, g1] = r.generations;
    assert.deepEqual(g0.sealedEnd, reshard.body.generations[0].sealedEnd);
    assert.deepEqual(
      g0.log!.partitionReports.map((p) => p.offsetEnd),
      g0.sealedEnd,
    );
    assert.equal(
      g0.sealedEnd!.reduce((a, b) => a + b, 0),
      160,
    );
    const lag0 = g0.groups.find((g) => g.group === 'sink')!;
    assert.equal(lag0.lag, 60, 'the events sent while paused, in generation 0');
    for (const row of lag0.partitions) assert.equal(row.lag, g0.sealedEnd![row.partition] - row.committed!);
    const lag1 = g1.groups.find((g) => g.group === 'sink')!;
    assert.equal(lag1.lag, 80, 'every event of generation 1 waits for the drain');
    for (const row of lag1.partitions) {
      assert.equal(row.committed, null, 'no commit yet in generation 1');
      assert.equal(g1.log!.partitionReports[row.partition].offsetStart, 2 ** 40);
      assert.equal(row.lag, row.offsetEnd - 2 ** 40);
    }
    assert.deepEqual(r.groups, [
      {
        group: 'sink',
        lagTotal: 140,
        byGeneration: [
          { gen: 0, lag: 60 },
          { gen: 1, lag: 80 },
        ],
      },
    ]);
    // The cell counts the same backlog.
    await waitUntil(async () => (await fetchStats(serve)).consumers.lagEvents === 140, 15_000);

    const text = await runCli(['log', 'inspect', dataDir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^data dir .*: 2 generation\(s\) \(generations\.json\)$/m);
    assert.match(text.stdout, /^generation 0: sealed, being drained \(end recorded\) {2}2 partition\(s\) {2}dir log$/m);
    assert.match(text.stdout, /^generation 1: active \(takes appends\) {2}4 partition\(s\) {2}dir log-g1$/m);
    assert.match(text.stdout, /^ {2}group sink: lag 60$/m);
    assert.match(text.stdout, /^ {2}group sink: lag 80$/m);
    assert.match(
      text.stdout,
      new RegExp(`^ {4}partition 0: committed none yet {2}end ${lag1.partitions[0].offsetEnd}`, 'm'),
    );
    assert.match(text.stdout, /^ {2}group sink: lag 140 {2}\(generation 0: 60, generation 1: 80\)$/m);
    // One generation's directory alone says where the whole picture is.
    const one = await runCli(['log', 'inspect', join(dataDir, 'log-g1')]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /one generation of the data directory .*shock log inspect .*data` shows every generation/);

    assert.equal((await adminCall(serve, '/admin/consumers/resume', 'POST')).status, 200);
    await waitUntil(async () => (await adminCall(serve, '/admin/reshard')).body.state === 'idle', 30_000);
    await waitUntil(async () => sinkLag(await inspectData(dataDir)) === 0, 30_000, 200);
    const after = await inspectData(dataDir);
    assert.deepEqual(
      after.generations.map((g) => [g.gen, g.state, g.retentionState, g.log === undefined]),
      [
        [0, 'retired', 'gone', true],
        [1, 'active', 'active', false],
      ],
    );
    assert.deepEqual(after.groups, [{ group: 'sink', lagTotal: 0, byGeneration: [{ gen: 1, lag: 0 }] }]);
  } finally {
    const stopped = await serve.stop('SIGTERM');
    assert.equal(stopped.code, 0, serve.output().stderr);
    t.cleanup();
  }
});
