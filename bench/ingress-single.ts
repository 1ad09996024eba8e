/**
 * Single-event ingest throughput: `POST /v1/events` with validation (ajv), murmur2 partitioning and a durable
 * append to the file log (202 only after fdatasync, group commit), as a ratio to a no-op node:http server that
 * reads the body and answers 202 — both driven by wrk in the same run. Goal: ratio ≥ 0.8. A second anchor, the work
 * floor, does only the per-event work; the gateway runs over the file log without its shared journal, then with it
 * (the default), so the journal's effect is measured in the same run.
 *
 * Run: node --import tsx bench/ingress-single.ts [durationSec=15] [connections=64]
 * Needs `wrk` on PATH (Debian: apt-get install wrk). The server runs in this process; wrk in its own.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { cpus, loadavg } from 'node:os';
import type { AddressInfo } from 'node:net';
import { EventWriter, isShockError, limits, systemClock } from '../src/base/index.js';
import { createGateway, EventIdGenerator, EventValidator, partitionForKey, sha256Hex } from '../src/ingress/index.js';
import { memberValueSpan } from '../src/ingress/raw-json.js';
import { openFileLog } from '../src/log/index.js';
import { tempDir } from '../test/helpers/cli.js';
import { postScript, runWrk } from './ingress-wrk.js';

const durationSec = Number(process.argv[2] ?? 15);
const connections = Number(process.argv[3] ?? 64);
const key = 'bench-key-0123456789';

/** 64 events over 64 keys (spread over the partitions), ~200 bytes each. */
const bodies = Array.from({ length: 64 }, (_, i) =>
  JSON.stringify({
    type: 'page.view',
    key: `user-${i}`,
    priority: 'normal',
    payload: {
      url: `https://example.com/products/${i}/detail`,
      referrer: 'https://example.com/search?q=shock+absorber',
    },
  }),
);

function noopHandler(req: IncomingMessage, res: ServerResponse): void {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(202, { 'content-type': 'application/json', 'content-length': 2 });
    res.end('{}');
  });
}

const schemas = {
  'page.view': {
    type: 'object',
    required: ['url'],
    properties: { url: { type: 'string', maxLength: 2048 }, referrer: { type: 'string', maxLength: 2048 } },
  },
};

/**
 * Second anchor, the work floor: the same node:http server doing the per-event work the gateway cannot skip —
 * JSON.parse, the gateway's own validators, an event id, the record encoding and murmur2 — and answering the same
 * 202 body, but with no log, no limits, no metrics. The gap between it and the no-op server is the cost of the
 * work itself; the gap between the gateway and it is the gateway's machinery and the durable append.
 */
function floorHandler(): (req: IncomingMessage, res: ServerResponse) => void {
  const validator = new EventValidator(schemas, limits);
  const ids = new EventIdGenerator(systemClock);
  const writer = new EventWriter();
  let offset = 0;
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const v = validator.validate(JSON.parse(body.toString('utf8')));
      if (isShockError(v)) {
        res.writeHead(400).end();
        return;
      }
      const span = memberValueSpan(body, 0, body.length, 'payload')!;
      const eventId = ids.next();
      const key = v.key ?? 'bench';
      const head = { event_id: eventId, tenant: 'bench', type: v.type, ts: Date.now(), priority: v.priority, key };
      const value = writer.spliced(head, body, span[0], span[1]);
      const partition = partitionForKey(writer.utf8(key), 8);
      const out = `{"event_id":"${eventId}","partition":${partition},"offset":${offset++}}`;
      res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': out.length });
      res.end(value.length > 0 ? out : '');
    });
  };
}

/** Process CPU (user + system, every thread, so the log's fsync threads too) in µs. */
function cpuUs(u: NodeJS.CpuUsage): number {
  return u.user + u.system;
}

