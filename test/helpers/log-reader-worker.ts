/**
 * A worker thread that opens a read-only file log from the writer's shared state, waits for records of one
 * partition without polling, reads them, commits an offset, and posts what it saw. Used by the file log tests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openFileLogReader } from '../../src/log/index.js';

const { dir, partitions, shared, partition, count, group } = workerData as {
  dir: string;
  partitions: number;
  shared: SharedArrayBuffer;
  partition: number;
  count: number;
  group: string;
};

const log = await openFileLogReader({ dir, partitions, shared });
const seen: { offset: number; value: string }[] = [];
let next = log.offsets.get(group, partition);
parentPort!.postMessage({ ready: true });
const deadline = Date.now() + 20_000;
while (seen.length < count && Date.now() < deadline) {
  const end = await log.waitFor(partition, next, 1000);
  if (end <= next) continue;
  for (const r of await log.read(partition, next, { recordsMax: 7 })) {
    seen.push({ offset: r.offset, value: r.value.toString() });
    next = r.offset + 1;
  }
  await log.offsets.commit(group, partition, next);
}
let appendCode: string | undefined;
try {
  await log.append(partition, []);
} catch (err) {
  appendCode = (err as { code?: string }).code;
}
await log.close();
parentPort!.postMessage({ seen, appendCode, committed: next });
