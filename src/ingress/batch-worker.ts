/**
 * The entry point of a batch worker thread (`batch-pool.ts`): prepares the batches it is sent with its own
 * validators, event id generator and slabs, and answers each with the packed result, its slabs transferred.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EventWriter, systemClock } from '../base/index.js';
import { toWire, type BatchWorkerInit, type FromBatchWorker, type ToBatchWorker } from './batch-pool.js';
import { EventIdGenerator } from './event-id.js';
import { prepareBatch } from './prepare.js';
import { EventValidator } from './validate.js';

const port = parentPort;
if (port === null) throw new Error('the batch worker must run as a worker thread');
const init = workerData as BatchWorkerInit;
let validator = new EventValidator(init.schemas, init.limits);
const ids = new EventIdGenerator(systemClock);

port.on('message', (m: ToBatchWorker) => {
  if (m.type === 'schemas') {
    validator = new EventValidator(m.schemas, init.limits);
    return;
  }
  const t = m.task;
  // A writer per batch: its slabs are handed over with the answer and never written again here.
  // Sized for the batch: its records, plus the stored fields of ~200-byte events (no slab of unused external memory).
  const ctx = { validator, ids, writer: new EventWriter(2 * t.body.length + 4096), limits: init.limits };
  const principal = { tenant: t.tenant, disabled: false, types: t.types === null ? null : new Set(t.types) };
  const body = Buffer.from(t.body.buffer, t.body.byteOffset, t.body.length);
  const batch = toWire(t.id, prepareBatch(ctx, t.partitions, principal, body, t.format, t.receivedAtMs));
  port.postMessage({ type: 'batch', batch } satisfies FromBatchWorker, batch.slabs);
});
port.postMessage({ type: 'ready' } satisfies FromBatchWorker);
