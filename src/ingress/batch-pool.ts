/**
 * Batch workers: large batch bodies are split, parsed, validated and encoded (`prepareBatch`) on worker threads,
 * so a cell uses more than one core for batch ingestion and a big batch does not hold the event loop that answers
 * every other request. The gateway's thread keeps everything that reads shared state — token buckets, shedding,
 * dedupe, the breaker, the appends and the answer — so the results are the same as inline preparation, record for
 * record.
 *
 * - Workers start on the first large batch, not with the gateway; until one is ready, and whenever all are busy
 *   (`tasksPerWorkerMax` in flight each), the gateway prepares the batch itself. A worker never queues work the
 *   gateway's thread could do sooner.
 * - A body goes to a worker as a copy; the results come back as plain arrays plus the slabs holding the encoded
 *   records and keys, transferred (not copied).
 * - Event ids a worker assigns come from its own generator: they are unique and sort in arrival order per worker,
 *   not across the gateway's threads.
 * - New schemas (`reload`) reach every worker before any batch sent after them.
 * - A worker that dies fails its batches in flight over to inline preparation; the next large batch starts a new one.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker, type Limits, type Priority, priorities, type ShockError, type ErrorCode } from '../base/index.js';
import type { Principal } from './auth.js';
import type { BodyFormat } from './body.js';
import type { BatchRejection, Prepared, PreparedBatch, RecordFailure } from './prepare.js';
import { rejection } from './rejection.js';

/** Options of the batch workers. */
export interface BatchPoolOptions {
  /** Worker threads; 0 prepares every batch on the gateway's thread. */
  workers: number;
  /** Bodies of at least this many bytes go to a worker; smaller ones cost less inline than the hand-off. */
  bytesMin: number;
}

/** What a worker is started with. */
export interface BatchWorkerInit {
  schemas: Readonly<Record<string, object>>;
  limits: Readonly<Limits>;
}

/** One batch for a worker. */
export interface BatchTask {
  id: number;
  body: Uint8Array;
  format: BodyFormat;
  tenant: string;
  types: string[] | null;
  partitions: number;
  receivedAtMs: number;
}

/** A ShockError as it crosses the thread boundary. */
interface WireError {
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
}

/** A prepared batch as it crosses the thread boundary (see `toWire`). */
export interface WireBatch {
  id: number;
  rejection: (WireError & { records: number }) | null;
  eventIds: Array<string | undefined>;
  failures: Array<WireError | null>;
  /** Per record: bit 0 the client supplied the id; bits 1–2 the priority's index in `priorities`. */
  flags: Uint8Array;
  partition: Int32Array;
  partitionsAt: number;
  /** Per record: key slab, key start, key end, value slab, value start, value end. */
  spans: Int32Array;
  slabs: ArrayBuffer[];
}

/** Messages to a worker. */
export type ToBatchWorker = { type: 'batch'; task: BatchTask } | { type: 'schemas'; schemas: Record<string, object> };

/** Messages from a worker. */
export type FromBatchWorker = { type: 'ready' } | { type: 'batch'; batch: WireBatch };

/** Batches one worker may hold (one running, the rest queued) before the gateway prepares more itself. */
const tasksPerWorkerMax = 4;

function toWireError(err: ShockError): WireError {
  return { code: err.code, message: err.message, details: err.details };
}

/** Packs a prepared batch for `postMessage`; the slabs go in the transfer list. */
export function toWire(id: number, result: PreparedBatch | BatchRejection): WireBatch {
  if ('err' in result) {
    const rejection = { ...toWireError(result.err), records: result.records };
    return {
      id,
      rejection,
      eventIds: [],
      failures: [],
      flags: new Uint8Array(0),
      partition: new Int32Array(0),
      partitionsAt: 0,
      spans: new Int32Array(0),
      slabs: [],
    };
  }
  const n = result.prepared.length;
  const eventIds = new Array<string | undefined>(n);
  const failures = new Array<WireError | null>(n).fill(null);
  const flags = new Uint8Array(n);
  const partition = new Int32Array(n);
  const spans = new Int32Array(6 * n);
  const slabs: ArrayBuffer[] = [];
  const slabIndex = new Map<ArrayBufferLike, number>();
  const slabOf = (b: Buffer): number => {
    let i = slabIndex.get(b.buffer);
    if (i === undefined) {
      i = slabs.length;
      slabs.push(b.buffer as ArrayBuffer);
      slabIndex.set(b.buffer, i);
    }
    return i;
  };
  let partitionsAt = 0;
  for (let i = 0; i < n; i++) {
    const f = result.failures[i];
    if (f !== null) {
      failures[i] = toWireError(f.err);
      eventIds[i] = f.eventId;
      continue;
    }
    const p = result.prepared[i]!;
    eventIds[i] = p.eventId;
    flags[i] = (p.clientId ? 1 : 0) | (priorities.indexOf(p.priority) << 1);
    partition[i] = p.partition;
    partitionsAt = p.partitionsAt;
    const k = 6 * i;
    spans[k] = slabOf(p.keyBytes);
    spans[k + 1] = p.keyBytes.byteOffset;
    spans[k + 2] = p.keyBytes.byteOffset + p.keyBytes.length;
    spans[k + 3] = slabOf(p.value);
    spans[k + 4] = p.value.byteOffset;
    spans[k + 5] = p.value.byteOffset + p.value.length;
  }
  return { id, rejection: null, eventIds, failures, flags, partition, partitionsAt, spans, slabs };
}

