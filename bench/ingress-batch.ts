/**
 * Batch ingestion: durable events/s through `POST /v1/events/batch` (JSON arrays of 200-byte events, validated,
 * partitioned, appended with one call per partition, 202 after fdatasync), as a ratio to the same machine's ceiling
 * for only parsing and validating those events in this process (`JSON.parse` + the gateway's ajv validators),
 * measured in the same run. Goal: ratio ≥ 0.5. Two subjects: the gateway's thread alone (`batchWorkers.workers: 0`)
 * and the gateway with its default batch workers (src/ingress/batch-pool.ts).
 *
 * Run: node --import tsx bench/ingress-batch.ts [durationSec=15] [batchRecords=100] [connections=16]
 * Needs `wrk` on PATH (Debian: apt-get install wrk).
 */
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { EventValidator, createGateway } from '../src/ingress/index.js';
import { limits } from '../src/base/index.js';
import { openFileLog } from '../src/log/index.js';
import { tempDir } from '../test/helpers/cli.js';
import { benchEvent, benchGatewayConfig, benchKey, benchSchemas, postScript, runWrk } from './ingress-wrk.js';

const durationSec = Number(process.argv[2] ?? 15);
const batchRecords = Number(process.argv[3] ?? 100);
const connections = Number(process.argv[4] ?? 16);
const key = benchKey;
const schemas = benchSchemas;
const event = benchEvent;

const bodies = Array.from(
  { length: 8 },
  (_, b) => '[' + Array.from({ length: batchRecords }, (_, i) => event(i, b)).join(',') + ']',
);

/** Ceiling: JSON.parse + ajv validation of the same batch bodies, on this thread, for `seconds`. */
function parseValidateCeiling(seconds: number): number {
  const validator = new EventValidator(schemas, limits);
  let events = 0;
  const end = performance.now() + seconds * 1000;
  let k = 0;
  while (performance.now() < end) {
    const batch = JSON.parse(bodies[k++ % bodies.length]) as unknown[];
    for (const e of batch) {
      if ('code' in (validator.validate(e) as object)) throw new Error('bench event is invalid');
    }
    events += batch.length;
  }
  return events / seconds;
}

interface Subject {
  name: string;
  eventsPerSec: number;
  cpuUsPerEvent: number;
  requestsPerSec: number;
  non2xx: number;
  rejectedEvents: number;
  preparedOnWorker: number;
  preparedInline: number;
  socketErrors: string;
  latency: string;
  ratio: number;
}

/** One gateway over a fresh 8-partition file log, driven by wrk: durable events/s and process CPU per event. */
async function measure(dir: string, workers: number | undefined, ceiling: number, journal = true): Promise<Subject> {
  mkdirSync(dir, { recursive: true });
  const log = await openFileLog({ dir: dir + '/log', partitions: 8, journal });
  const gateway = createGateway({
    log,
    config: benchGatewayConfig({ batchWorkers: workers === undefined ? undefined : { workers } }),
  });
  const { url } = await gateway.listen({ port: 0 });
  const script = postScript(dir, bodies, { 'content-type': 'application/json', authorization: `Bearer ${key}` });
  await runWrk(url + '/v1/events/batch', script, { durationSec: 2, connections });
  const before = gateway.stats();
  const t0 = performance.now();
  const cpu = process.cpuUsage();
  const run = await runWrk(url + '/v1/events/batch', script, { durationSec, connections });
  const cpuUsed = process.cpuUsage(cpu);
  const elapsedSec = (performance.now() - t0) / 1000;
  const after = gateway.stats();
  await gateway.close({ drainMs: 5000 });
  await log.close();
  const durable = after.acceptedEventsTotal - before.acceptedEventsTotal;
  const eventsPerSec = durable / elapsedSec;
  return {
    name:
      `gateway batch, ${after.batchWorkers.workers} batch worker(s): validate + murmur2 + durable append` +
      (journal ? '' : ' (log without the journal)'),
    eventsPerSec: Math.round(eventsPerSec),
    cpuUsPerEvent: Math.round(((cpuUsed.user + cpuUsed.system) / durable) * 100) / 100,
    requestsPerSec: run.requestsPerSec,
    non2xx: run.non2xx,
    rejectedEvents: after.rejectedEventsTotal - before.rejectedEventsTotal,
    preparedOnWorker: after.batchWorkers.preparedOnWorkerTotal - before.batchWorkers.preparedOnWorkerTotal,
    preparedInline: after.batchWorkers.preparedInlineTotal - before.batchWorkers.preparedInlineTotal,
    socketErrors: run.socketErrors,
    latency: run.latency,
    ratio: Math.round((eventsPerSec / ceiling) * 1000) / 1000,
  };
}

async function main(): Promise<void> {
  const tmp = tempDir('shock-bench-batch-');
  try {
    parseValidateCeiling(1); // warm-up
    const ceiling = parseValidateCeiling(5);
    // The gateway's thread alone, then with the batch workers of its default configuration.
    const inline = await measure(tmp.dir + '/inline', 0, ceiling);
    const workers = await measure(tmp.dir + '/workers', undefined, ceiling);
    // The default (batch workers) over a log without its shared journal (docs/adr/004-shared-journal.md).
    const noJournal = await measure(tmp.dir + '/no-journal', undefined, ceiling, false);
    console.log(
      JSON.stringify(
        {
          benchmark: 'ingress-batch',
          date: new Date().toISOString(),
          machine: `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}, Node ${process.version}`,
          loadAverage1m: loadavg()[0],
          durationSec,
          batchRecords,
          eventBytes: bodies[0].length / batchRecords,
          connections,
          anchor: {
            name: 'JSON.parse + ajv, one thread',
            eventsPerSec: Math.round(ceiling),
            cpuUsPerEvent: Math.round((1e6 / ceiling) * 100) / 100,
          },
          subjects: [inline, workers, noJournal],
          goal: 0.5,
        },
        null,
        2,
      ),
    );
    console.log(
      `ratio durable/ceiling: gateway thread only ${inline.ratio.toFixed(3)}, with batch workers ${workers.ratio.toFixed(3)}, ` +
        `the same without the journal ${noJournal.ratio.toFixed(3)} (goal >= 0.5)`,
    );
  } finally {
    tmp.cleanup();
  }
}

await main();