async function listen(server: ReturnType<typeof createServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function main(): Promise<void> {
  const tmp = tempDir('shock-bench-single-');
  const script = postScript(tmp.dir, bodies, { 'content-type': 'application/json', authorization: `Bearer ${key}` });
  try {
    // Anchor: no-op node:http server.
    const noop = createServer({ keepAliveTimeout: 5000 }, noopHandler);
    const noopUrl = await listen(noop);
    await runWrk(noopUrl, script, { durationSec: 2, connections });
    let cpu = process.cpuUsage();
    const anchor = await runWrk(noopUrl, script, { durationSec, connections });
    const anchorCpuUs = cpuUs(process.cpuUsage(cpu)) / anchor.requests;
    await new Promise<void>((resolve) => noop.close(() => resolve()));
    noop.closeAllConnections();

    // Anchor 2: the work floor.
    const floor = createServer({ keepAliveTimeout: 5000 }, floorHandler());
    const floorUrl = await listen(floor);
    await runWrk(floorUrl, script, { durationSec: 2, connections });
    cpu = process.cpuUsage();
    const floorRun = await runWrk(floorUrl, script, { durationSec, connections });
    const floorCpuUs = cpuUs(process.cpuUsage(cpu)) / floorRun.requests;
    await new Promise<void>((resolve) => floor.close(() => resolve()));
    floor.closeAllConnections();

    // Subject: the gateway over a durable file log (8 partitions), with the log's shared journal (the default) and
    // without it (one fdatasync per partition round; docs/adr/004-shared-journal.md).
    const runGateway = async (journal: boolean) => {
      const log = await openFileLog({ dir: `${tmp.dir}/log-${journal}`, partitions: 8, journal });
      const gateway = createGateway({
        log,
        config: {
          tenants: [{ id: 'bench', keyHashes: [sha256Hex(key)], ratePerSec: 1e9, burst: 1e9 }],
          schemas,
        },
      });
      const { url } = await gateway.listen({ port: 0 });
      await runWrk(url + '/v1/events', script, { durationSec: 2, connections });
      const before = gateway.stats().acceptedEventsTotal;
      const cpu0 = process.cpuUsage();
      const run = await runWrk(url + '/v1/events', script, { durationSec, connections });
      const cpuUsPerRequest = cpuUs(process.cpuUsage(cpu0)) / run.requests;
      const durableEvents = gateway.stats().acceptedEventsTotal - before;
      const logStats = log.stats();
      await gateway.close({ drainMs: 5000 });
      await log.close();
      const rounds = logStats.partitions.reduce((sum, p) => sum + p.fsyncs, 0);
      const fdatasyncs = logStats.journal ? logStats.journal.syncs + rounds - logStats.journal.entries : rounds;
      return { run, cpuUsPerRequest, durableEvents, fdatasyncs };
    };
    const noJournal = await runGateway(false);
    const { run: subject, cpuUsPerRequest: subjectCpuUs, durableEvents, fdatasyncs } = await runGateway(true);

    const ratio = subject.requestsPerSec / anchor.requestsPerSec;
    const report = {
      benchmark: 'ingress-single',
      date: new Date().toISOString(),
      machine: `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}, Node ${process.version}`,
      loadAverage1m: loadavg()[0],
      durationSec,
      connections,
      anchor: {
        name: 'no-op node:http 202',
        requestsPerSec: anchor.requestsPerSec,
        cpuUsPerRequest: Math.round(anchorCpuUs),
        latency: anchor.latency,
      },
      floor: {
        name: 'work floor: node:http + JSON.parse + ajv + id + encode + murmur2, no log',
        requestsPerSec: floorRun.requestsPerSec,
        cpuUsPerRequest: Math.round(floorCpuUs),
        latency: floorRun.latency,
        ratioToNoop: Math.round((floorRun.requestsPerSec / anchor.requestsPerSec) * 1000) / 1000,
      },
      subject: {
        name: 'gateway: validate + murmur2 + durable append',
        requestsPerSec: subject.requestsPerSec,
        non2xx: subject.non2xx,
        socketErrors: subject.socketErrors,
        durableEvents,
        fdatasyncsPerRequest: Math.round((fdatasyncs / subject.requests) * 1000) / 1000,
        cpuUsPerRequest: Math.round(subjectCpuUs),
        latency: subject.latency,
      },
      withoutJournal: {
        name: 'the same gateway, file log with journal: false',
        requestsPerSec: noJournal.run.requestsPerSec,
        non2xx: noJournal.run.non2xx,
        durableEvents: noJournal.durableEvents,
        fdatasyncsPerRequest: Math.round((noJournal.fdatasyncs / noJournal.run.requests) * 1000) / 1000,
        cpuUsPerRequest: Math.round(noJournal.cpuUsPerRequest),
        latency: noJournal.run.latency,
        ratio: Math.round((noJournal.run.requestsPerSec / anchor.requestsPerSec) * 1000) / 1000,
      },
      ratio: Math.round(ratio * 1000) / 1000,
      ratioToFloor: Math.round((subject.requestsPerSec / floorRun.requestsPerSec) * 1000) / 1000,
      goal: 0.8,
    };
    console.log(JSON.stringify(report, null, 2));
    console.log(
      `ratio gateway/no-op = ${ratio.toFixed(3)} (goal >= 0.8); work floor/no-op = ${report.floor.ratioToNoop}; ` +
        `gateway/work floor = ${report.ratioToFloor}; without the journal ${report.withoutJournal.ratio}`,
    );
  } finally {
    tmp.cleanup();
  }
}

await main();
