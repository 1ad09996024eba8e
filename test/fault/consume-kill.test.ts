import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { tempDir, repoRoot, tsxArgs } from '../helpers/cli.js';
import { appendEvents, testEvent, waitUntil } from '../helpers/consume-events.js';
import { openFileLog } from '../../src/log/index.js';
import { openSqliteSink, startConsumers } from '../../src/consume/index.js';
import Database from 'better-sqlite3';

const child = join(repoRoot, 'test/helpers/consume-child.ts');

/** Runs the consumer child; with `killAtBatch` it is SIGKILLed right after that batch's sink commit. */
function runChild(
  env: Record<string, string>,
  killOnCommit: boolean,
): Promise<{ line: string; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, tsxArgs(child), {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let line = '';
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /^(SINK_COMMITTED \d+|DONE .*)$/m.exec(out);
      if (m && !line) {
        line = m[1];
        if (killOnCommit && line.startsWith('SINK_COMMITTED')) proc.kill('SIGKILL');
      }
    });
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      if (!line) reject(new Error(`child ended (code ${code}, signal ${signal}) without a report: ${err}`));
      else resolve({ line, signal });
    });
  });
}

function sinkFacts(sinkPath: string): { rows: number; distinct: number; ids: Set<string> } {
  const db = new Database(sinkPath, { readonly: true });
  try {
    const ids = db.prepare("SELECT event_id FROM results WHERE consumer_group = 'g'").pluck().all() as string[];
    return { rows: ids.length, distinct: new Set(ids).size, ids: new Set(ids) };
  } finally {
    db.close();
  }
}

function committedOffset(dir: string): number {
  try {
    return JSON.parse(readFileSync(join(dir, 'offsets', 'g', '0.json'), 'utf8')).offset;
  } catch {
    return 0;
  }
}

test('consume kill - a process SIGKILLed between the sink commit and the offset commit redelivers, and the sink holds each event once', async () => {
  const tmp = tempDir('shock-consume-kill-');
  const dir = join(tmp.dir, 'log');
  const sinkPath = join(tmp.dir, 'sink.db');
  const events = 1000;
  try {
    // Three crashes at different batches, each exactly between the two commits.
    let previous = 0;
    let written = 0;
    for (const killAtBatch of [1, 3, 2]) {
      const r = await runChild(
        { DIR: dir, SINK: sinkPath, EVENTS: String(events), KILL_AT_BATCH: String(killAtBatch) },
        true,
      );
      assert.equal(r.signal, 'SIGKILL');
      const offsetNext = Number(r.line.split(' ')[1]);
      const committed = committedOffset(dir);
      assert.ok(
        committed < offsetNext,
        `the offset (${committed}) was not committed past the killed batch (${offsetNext})`,
      );
      assert.ok(committed >= previous, 'offsets only grow');
      previous = committed;
      const facts = sinkFacts(sinkPath);
      written = Math.max(written, offsetNext);
      assert.equal(
        facts.rows,
        written,
        `the sink holds the killed batch: its commit came first (${r.line}, committed ${committed})`,
      );
      assert.equal(facts.distinct, facts.rows);
    }
    const done = await runChild({ DIR: dir, SINK: sinkPath, EVENTS: String(events) }, false);
    const snap = JSON.parse(done.line.slice('DONE '.length));
    assert.ok(snap.eventsSkipped > 0, 'the killed batch was redelivered and recognised in the sink');
    assert.equal(snap.eventsInserted + snap.eventsSkipped + snap.eventsDuplicate, events - previous);
    const facts = sinkFacts(sinkPath);
    assert.equal(facts.rows, events, 'each event exactly once');
    assert.equal(facts.distinct, events);
    for (let i = 0; i < events; i++) assert.ok(facts.ids.has(testEvent(0, i).event_id));
    assert.equal(committedOffset(dir), events);
  } finally {
    tmp.cleanup();
  }
});

test('consume kill - a worker thread terminated in the middle of a batch is restarted and resumes from the committed offset', async () => {
  const tmp = tempDir('shock-consume-kill-');
  const log = await openFileLog({ dir: join(tmp.dir, 'log'), partitions: 2, logger: () => undefined });
  const sinkPath = join(tmp.dir, 'sink.db');
  const marker = join(tmp.dir, 'hang-once');
  const channel = new BroadcastChannel('shock-consume-test');
  try {
    for (let p = 0; p < 2; p++) {
      await appendEvents(
        log,
        p,
        Array.from({ length: 600 }, (_, i) => testEvent(p, i, p === 1 && i === 450 ? { hangOnceMarker: marker } : {})),
      );
    }
    const hanging = new Promise<{ partition: number }>((resolve) => {
      channel.onmessage = (m: MessageEvent) => resolve(m.data as { partition: number });
    });
    const sup = await startConsumers({
      log,
      group: 'g',
      workers: 2,
      handlerPath: join(repoRoot, 'test/helpers/consume-handler.ts'),
      sinkPath,
      limits: { consumeBatchRecordsMax: 100, consumeBatchWaitMs: 1, consumeBackoffBaseMs: 1 },
    });
    try {
      const h = await hanging;
      assert.equal(h.partition, 1);
      // Batches before the hanging one are committed (offset commits trail the sink by at most one batch).
      await waitUntil(
        () => sup.snapshot().partitions[1].offsetCommitted === 400,
        'the batches before the hang to commit',
      );
      const p1 = (await sup.stats()).partitions[1];
      const epochBefore = p1.epoch;
      await sup.kill(p1.worker);
      await waitUntil(async () => (await sup.stats()).totals.lagEvents === 0, 'the restarted worker to catch up');
      const after = await sup.stats();
      assert.equal(after.workers[1].restarts, 1);
      assert.ok(after.partitions[1].epoch > epochBefore, 'the restarted consumer claimed a newer epoch');
      assert.equal(after.partitions[0].offsetCommitted, 600);
      assert.equal(after.partitions[1].offsetCommitted, 600);
    } finally {
      await sup.stop();
    }
    const sink = openSqliteSink({ path: sinkPath });
    try {
      assert.deepEqual(sink.countResults('g'), { total: 1200, byPartition: { 0: 600, 1: 600 } });
    } finally {
      await sink.close();
    }
  } finally {
    channel.close();
    await log.close();
    tmp.cleanup();
  }
});
