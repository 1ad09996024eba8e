/**
 * `shock serve` start-up failures are clear and clean: a second cell on a port in use exits 69 with
 * SHOCK_CELL_LISTEN_FAILED, a second cell on a data directory in use exits with SHOCK_LOG_LOCKED, and the first
 * cell keeps serving. Zero-config prints the dev key and a curl line that works as printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { runCli, tempDir } from '../helpers/cli.js';
import { fetchStats, postEvent, request, startServe, waitUntil } from '../helpers/cell-serve.js';

test('serve startup - zero-config dev key works; a busy port or a locked data dir fails clearly, the first cell unharmed', async () => {
  const t = tempDir('shock-serve-start-');
  const first = await startServe(`${t.dir}/a`, ['--partitions', '2', '--consumers', '1']);
  try {
    assert.ok(first.devKey);
    assert.equal(readFileSync(`${t.dir}/a/dev-key`, 'utf8').trim(), first.devKey);
    const { stdout } = first.output();
    assert.match(stdout, /"curl":"curl -i http:\/\/127\.0\.0\.1:\d+\/v1\/events -H 'authorization: Bearer shock_dev_/);
    const ok = await postEvent(first.url, first.devKey, { type: 'page.view', payload: { url: '/hello' } });
    assert.equal(ok.status, 202);

    const port = new URL(first.url).port;
    const busy = await runCli(['serve', '--data-dir', `${t.dir}/b`, '--port', port, '--admin-port', '0'], {
      timeoutMs: 60_000,
    });
    assert.equal(busy.code, 69, busy.stderr);
    assert.match(busy.stderr, /SHOCK_CELL_LISTEN_FAILED/);

    const locked = await runCli(['serve', '--data-dir', `${t.dir}/a`, '--port', '0', '--admin-port', '0'], {
      timeoutMs: 60_000,
    });
    assert.notEqual(locked.code, 0);
    assert.match(locked.stderr, /SHOCK_LOG_LOCKED/);

    assert.equal((await request(`${first.url}/readyz`)).status, 200, 'the first cell still serves');
  } finally {
    assert.equal((await first.stop('SIGINT')).code, 0, 'SIGINT drains like SIGTERM');
    t.cleanup();
  }
});

test('serve startup - --handler runs the given module and its results land in the sink', async () => {
  const t = tempDir('shock-serve-handler-');
  const handler = `${t.dir}/upper.mjs`;
  writeFileSync(
    handler,
    'export default async (events) => events.map((e) => ({ shout: String(e.payload.url).toUpperCase() }));\n',
  );
  const serve = await startServe(`${t.dir}/data`, ['--partitions', '1', '--consumers', '1', '--handler', handler]);
  try {
    const r = await postEvent(serve.url, serve.devKey, {
      event_id: 'h-1',
      type: 'page.view',
      payload: { url: '/quiet' },
    });
    assert.equal(r.status, 202);
    await waitUntil(async () => (await fetchStats(serve)).consumers.consumedTotal >= 1);
  } finally {
    assert.equal((await serve.stop('SIGTERM')).code, 0);
  }
  const db = new Database(`${t.dir}/data/sink.sqlite`, { readonly: true });
  try {
    const row = db.prepare("SELECT result_json FROM results WHERE event_id = 'h-1'").get() as { result_json: string };
    assert.deepEqual(JSON.parse(row.result_json), { shout: '/QUIET' });
  } finally {
    db.close();
    t.cleanup();
  }
});
