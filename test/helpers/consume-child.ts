/**
 * A child process for the consumer crash tests: opens the file log in DIR (the writer), appends EVENTS test events
 * to partition 0 when the log is empty, then consumes partition 0 into the SQLite sink at SINK.
 *
 * With KILL_AT_BATCH=k it announces `SINK_COMMITTED <offsetNext>` on stdout right after the sink transaction of
 * its k-th batch and then waits forever — before the offset commit — so the test can SIGKILL it at exactly that
 * point. Without it, it consumes to the end and prints `DONE <json snapshot>`.
 *
 * Usage: node --import tsx test/helpers/consume-child.ts   (configured by the environment variables above)
 */
import { openFileLog } from '../../src/log/index.js';
import { PartitionConsumer, openSqliteSink } from '../../src/consume/index.js';
import { appendEvents, testEvent } from './consume-events.js';
import testHandler from './consume-handler.js';

const dir = process.env.DIR!;
const sinkPath = process.env.SINK!;
const events = Number(process.env.EVENTS ?? '0');
const killAtBatch = Number(process.env.KILL_AT_BATCH ?? '0');

const log = await openFileLog({ dir, partitions: 1, logger: () => undefined });
if (log.state(0).offsetEnd === 0 && events > 0) {
  await appendEvents(
    log,
    0,
    Array.from({ length: events }, (_, i) => testEvent(0, i)),
  );
}
const sink = openSqliteSink({ path: sinkPath });
let batches = 0;
const consumer = new PartitionConsumer({
  log,
  sink,
  handler: testHandler,
  group: 'g',
  partition: 0,
  limits: { consumeBatchRecordsMax: 100, consumeBatchWaitMs: 1 },
  onSinkCommitted: async ({ offsetNext }) => {
    batches++;
    if (batches === killAtBatch) {
      process.stdout.write(`SINK_COMMITTED ${offsetNext}\n`);
      await new Promise(() => undefined);
    }
  },
});
await consumer.start();
const end = log.state(0).offsetEnd;
while (consumer.snapshot().offsetCommitted < end)
  await log.waitFor(0, end, 1000).then(() => new Promise((r) => setTimeout(r, 10)));
await consumer.stop();
process.stdout.write(`DONE ${JSON.stringify(consumer.snapshot())}\n`);
await sink.close();
await log.close();
