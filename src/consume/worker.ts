/**
 * The entry point of a consumer worker — a worker thread or a child process, the same code for both. It opens a
 * read-only reader of the log, its own connection to the sink, loads the handler, and runs one `PartitionConsumer`
 * per assigned partition. It reports progress after every commit and ends on `stop` (after the batches in flight).
 * Partitions come and go while it runs (`add`, `remove`: a consumer group whose members share partitions by leases).
 *
 * A consumer that fails (the sink or the offset store keeps failing) ends the whole worker with an error: the
 * supervisor restarts it and every partition resumes from its committed offset. A fenced consumer ends alone and
 * is reported (`exit` with reason `fenced`): the supervisor gives the partition up.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { Log } from '../log/index.js';
import { openFileLogReader, openJetStreamLog } from '../log/index.js';
import { PartitionConsumer } from './consumer.js';
import { loadHandler, type Handler } from './handler.js';
import { INIT_ENV, toWire, type FromWorker, type ToWorker, type WorkerInit } from './protocol.js';
import { openRelayedReader } from './relay.js';
import { openSink } from './sink-choice.js';

interface Channel {
  send(message: FromWorker): void;
  onMessage(listener: (message: ToWorker) => void): void;
  /** Lets the worker end once its work is done. */
  close(): void;
}

/** The link to the supervisor. Messages that arrive before a listener is set are kept for it, in order. */
function channel(): Channel {
  let listener: ((m: ToWorker) => void) | undefined;
  const early: ToWorker[] = [];
  const deliver = (m: ToWorker) => (listener ? listener(m) : early.push(m));
  const onMessage = (l: (m: ToWorker) => void) => {
    listener = l;
    for (const m of early.splice(0)) l(m);
  };
  if (parentPort) {
    const port = parentPort;
    port.on('message', deliver);
    return { send: (m) => port.postMessage(m), onMessage, close: () => port.close() };
  }
  if (process.send) {
    process.on('message', (m) => deliver(m as ToWorker));
    return { send: (m) => process.send?.(m), onMessage, close: () => process.disconnect?.() };
  }
  throw new Error('the consumer worker must run as a worker thread or a forked child process');
}

async function main(): Promise<void> {
  const ch = channel();
  const init = initOf();
  lowerPriority(init.niceness);
  const { log, publish, closeRelay } = await openLog(init);
  // The configured `limits.consumeSinkBusyTimeoutMs` (a cell's `limits` section), not only the built-in default.
  const sink = await openSink(init.sink, init.durability, init.limits.consumeSinkBusyTimeoutMs);
  const handler = withDelay(await loadHandler(init.handlerPath), init.handlerDelayMs);
  const consumers = new Map<number, PartitionConsumer>();
  /** Per partition, the last add or remove: the next one waits for it (a remove never overtakes a claim). */
  const chains = new Map<number, Promise<void>>();
  let stopping = false;
  let crashed: (err: unknown) => void = () => undefined;
  const crash = new Promise<never>((_, reject) => (crashed = reject));

  const create = (partition: number, paused: boolean): PartitionConsumer => {
    const consumer = new PartitionConsumer({
      log,
      sink,
      handler,
      group: init.group,
      partition,
      limits: init.limits,
      onProgress: (progress) => ch.send({ t: 'progress', progress }),
      onSkip: (skip) => ch.send({ t: 'skip', skip }),
    });
    if (paused) consumer.pause();
    consumers.set(partition, consumer);
    return consumer;
  };
  /** Reports how a started consumer ends; a failure ends the whole worker (the supervisor restarts it). */
  const follow = (c: PartitionConsumer): void => {
    void c.done.then((exit) => {
      if (consumers.get(c.partition) === c && exit.reason !== 'stopped') consumers.delete(c.partition);
      ch.send({
        t: 'exit',
        partition: c.partition,
        reason: exit.reason,
        error: 'error' in exit ? toWire(exit.error) : undefined,
      });
      if (exit.reason === 'failed' && !stopping) crashed((exit as { error: unknown }).error);
    });
  };
  const serially = (partition: number, step: () => Promise<void>): void => {
    const next = (chains.get(partition) ?? Promise.resolve()).then(step);
    chains.set(partition, next);
  };
  const add = (partition: number, paused: boolean) =>
    serially(partition, async () => {
      if (stopping || consumers.has(partition)) return ch.send({ t: 'added', partition });
      const c = create(partition, paused);
      try {
        await c.start();
      } catch (err) {
        consumers.delete(partition);
        return ch.send({ t: 'added', partition, error: toWire(err) });
      }
      follow(c);
      ch.send({ t: 'added', partition });
    });
  const remove = (partition: number) =>
    serially(partition, async () => {
      const c = consumers.get(partition);
      consumers.delete(partition);
      await c?.stop();
      ch.send({ t: 'removed', partition });
    });
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    await Promise.all([...chains.values()]);
    await Promise.all([...consumers.values()].map((c) => c.stop()));
    await sink.close();
    await log.close();
    closeRelay();
    ch.send({ t: 'stopped' });
    ch.close();
  };

  for (const partition of init.assigned) create(partition, init.paused.includes(partition));
  ch.onMessage((m) => {
    if (m.t === 'pause') for (const p of m.partitions) consumers.get(p)?.pause();
    else if (m.t === 'resume') for (const p of m.partitions) consumers.get(p)?.resume();
    else if (m.t === 'range') publish(m.partition, m.offsetStart, m.offsetEnd);
    else if (m.t === 'add') add(m.partition, m.paused);
    else if (m.t === 'remove') remove(m.partition);
    else if (m.t === 'stop') void stopAll();
  });
  for (const c of [...consumers.values()]) await c.start();
  ch.send({ t: 'ready' });
  for (const c of [...consumers.values()]) follow(c);
  await crash;
}

