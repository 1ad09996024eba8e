/**
 * Shedding on event-loop delay in a real `shock serve`, driven by the injected signal (`SHOCK_TEST_EVENT_LOOP_DELAY_MS`)
 * instead of by how busy the test machine happens to be (issue 12 item 9: a dashboard test was shed once under
 * load). Past capacity the cell sheds with `x-shock-shed: event_loop_delay`; a test's cell, which sees a delay of 0
 * unless it asks otherwise (test/helpers/cli.ts), never does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/cli.js';
import { fetchStats, postEvent, startServe, testKeys, writeConfig } from '../helpers/cell-serve.js';

const view = { type: 'page.view', payload: { url: '/' } };

function cellConfig(dir: string): string {
  return writeConfig(dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash], ratePerSec: 100_000, burst: 100_000 }],
    log: { partitions: 1 },
    consumers: { workers: 1 },
  });
}

test('serve shedding - an event-loop delay past capacity sheds a share 1 - 1/ratio of the events, marked event_loop_delay', async () => {
  const t = tempDir('shock-serve-shed-');
  // 300 ms against the default capacity of 200 ms: load ratio 1.5, a third of the events is shed, low and normal
  // before critical (only normal arrives here, so a third of it).
  const serve = await startServe(`${t.dir}/data`, ['--config', cellConfig(t.dir)], 30_000, {
    SHOCK_TEST_EVENT_LOOP_DELAY_MS: '300',
  });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await postEvent(serve.url, testKeys.acme.key, { ...view, event_id: `n-${i}` });
      statuses.push(r.status);
      if (r.status === 503) {
        assert.equal(r.body.error.code, 'SHOCK_INGRESS_SHED');
        assert.equal(r.headers.get('x-shock-shed'), 'event_loop_delay');
        assert.ok(Number(r.headers.get('retry-after')) >= 1);
      } else {
        assert.equal(r.status, 202, JSON.stringify(r.body));
      }
    }
    const shed = statuses.filter((s) => s === 503).length;
    assert.ok(shed > 0 && shed < 30, `some shed, some stored: ${statuses.join(' ')}`);
    const stats = await fetchStats(serve);
    assert.equal(stats.shedding.eventLoopDelayMs, 300);
    assert.equal(stats.shedding.loadRatio, 1.5);
    assert.equal(stats.shedding.reason, 'event_loop_delay');
    assert.equal(stats.shedding.shedTotal, shed);
  } finally {
    await serve.stop('SIGTERM');
    t.cleanup();
  }
});

test('serve shedding - a cell started by a test sees no event-loop delay, however busy the machine is', async () => {
  const t = tempDir('shock-serve-shed-quiet-');
  const serve = await startServe(`${t.dir}/data`, ['--config', cellConfig(t.dir)]);
  try {
    // Busy the cell's machine a little: the measured delay would move, the injected one does not.
    const posts = Array.from({ length: 200 }, (_, i) =>
      postEvent(serve.url, testKeys.acme.key, { ...view, event_id: `q-${i}`, priority: 'low' }),
    );
    const statuses = (await Promise.all(posts)).map((r) => r.status);
    assert.deepEqual(new Set(statuses), new Set([202]));
    const stats = await fetchStats(serve);
    assert.equal(stats.shedding.eventLoopDelayMs, 0);
    assert.equal(stats.shedding.shedTotal, 0);
  } finally {
    await serve.stop('SIGTERM');
    t.cleanup();
  }
});

test('serve shedding - an injected delay that is not a number of ms refuses to start', async () => {
  const t = tempDir('shock-serve-shed-bad-');
  try {
    const started = await startServe(`${t.dir}/data`, ['--config', cellConfig(t.dir)], 30_000, {
      SHOCK_TEST_EVENT_LOOP_DELAY_MS: 'soon',
    }).catch((err: Error) => err);
    if (!(started instanceof Error)) await started.stop('SIGTERM');
    assert.ok(started instanceof Error, 'the cell started');
    assert.match(started.message, /SHOCK_CONFIG_INVALID.*SHOCK_TEST_EVENT_LOOP_DELAY_MS must be a number of ms >= 0/);
  } finally {
    t.cleanup();
  }
});
