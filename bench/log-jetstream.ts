/**
 * Append throughput of the JetStream log, beside its anchor in the same run: raw `js.publish` of the same 200-byte
 * payloads with the same concurrency to equivalent streams (file storage, one per partition), each awaiting its
 * PubAck — what nats.js gives with no log on top. The log adds per record: three headers (key, timestamp,
 * CRC-32C), the expected-last-sequence check (and, inside multi-record calls, the expected-last-msg-id chain), the
 * offset bookkeeping.
 *
 * Two shapes, each anchor → log → anchor (the anchor figure is the mean of its two runs, to cancel drift):
 *   - one-record appends: C concurrent appenders over P partitions, each awaiting its append before the next;
 *   - 100-record appends: C concurrent appenders, each call pipelining its 100 publishes.
 *
 * Run: node --import tsx bench/log-jetstream.ts [--servers nats://HOST:PORT] [--seconds S] [--concurrency C]
 * Without --servers it starts its own nats-server (test/helpers/nats.ts) on loopback with a temporary store.
 * Prints a table with records/s and the ratio log ÷ anchor, and a JSON line for BENCHMARKS.md.
 */
import { connect, StorageType, type JetStreamClient } from 'nats';
import { openJetStreamLog, type Log } from '../src/log/index.js';
import { startNatsServer, type NatsServer } from '../test/helpers/nats.js';

const args = process.argv.slice(2);
const argOf = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const seconds = Number(argOf('--seconds', '3'));
const concurrency = Number(argOf('--concurrency', '64'));
const PARTITIONS = 8;
const VALUE_BYTES = 200;
const BATCH_RECORDS = 100;
const payload = Buffer.alloc(VALUE_BYTES, 'x');

/** Runs `appender(i)` in `c` concurrent loops for the measured time; returns records/s. */
async function closedLoop(c: number, appender: (i: number) => Promise<number>): Promise<number> {
  let records = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: c }, async (_, i) => {
      while (performance.now() < until) {
        const n = await appender(i); // not `records += await …`: that reads `records` before the await
        records += n;
      }
    }),
  );
  return records / ((performance.now() - t0) / 1000);
}

async function rawStreams(js: JetStreamClient, prefix: string): Promise<void> {
  const jsm = await js.jetstreamManager();
  for (let p = 0; p < PARTITIONS; p++) {
    await jsm.streams.add({ name: `${prefix}_${p}`, subjects: [`${prefix}.${p}`], storage: StorageType.File });
  }
}

function rawOne(js: JetStreamClient, prefix: string) {
  let n = 0;
  return async (i: number) => {
    await js.publish(`${prefix}.${(i + n++) % PARTITIONS}`, payload);
    return 1;
  };
}

function rawBatch(js: JetStreamClient, prefix: string) {
  return async (i: number) => {
    const subject = `${prefix}.${i % PARTITIONS}`;
    await Promise.all(Array.from({ length: BATCH_RECORDS }, () => js.publish(subject, payload)));
    return BATCH_RECORDS;
  };
}

function logOne(log: Log) {
  let n = 0;
  const records = [{ key: Buffer.alloc(0), value: payload }];
  return async (i: number) => (await log.append((i + n++) % PARTITIONS, records)).count;
}

function logBatch(log: Log) {
  const records = Array.from({ length: BATCH_RECORDS }, () => ({ key: Buffer.alloc(0), value: payload }));
  return async (i: number) => (await log.append(i % PARTITIONS, records)).count;
}

async function main(): Promise<void> {
  let server: NatsServer | undefined;
  const servers = argOf('--servers', '') || (server = await startNatsServer()).url;
  const nc = await connect({ servers });
  const js = nc.jetstream();
  const log = await openJetStreamLog({ servers, partitions: PARTITIONS, streamPrefix: `bench${process.pid}` });
  try {
    const rawPrefix = `benchraw${process.pid}`;
    await rawStreams(js, rawPrefix);
    const rows: { shape: string; anchor: number; log: number; ratio: number }[] = [];
    const shapes = [
      { shape: `1-record appends, ${concurrency} concurrent`, c: concurrency, raw: rawOne, mine: logOne },
      { shape: `${BATCH_RECORDS}-record appends, 8 concurrent`, c: 8, raw: rawBatch, mine: logBatch },
    ];
    for (const s of shapes) {
      const a1 = await closedLoop(s.c, s.raw(js, rawPrefix));
      const l = await closedLoop(s.c, s.mine(log));
      const a2 = await closedLoop(s.c, s.raw(js, rawPrefix));
      const anchor = (a1 + a2) / 2;
      rows.push({ shape: s.shape, anchor, log: l, ratio: l / anchor });
      console.log(
        `${s.shape}: raw js.publish ${fmt(a1)} / ${fmt(a2)} records/s, JetStream log ${fmt(l)} records/s, ` +
          `ratio ${(l / anchor).toFixed(2)}`,
      );
    }
    console.log('\n| shape | raw js.publish (anchor) | JetStream log | log ÷ anchor |\n| --- | ---: | ---: | ---: |');
    for (const r of rows) console.log(`| ${r.shape} | ${fmt(r.anchor)} | ${fmt(r.log)} | ${r.ratio.toFixed(2)} |`);
    console.log(
      JSON.stringify({ bench: 'log-jetstream', valueBytes: VALUE_BYTES, partitions: PARTITIONS, seconds, rows }),
    );
  } finally {
    await log.close();
    await nc.close();
    await server?.cleanup();
  }
}

function fmt(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

await main();
