/**
 * The JetStream log when its nats-server dies: kill -9 mid-append, every later append rejects with a SHOCK_LOG_*
 * code within the request timeout (no hang); after a restart on the same store directory every append that had
 * resolved is readable at its offset, offsets are dense, committed consumer offsets are still there, and the log
 * that lived through it appends again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openJetStreamLog, type Log, type LogRecord } from '../../src/log/index.js';
import { natsSkipReason, startNatsServer } from '../helpers/nats.js';

const PARTITIONS = 3;
const APPENDERS = 6;
const RECORDS_PER_APPEND = 5;
const REQUEST_TIMEOUT_MS = 1500;

interface Resolved {
  partition: number;
  baseOffset: number;
  values: string[];
}

test(
  'jetstream log - kill -9 of the server mid-append: bounded rejections, then every resolved append is readable',
  { skip: natsSkipReason(), timeout: 120_000 },
  async () => {
    const server = await startNatsServer();
    let log: Log | undefined;
    let reader: Log | undefined;
    try {
      log = await openJetStreamLog({
        servers: server.url,
        partitions: PARTITIONS,
        streamPrefix: 'kill',
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
      });
      const resolved: Resolved[] = [];
      const rejected: { code: string; message: string }[] = [];
      let serial = 0;
      let killed = false;
      let committed: number | undefined;

      // Each appender keeps one append in flight until it has seen three rejections after the kill.
      const appender = async (id: number) => {
        let failuresAfterKill = 0;
        while (failuresAfterKill < 3) {
          const partition = (id + serial) % PARTITIONS;
          const values = Array.from({ length: RECORDS_PER_APPEND }, () => `r${serial++}`);
          const records = values.map((v) => ({ key: Buffer.from(`a${id}`), value: Buffer.from(v) }));
          try {
            const r = await log!.append(partition, records);
            resolved.push({ partition, baseOffset: r.baseOffset, values });
          } catch (err) {
            const e = err as { code: string; message: string };
            rejected.push({ code: e.code, message: e.message });
            if (killed) failuresAfterKill++;
            else throw err;
          }
        }
      };
      const killer = (async () => {
        while (resolved.length < 60) await log!.waitFor(0, log!.state(0).offsetEnd, 5000);
        const offset = log!.state(0).offsetEnd;
        await log!.offsets.commit('sink', 0, offset);
        committed = offset;
        killed = true;
        await server.kill();
      })();
      await Promise.all([killer, ...Array.from({ length: APPENDERS }, (_, i) => appender(i))]);

      assert.ok(rejected.length >= 3 * APPENDERS, 'every appender saw rejections after the kill');
      for (const r of rejected) {
        assert.match(r.code, /^SHOCK_LOG_(IO|APPEND_CONFLICT)$/, `a clear log error, got ${r.code}: ${r.message}`);
      }

      await server.restart();
      reader = await openJetStreamLog({ servers: server.url, partitions: PARTITIONS, streamPrefix: 'kill' });
      assert.equal(reader.offsets.get('sink', 0), committed, 'the committed offset survived the restart');
      for (let p = 0; p < PARTITIONS; p++) {
        const { offsetStart, offsetEnd } = reader.state(p);
        assert.equal(offsetStart, 0);
        const all: LogRecord[] = [];
        for (let o = 0; o < offsetEnd;) {
          const got = await reader.read(p, o);
          all.push(...got);
          o += got.length;
        }
        assert.deepEqual(
          all.map((r) => r.offset),
          Array.from({ length: offsetEnd }, (_, i) => i),
          'offsets are dense',
        );
        for (const r of resolved.filter((x) => x.partition === p)) {
          const stored = all.slice(r.baseOffset, r.baseOffset + r.values.length).map((x) => x.value.toString());
          assert.deepEqual(stored, r.values, `the append resolved at ${p}/${r.baseOffset} is readable there`);
        }
      }

      // The log that lived through the crash re-reads the end and appends after it (it reconnects on its own).
      let appended: { baseOffset: number } | undefined;
      for (let attempt = 0; attempt < 20 && !appended; attempt++) {
        appended = await log.append(1, [{ key: Buffer.alloc(0), value: Buffer.from('after') }]).catch(() => undefined);
      }
      assert.ok(appended, 'the surviving log appends again after the restart');
      const after = await reader.read(1, appended.baseOffset);
      assert.equal(after[0].value.toString(), 'after');
    } finally {
      await log?.close();
      await reader?.close();
      await server.cleanup();
    }
  },
);