function fromWireError(e: WireError): ShockError {
  return rejection(e.code, e.message, e.details);
}

/** Unpacks a worker's prepared batch: the same `PreparedBatch` inline preparation returns. */
export function fromWire(w: WireBatch): PreparedBatch | BatchRejection {
  if (w.rejection !== null) return { err: fromWireError(w.rejection), records: w.rejection.records };
  const n = w.eventIds.length;
  const prepared = new Array<Prepared | null>(n).fill(null);
  const failures = new Array<RecordFailure | null>(n).fill(null);
  let valid = 0;
  for (let i = 0; i < n; i++) {
    const f = w.failures[i];
    if (f !== null) {
      failures[i] = { err: fromWireError(f), eventId: w.eventIds[i] };
      continue;
    }
    const k = 6 * i;
    const s = w.spans;
    prepared[i] = {
      eventId: w.eventIds[i]!,
      clientId: (w.flags[i] & 1) === 1,
      priority: priorities[w.flags[i] >> 1] as Priority,
      keyBytes: Buffer.from(w.slabs[s[k]], s[k + 1], s[k + 2] - s[k + 1]),
      value: Buffer.from(w.slabs[s[k + 3]], s[k + 4], s[k + 5] - s[k + 4]),
      partition: w.partition[i],
      partitionsAt: w.partitionsAt,
    };
    valid += 1;
  }
  return { prepared, failures, valid };
}

interface PoolWorker {
  worker: Worker;
  ready: boolean;
  inFlight: Map<number, (result: PreparedBatch | BatchRejection | null) => void>;
}

/** The gateway's batch workers. */
export class BatchPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 1;
  private schemas: Readonly<Record<string, object>>;
  private closed = false;

  constructor(
    readonly options: BatchPoolOptions,
    init: BatchWorkerInit,
  ) {
    this.schemas = init.schemas;
    this.limits = init.limits;
  }

  private readonly limits: Readonly<Limits>;

  /** Workers ready to take a batch now. */
  get readyWorkers(): number {
    return this.workers.filter((w) => w.ready).length;
  }

  /**
   * Prepares `body` on a worker: the result, or null when the batch should be prepared inline (too small, no worker
   * ready yet, all busy, or the worker died meanwhile).
   */
  submit(
    body: Buffer,
    format: BodyFormat,
    principal: Principal,
    partitions: number,
    receivedAtMs: number,
  ): Promise<PreparedBatch | BatchRejection | null> | null {
    if (this.closed || this.options.workers === 0 || body.length < this.options.bytesMin) return null;
    this.fill();
    let best: PoolWorker | undefined;
    for (const w of this.workers) {
      if (
        w.ready &&
        w.inFlight.size < tasksPerWorkerMax &&
        (best === undefined || w.inFlight.size < best.inFlight.size)
      )
        best = w;
    }
    if (best === undefined) return null;
    const chosen = best;
    const id = this.nextId++;
    // A copy of exactly the body (it may be a view of a larger socket buffer), handed over without a second copy.
    const copy = new Uint8Array(body);
    const task: BatchTask = {
      id,
      body: copy,
      format,
      tenant: principal.tenant,
      types: principal.types === null ? null : [...principal.types],
      partitions,
      receivedAtMs,
    };
    return new Promise((resolve) => {
      chosen.inFlight.set(id, resolve);
      chosen.worker.postMessage({ type: 'batch', task } satisfies ToBatchWorker, [copy.buffer]);
    });
  }

  /** New schemas for every worker, before any batch sent after this call. */
  reload(schemas: Readonly<Record<string, object>>): void {
    this.schemas = schemas;
    for (const w of this.workers) w.worker.postMessage({ type: 'schemas', schemas } satisfies ToBatchWorker);
  }

  /** Ends the workers; batches still in flight fall back to inline preparation. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => this.retire(w)));
  }

  /** Starts workers up to the configured count. */
  private fill(): void {
    while (this.workers.length < this.options.workers) {
      const init: BatchWorkerInit = { schemas: this.schemas, limits: this.limits };
      const worker = startWorker(import.meta.url, './batch-worker', init);
      const w: PoolWorker = { worker, ready: false, inFlight: new Map() };
      worker.unref();
      worker.on('message', (m: FromBatchWorker) => {
        if (m.type === 'ready') {
          w.ready = true;
          return;
        }
        const resolve = w.inFlight.get(m.batch.id);
        if (resolve === undefined) return;
        w.inFlight.delete(m.batch.id);
        resolve(fromWire(m.batch));
      });
      const gone = (): void => {
        const i = this.workers.indexOf(w);
        if (i !== -1) this.workers.splice(i, 1);
        void this.retire(w);
      };
      worker.on('error', gone);
      worker.on('exit', gone);
      this.workers.push(w);
    }
  }

  private async retire(w: PoolWorker): Promise<void> {
    w.ready = false;
    for (const resolve of w.inFlight.values()) resolve(null);
    w.inFlight.clear();
    await w.worker.terminate();
  }
}
