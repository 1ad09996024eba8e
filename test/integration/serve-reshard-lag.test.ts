/**
 * Consumer lag during a reshard, on a real `shock serve`: the old generation's backlog is part of the lag a user
 * reads. With the consumers held back, 40 events wait in generation 0 (4 partitions) when the cell reshards to 8,
 * and 10 more are accepted into generation 1. Then `shock_consumer_lag` sums to 50 — the active generation's series
 * `{group, partition}` hold 10, the draining generation's `{group, partition, generation="0"}` hold 40 —
 * `shock_consumer_lag_seconds` shows the old events' age, `/v1/stats` counts all 50 (and lists the old partitions
 * after the active ones), and `shock_log_generation_lag` agrees per generation. Once the consumers resume, all of it
 * falls to 0 and the old generation's series are gone with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/cli.js';
import { adminCall, fetchMetrics, fetchStats, postEvent, startServe, waitUntil } from '../helpers/cell-serve.js';

interface Series {
  labels: Record<string, string>;
  value: number;
}

/** The samples of one metric in Prometheus text. */
function series(text: string, name: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of m[1].matchAll(/(\w+)="([^"]*)"/g)) labels[pair[1]] = pair[2];
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

const sum = (s: Series[]) => s.reduce((a, x) => a + x.value, 0);

test('serve reshard lag - the draining generation counts in shock_consumer_lag and /v1/stats, then falls to 0', async () => {
  const t = tempDir('shock-reshard-lag-');
  const serve = await startServe(`${t.dir}/data`, ['--partitions', '4', '--consumers', '1']);
  try {
    const post = async (n: number, from: number) => {
      for (let i = from; i < from + n; i++) {
        const r = await postEvent(serve.url, serve.devKey, {
          type: 'page.view',
          key: `k${i}`,
          payload: { url: `/${i}` },
        });
        assert.equal(r.status, 202, JSON.stringify(r.body));
      }
    };
    assert.equal((await adminCall(serve, '/admin/consumers/pause', 'POST')).status, 200);
    await post(40, 0);
    const reshard = await adminCall(serve, '/admin/reshard', 'POST', { partitions: 8 });
    assert.equal(reshard.status, 200, reshard.text);
    await post(10, 40);

    // Lag in events is read at each request (50 at once); lag in seconds comes from the once-a-second sample: wait
    // for one taken while the events wait.
    let stats: any;
    await waitUntil(async () => {
      stats = await fetchStats(serve);
      return stats.consumers.lagEvents === 50 && stats.consumers.lagSecondsMax > 0;
    }, 15_000);
    assert.equal(stats.reshard.state, 'draining');
    const parts = stats.consumers.partitions as { partition: number; generation: number; lagEvents: number }[];
    assert.equal(parts.length, 8 + 4, 'the active generation’s partitions, then the draining one’s');
    parts.slice(0, 8).forEach((p, i) => assert.deepEqual([p.partition, p.generation], [i, 1]));
    parts.slice(8).forEach((p, i) => assert.deepEqual([p.partition, p.generation], [i, 0]));
    assert.equal(
      parts.slice(0, 8).reduce((a, p) => a + p.lagEvents, 0),
      10,
    );
    assert.equal(
      parts.slice(8).reduce((a, p) => a + p.lagEvents, 0),
      40,
    );
    assert.ok(stats.consumers.lagSecondsMax > 0);
    assert.deepEqual(
      stats.reshard.generations.map((g: { gen: number; lagEvents: number }) => [g.gen, g.lagEvents]),
      [
        [0, 40],
        [1, 10],
      ],
    );

    const metrics = await fetchMetrics(serve);
    const lag = series(metrics, 'shock_consumer_lag');
    assert.equal(sum(lag), 50, 'sum(shock_consumer_lag) counts both generations');
    const active = lag.filter((s) => s.labels.generation === undefined);
    const draining = lag.filter((s) => s.labels.generation !== undefined);
    assert.equal(active.length, 8);
    assert.ok(
      active.every((s) => Object.keys(s.labels).sort().join() === 'group,partition'),
      'label set kept',
    );
    assert.equal(sum(active), 10);
    assert.equal(draining.length, 4);
    assert.ok(draining.every((s) => s.labels.generation === '0' && s.labels.group === 'sink'));
    assert.equal(sum(draining), 40);
    const seconds = series(metrics, 'shock_consumer_lag_seconds');
    assert.ok(
      seconds.some((s) => s.labels.generation === '0' && s.value > 0),
      'the old events have an age',
    );
    assert.equal(series(metrics, 'shock_consumer_offset_committed').length, 12);
    const perGeneration = series(metrics, 'shock_log_generation_lag');
    assert.deepEqual(
      perGeneration.map((s) => [s.labels.generation, s.value]),
      [
        ['0', 40],
        ['1', 10],
      ],
    );

    assert.equal((await adminCall(serve, '/admin/consumers/resume', 'POST')).status, 200);
    await waitUntil(async () => {
      const s = await fetchStats(serve);
      return s.reshard.state === 'idle' && s.consumers.lagEvents === 0 && s.consumers.partitions.length === 8;
    }, 30_000);
    const after = await fetchMetrics(serve);
    const lagAfter = series(after, 'shock_consumer_lag');
    assert.equal(sum(lagAfter), 0);
    assert.equal(lagAfter.length, 8);
    assert.ok(
      lagAfter.every((s) => s.labels.generation === undefined),
      'the retired generation’s series are gone',
    );
    assert.ok(series(after, 'shock_consumer_lag_seconds').every((s) => s.value === 0));
  } finally {
    assert.equal((await serve.stop('SIGTERM')).code, 0);
    t.cleanup();
  }
});
