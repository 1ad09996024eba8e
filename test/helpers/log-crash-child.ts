/**
 * Child process of the crash tests: opens the file log in DIR (recovering it), then appends from many concurrent
 * appenders forever and prints one line per append acknowledged as durable:
 *   `A <partition> <baseOffset> <count> <run> <appender> <seq>`
 * Record i of that append has the value `recordValue(run, appender, seq + i)`. stdout is a pipe, whose writes are
 * synchronous on Linux, so a printed line survives the SIGKILL the test sends at a random moment.
 * Usage: node --import tsx test/helpers/log-crash-child.ts DIR RUN (the tests run it bundled by esbuild)
 */
import { openFileLog } from '../../src/log/index.js';
import { CRASH_LOG_OPTIONS, recordValue } from './log-crash.js';

const [dir, runText] = process.argv.slice(2);
const run = Number(runText);
const log = await openFileLog({ dir, ...CRASH_LOG_OPTIONS });
process.stdout.write(`READY ${log.state(0).offsetEnd} ${log.state(1).offsetEnd}\n`);

async function appender(id: number): Promise<void> {
  for (let seq = 0; ;) {
    const partition = (id + seq) % CRASH_LOG_OPTIONS.partitions;
    const count = 1 + (seq % 3);
    const records = Array.from({ length: count }, (_, i) => ({
      key: Buffer.from(`k${id}`),
      value: Buffer.from(recordValue(run, id, seq + i)),
    }));
    const { baseOffset } = await log.append(partition, records);
    process.stdout.write(`A ${partition} ${baseOffset} ${count} ${run} ${id} ${seq}\n`);
    seq += count;
  }
}

await Promise.all(Array.from({ length: 16 }, (_, id) => appender(id)));
