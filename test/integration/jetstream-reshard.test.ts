/**
 * Resharding is implemented for the file log only: on the JetStream engine the admin route and the CLI answer a
 * clear SHOCK_CELL_RESHARD_UNSUPPORTED (501) and change nothing, rather than doing something wrong. Skipped, saying
 * why, without nats-server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/cli.js';
import { adminCall, fetchStats, postEvent, startServe, testKeys, writeConfig } from '../helpers/cell-serve.js';
import { natsSkipReason, startNatsServer } from '../helpers/nats.js';

test(
  'serve jetstream reshard - the admin route and the CLI refuse with SHOCK_CELL_RESHARD_UNSUPPORTED',
  { skip: natsSkipReason(), timeout: 120_000 },
  async () => {
    const nats = await startNatsServer();
    const t = tempDir('shock-js-reshard-');
    const config = writeConfig(t.dir, {
      tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 100_000, burst: 100_000 }],
      log: { partitions: 2, engine: 'jetstream', jetstream: { servers: [nats.url], streamPrefix: 'rs' } },
      consumers: { workers: 1 },
    });
    const serve = await startServe(join(t.dir, 'data'), ['--config', config]);
    try {
      const post = await adminCall(serve, '/admin/reshard', 'POST', { partitions: 4 });
      assert.equal(post.status, 501);
      assert.equal(post.body.error.code, 'SHOCK_CELL_RESHARD_UNSUPPORTED');
      const get = await adminCall(serve, '/admin/reshard');
      assert.equal(get.status, 501);
      const cli = await runCli([
        'reshard',
        '--partitions',
        '4',
        '--admin',
        serve.adminUrl,
        '--data-dir',
        serve.dataDir,
      ]);
      assert.equal(cli.code, 69);
      assert.match(cli.stderr, /SHOCK_CELL_RESHARD_UNSUPPORTED/);
      // Nothing changed: ingest goes on with 2 partitions.
      const ev = await postEvent(serve.url, testKeys.acme.key, { type: 'page.view', payload: { url: '/x' } });
      assert.equal(ev.status, 202);
      const stats = await fetchStats(serve);
      assert.equal(stats.cell.partitions, 2);
      assert.equal(stats.reshard, undefined);
    } finally {
      assert.equal((await serve.stop('SIGTERM')).code, 0);
      await nats.cleanup();
      t.cleanup();
    }
  },
);