/**
 * Lowers this worker's scheduling priority to `niceness`. On Linux a nice value belongs to a thread and
 * `setpriority(PRIO_PROCESS, 0)` changes only the calling one: in thread mode the worker thread, in process mode
 * the worker process's main thread. Elsewhere it would renice the whole process, so a thread worker leaves it.
 * Raising a nice value needs no privilege; a failure is reported and ignored (the worker runs at normal priority).
 */
function lowerPriority(niceness: number): void {
  if (niceness === 0 || (parentPort !== null && process.platform !== 'linux')) return;
  try {
    setPriority(niceness);
  } catch (err) {
    process.stderr.write(`consumer worker: could not set nice ${niceness}: ${(err as Error).message}\n`);
  }
}

/** Thread mode: `workerData.init`. Process mode: JSON in the environment variable `SHOCK_CONSUMER_INIT`. */
function initOf(): WorkerInit {
  const fromThread = (workerData as { init?: WorkerInit } | null)?.init;
  if (fromThread) return fromThread;
  const fromEnv = process.env[INIT_ENV];
  if (fromEnv === undefined) throw new Error(`the consumer worker needs workerData.init or ${INIT_ENV}`);
  return JSON.parse(fromEnv) as WorkerInit;
}

async function openLog(
  init: WorkerInit,
): Promise<{ log: Log; publish: (p: number, start: number, end: number) => void; closeRelay: () => void }> {
  if (init.source?.engine === 'jetstream') {
    const log = await openJetStreamLog(init.source.options);
    return { log, publish: () => undefined, closeRelay: () => undefined };
  }
  if (init.shared) {
    const log = await openFileLogReader({ dir: init.dir, partitions: init.partitions, shared: init.shared });
    return { log, publish: () => undefined, closeRelay: () => undefined };
  }
  const ranges = init.ranges ?? Array.from({ length: init.partitions }, (): [number, number] => [0, 0]);
  const relayed = await openRelayedReader(init.dir, init.partitions, ranges);
  return { log: relayed.log, publish: relayed.publish, closeRelay: relayed.close };
}

function withDelay(handler: Handler, delayMs: number): Handler {
  if (delayMs <= 0) return handler;
  return async (events, ctx) => {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return handler(events, ctx);
  };
}

main().catch((err: unknown) => {
  // Report, then end with the error: the supervisor sees the exit and restarts this worker.
  try {
    if (parentPort) parentPort.postMessage({ t: 'fatal', error: toWire(err) } satisfies FromWorker);
    else process.send?.({ t: 'fatal', error: toWire(err) } satisfies FromWorker);
  } finally {
    process.exitCode = 1;
    setImmediate(() => {
      throw err;
    });
  }
});
