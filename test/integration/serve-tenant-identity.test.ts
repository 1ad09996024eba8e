/**
 * An event is (tenant, event_id) end to end on a real `shock serve`: two tenants that send the same event id get two
 * 202s, and both events reach the handler (with their tenant), the sink (two rows) and, when they fail, the
 * dead-letter table (two rows); `shock log read` shows each record's identity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli, tempDir } from '../helpers/cli.js';
import { postEvent, startServe, testKeys, waitUntil, writeConfig } from '../helpers/cell-serve.js';

/** Stores what the handler was given; fails the events that ask to. */
const handlerSource = `
export default async (events) =>
  events.map((e) => (e.payload.fail === true ? new Error('refused') : { tenant: e.tenant, id: e.event_id }));
`;

test('serve tenant identity - the same event id from two tenants is two events: two rows, two dead letters', async () => {
  const t = tempDir('shock-serve-tenants-');
  const handler = join(t.dir, 'echo.mjs');
  writeFileSync(handler, handlerSource);
  const config = writeConfig(t.dir, {
    tenants: [
      { id: 'acme', keyHashes: [testKeys.acme.hash] },
      { id: 'globex', keyHashes: [testKeys.globex.hash] },
    ],
    log: { partitions: 1 },
    consumers: { workers: 1, handler },
  });
  const dataDir = join(t.dir, 'data');
  const cell = await startServe(dataDir, ['--config', config]);
  try {
    const answers = [];
    for (const key of [testKeys.acme.key, testKeys.globex.key]) {
      answers.push(await postEvent(cell.url, key, { type: 'generic', event_id: 'order-1', payload: {} }));
      answers.push(await postEvent(cell.url, key, { type: 'generic', event_id: 'order-2', payload: { fail: true } }));
    }
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.event_id, a.body.offset, a.body.duplicate ?? false]),
      [
        [202, 'order-1', 0, false],
        [202, 'order-2', 1, false],
        [202, 'order-1', 2, false],
        [202, 'order-2', 3, false],
      ],
    );
    // Consumed: two results and two dead letters (the sink's own tables, read while the cell runs).
    const sink = join(dataDir, 'sink.sqlite');
    await waitUntil(() => {
      if (!existsSync(sink)) return false;
      const db = new Database(sink, { readonly: true });
      try {
        const n = (table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
        return n('results') + n('dead_letters') === 4;
      } finally {
        db.close();
      }
    }, 60_000);
  } finally {
    const stopped = await cell.stop('SIGTERM');
    assert.equal(stopped.code, 0, cell.output().stderr);
  }
  try {
    const db = new Database(join(dataDir, 'sink.sqlite'), { readonly: true });
    try {
      const results = db
        .prepare(
          "SELECT tenant, event_id, log_offset, result_json FROM results WHERE consumer_group = 'sink' ORDER BY log_offset",
        )
        .all();
      assert.deepEqual(results, [
        { tenant: 'acme', event_id: 'order-1', log_offset: 0, result_json: '{"tenant":"acme","id":"order-1"}' },
        { tenant: 'globex', event_id: 'order-1', log_offset: 2, result_json: '{"tenant":"globex","id":"order-1"}' },
      ]);
      const dead = db
        .prepare(
          "SELECT tenant, event_id, log_offset FROM dead_letters WHERE consumer_group = 'sink' ORDER BY log_offset",
        )
        .all();
      assert.deepEqual(dead, [
        { tenant: 'acme', event_id: 'order-2', log_offset: 1 },
        { tenant: 'globex', event_id: 'order-2', log_offset: 3 },
      ]);
    } finally {
      db.close();
    }
    const read = await runCli(['log', 'read', join(dataDir, 'log'), '--partition', '0', '--json']);
    assert.equal(read.code, 0, read.stderr);
    const records = read.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { offset: number; tenant: string; eventId: string });
    assert.deepEqual(
      records.map((r) => [r.offset, r.tenant, r.eventId]),
      [
        [0, 'acme', 'order-1'],
        [1, 'acme', 'order-2'],
        [2, 'globex', 'order-1'],
        [3, 'globex', 'order-2'],
      ],
    );
    const text = await runCli(['log', 'read', join(dataDir, 'log'), '--partition', '0', '--limit', '1']);
    assert.match(text.stdout, /\ttenant="acme"\tevent_id="order-1"\tkey=/);
  } finally {
    t.cleanup();
  }
});
