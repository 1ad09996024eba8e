/**
 * Dead letters, end to end on a real `shock serve`: events a handler keeps failing on are listed by `shock dlq list`
 * (text, JSON, paging); replayed before the fix they fail again and come back at their new offset; replayed after
 * the fix they are handled and stored exactly once, and the dead-letter table empties. Usage errors and an
 * unreachable admin API fail with their codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli, tempDir } from '../helpers/cli.js';
import { postEvent, startServe, waitUntil, writeConfig } from '../helpers/cell-serve.js';

/** Fails (per event) every event whose url starts with /fail, until the file `fixed` exists beside the module. */
const handlerSource = `
import { existsSync } from 'node:fs';
const fixed = new URL('./fixed', import.meta.url);
export default async (events) =>
  events.map((e) =>
    String(e.payload.url).startsWith('/fail') && !existsSync(fixed) ? new Error('downstream refused ' + e.payload.url) : { url: e.payload.url },
  );
`;

async function dlq(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; json: any }> {
  const r = await runCli(['dlq', ...args], { timeoutMs: 60_000 });
  let json: unknown = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    // text output
  }
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, json };
}

test('serve dlq - list, replay before the fix (dead again), replay after the fix (stored once, table empty)', async () => {
  const t = tempDir('shock-serve-dlq-');
  const handler = join(t.dir, 'flaky.mjs');
  writeFileSync(handler, handlerSource);
  const config = writeConfig(t.dir, {
    limits: { consumeRetriesMax: 1, consumeBackoffBaseMs: 10, consumeBackoffMaxMs: 20, consumeBatchWaitMs: 5 },
  });
  const serve = await startServe(`${t.dir}/data`, [
    '--config',
    config,
    '--handler',
    handler,
    '--partitions',
    '2',
    '--consumers',
    '1',
  ]);
  const admin = ['--admin', serve.adminUrl, '--data-dir', serve.dataDir];
  const failing = ['f-1', 'f-2', 'f-3'];
  const good = ['g-1', 'g-2', 'g-3'];
  try {
    for (const [i, id] of [...failing, ...good].entries()) {
      const url = id.startsWith('f') ? `/fail/${i}` : `/ok/${i}`;
      const r = await postEvent(serve.url, serve.devKey, {
        event_id: id,
        key: `k${i}`,
        type: 'page.view',
        payload: { url },
      });
      assert.equal(r.status, 202);
    }
    await waitUntil(async () => (await dlq(['list', '--json', ...admin])).json?.total === 3, 30_000, 200);

    const listed = await dlq(['list', '--json', ...admin]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.json.deadLetters.map((d: any) => d.eventId).sort(), failing);
    for (const d of listed.json.deadLetters) {
      assert.match(d.error, /downstream refused \/fail/);
      assert.equal(d.event.event_id, d.eventId);
      assert.equal(d.event.type, 'page.view');
    }
    const text = await dlq(['list', ...admin]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /3 shown of 3 dead letters of group/);
    assert.match(text.stdout, /downstream refused/);
    // Paging: one at a time, following "next", visits all three in (partition, offset) order.
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: any = (await dlq(['list', '--json', '--limit', '1', ...(after ? ['--after', after] : []), ...admin]))
        .json;
      seen.push(...page.deadLetters.map((d: any) => `${d.partition}:${d.offset}`));
      after = page.next;
    } while (after !== null);
    assert.deepEqual(
      seen,
      listed.json.deadLetters.map((d: any) => `${d.partition}:${d.offset}`),
    );

    // Usage errors and an admin API that is not there.
    const none = await dlq(['replay', ...admin]);
    assert.equal(none.code, 64);
    assert.match(none.stderr, /SHOCK_CLI_USAGE/);
    const badKey = await dlq(['replay', '--key', 'x', ...admin]);
    assert.equal(badKey.code, 64);
    const away = await dlq(['list', '--admin', 'http://127.0.0.1:9']);
    assert.equal(away.code, 69);
    assert.match(away.stderr, /SHOCK_CLI_ADMIN_UNREACHABLE/);
    const badPartition = await dlq(['list', '--partition', '70000', ...admin]);
    assert.equal(badPartition.code, 64);
    assert.match(badPartition.stderr, /SHOCK_CELL_ADMIN_INVALID/);

    // Replayed before the fix: it fails again and comes back at its new offset.
    const first = listed.json.deadLetters[0];
    const early = await dlq(['replay', '--key', `${first.partition}:${first.offset}`, '--json', ...admin]);
    assert.equal(early.code, 0, early.stderr);
    assert.equal(early.json.replayed.length, 1);
    const copy = early.json.replayed[0];
    assert.equal(copy.eventId, first.eventId);
    assert.equal(copy.partition, first.partition, 'same key, same partition');
    assert.ok(copy.offset > first.offset);
    await waitUntil(
      async () =>
        (await dlq(['list', '--json', ...admin])).json?.deadLetters.some(
          (d: any) => d.eventId === first.eventId && d.offset === copy.offset,
        ),
      30_000,
      200,
    );
    const missing = await dlq(['replay', '--key', `${first.partition}:${first.offset}`, '--json', ...admin]);
    assert.deepEqual(missing.json.skipped, [
      { from: { partition: first.partition, offset: first.offset }, reason: 'no such dead letter' },
    ]);

    // Fixed: replay everything; each event is handled and stored once, the table empties.
    writeFileSync(join(t.dir, 'fixed'), '');
    const all = await dlq(['replay', '--all', ...admin]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /replayed 3 event\(s\)/);
    await waitUntil(async () => (await dlq(['list', '--json', ...admin])).json?.total === 0, 30_000, 200);
    const db = new Database(`${t.dir}/data/sink.sqlite`, { readonly: true });
    try {
      await waitUntil(
        () => (db.prepare('SELECT count(*) FROM results').pluck().get() as number) === failing.length + good.length,
        30_000,
        200,
      );
      const rows = db.prepare('SELECT event_id, result_json FROM results ORDER BY event_id').all() as {
        event_id: string;
        result_json: string;
      }[];
      assert.deepEqual(
        rows.map((r) => r.event_id),
        [...failing, ...good].sort(),
      );
      for (const r of rows)
        assert.match(JSON.parse(r.result_json).url, r.event_id.startsWith('f') ? /^\/fail/ : /^\/ok/);
    } finally {
      db.close();
    }
  } finally {
    assert.equal((await serve.stop('SIGTERM')).code, 0);
    t.cleanup();
  }
});
