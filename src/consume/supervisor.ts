/**
 * The supervisor: one active consumer per partition (partition affinity), partitions spread round-robin over N
 * consumer workers — worker threads by default, child processes on request.
 *
 * - **Restarts.** A worker that dies (a crash, an uncaught error, a hard kill) is restarted after a backoff that
 *   doubles from `consumeBackoffBaseMs` up to `consumeRestartBackoffMaxMs`; its partitions resume from their
 *   committed offsets, and whatever the dead worker had written to the sink but not committed is redelivered and
 *   absorbed by the sink.
 * - **Fencing.** Each start of a partition's consumer claims a new epoch in the sink; the sink rejects writes of
 *   older epochs inside its own transaction, so a worker the supervisor believes dead can never write again. A
 *   fenced consumer is reported (`fenced`); in a group with a membership the partition goes back to the leases.
 * - **A dynamic partition set.** `addPartition` starts consuming a partition (a new epoch, from the committed
 *   offset) on the least loaded worker; `removePartition` finishes its batch in flight, writes and commits it, and
 *   stops it. With a `membership` (a consumer group spread over processes, ../log/leases.ts) the set starts empty
 *   and follows the leases this process holds; without one it is every partition given, for the supervisor's life.
 * - **Pause/resume** per partition or all; **graceful stop**: every consumer finishes its batch in flight, writes
 *   and commits it, and the workers exit (terminated after `consumeStopTimeoutMs` if they do not).
 * - **Stats** per partition (`ConsumerStats`): offsets, lag in events and seconds, rate, counters.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { limits as defaultLimits, shockError, startWorker, type Limits } from '../base/index.js';
import type { FileLog, GroupMember, GroupMemberCallbacks, Log, MembershipStats } from '../log/index.js';
import { loadHandler } from './handler.js';
import type { PartitionProgress } from './consumer.js';
import {
  INIT_ENV,
  toWire,
  type FromWorker,
  type LogSource,
  type ToWorker,
  type WireError,
  type WorkerInit,
} from './protocol.js';
import { relayRanges } from './relay.js';
import { adoptTenants } from './adopt-tenants.js';
import { openSink, type SinkChoice } from './sink-choice.js';
import {
  RateWindow,
  type ConsumerError,
  type ConsumerStats,
  type PartitionConsumerStats,
  type WorkerStats,
} from './stats.js';

/** Options of `startConsumers`. */
export interface StartConsumersOptions {
  /** The cell's open file log (the writer); workers read it through `shareState()`. Any `Log` with `source`. */
  log: FileLog | Log;
  /** Workers open this log themselves (e.g. JetStream) instead of reading the file log `log`. */
  source?: LogSource;
  /** The consumer group: offsets, sink rows and epochs are kept per group. */
  group: string;
  /** Which partitions to consume: a count (0..n−1) or a list. Default: every partition of the log. */
  partitions?: number | readonly number[];
  /** Consumer workers (default: min(partitions, available cores)). */
  workers?: number;
  /** `thread` (default) or `process`. */
  mode?: 'thread' | 'process';
  /** The handler module (default: the built-in `examples/handlers/count-by-type.js`). */
  handlerPath?: string;
  /** Each handler call waits this long first: a slow downstream for the lab (default 0). */
  handlerDelayMs?: number;
  /**
   * Nice value (0–19) of each worker's thread (process mode: of the worker process), so the ingress it shares cores
   * with is scheduled first (default 0: no change). The cell sets 10; see docs/consume.md, Scheduling.
   */
  niceness?: number;
  /** The sink: SQLite by path, or PostgreSQL by URL. Give this or `sinkPath`. */
  sink?: SinkChoice;
  /** The SQLite sink file (shorthand for `sink: { engine: 'sqlite', path }`). */
  sinkPath?: string;
  /** Sink durability (default `full`; see `openSqliteSink`). */
  durability?: 'full' | 'normal';
  /** Start with every partition paused. */
  paused?: boolean;
  /** Overrides of the consume limits. */
  limits?: Partial<Limits>;
  /** What happens to workers (crashes, restarts, fencing), for the cell's log. */
  onEvent?: (event: SupervisorEvent) => void;
  /**
   * Share the partitions with the other processes of the group: the supervisor joins the group once its workers
   * run, consumes only the partitions whose lease it holds (`partitions` is then the set it may be given), and
   * leaves the group at `stop`. Absent: every partition of `partitions`, for the supervisor's life.
   */
  membership?: GroupMembership;
}

/** How a supervisor joins its consumer group (an engine's leases, e.g. JetStream KV; the face: ../log/leases.ts). */
export interface GroupMembership {
  join(callbacks: GroupMemberCallbacks): Promise<GroupMember>;
}

/** Something the supervisor reports. */
export interface SupervisorEvent {
  level: 'info' | 'warn' | 'error';
  /**
   * What happened, for machine readers (the cell's `--json` lines): `worker_restart` (a worker ended on an error
   * and is restarted), `worker_restart_failed`, `retention_skip` (a consumer jumped over records retention removed),
   * `fenced`, `worker_stop_timeout`, `lag_read_failed`.
   */
  kind: SupervisorEventKind;
  message: string;
  details?: Record<string, unknown>;
}

export type SupervisorEventKind =
  'worker_restart' | 'worker_restart_failed' | 'retention_skip' | 'fenced' | 'worker_stop_timeout' | 'lag_read_failed';

/** The running consumers. */
export interface ConsumerSupervisor {
  readonly group: string;
  /** The figures now, with the time lag freshly read (one record per lagging partition). */
  stats(): Promise<ConsumerStats>;
  /** The figures now without I/O for the time lag (the last value `stats()` measured). */
  snapshot(): ConsumerStats;
  /** Pauses one partition, or all. The batch in flight completes; the partition stays owned. */
  pause(partition?: number): void;
  resume(partition?: number): void;
  /** Graceful stop: batches in flight are written and committed, the workers exit. Idempotent. */
  stop(): Promise<void>;
  /** Ends a worker at once, as a crash would (tests and operators); the supervisor restarts it. */
  kill(worker: number): Promise<void>;
  /**
   * Starts consuming `partition` on the least loaded worker: claims a new epoch in the sink and resumes at the
   * committed offset. Resolves once claimed (or once the worker's restart will claim it). A no-op when consumed.
   */
  addPartition(partition: number): Promise<void>;
  /** Finishes the partition's batch in flight, writes and commits it, stops; resolves then. A no-op when not consumed. */
  removePartition(partition: number): Promise<void>;
}

/** The built-in example handler shipped with the package. */
export const defaultHandlerPath = fileURLToPath(new URL('../../examples/handlers/count-by-type.js', import.meta.url));

/**
 * Starts the consumers. Validates first (the handler loads and has the right shape, the sink opens), then starts
 * the workers and resolves once every partition is claimed. Errors: SHOCK_CONSUME_HANDLER_INVALID, SHOCK_SINK_*,
 * SHOCK_CONSUME_WORKER_FAILED (a worker died before it was ready), SHOCK_CONFIG_INVALID.
 */
export async function startConsumers(options: StartConsumersOptions): Promise<ConsumerSupervisor> {
  const partitions = partitionList(options);
  const workersWanted = options.workers ?? Math.min(partitions.length, availableParallelism());
  if (!Number.isInteger(workersWanted) || workersWanted < 1) {
    throw shockError('SHOCK_CONFIG_INVALID', `workers must be a whole number ≥ 1, got ${workersWanted}`, {
      workers: workersWanted,
    });
  }
  checkLogSource(options);
  const handlerPath = options.handlerPath ?? defaultHandlerPath;
  await loadHandler(handlerPath);
  const sink = await openSink(sinkChoiceOf(options), options.durability);
  try {
    // A sink migrated from schema version 1: its result rows get their tenant from the log before any consumer runs.
    await adoptTenants(sink, options.group, options.log, partitions);
  } finally {
    await sink.close();
  }
  const initial = options.membership ? [] : partitions;
  const workers = Math.min(workersWanted, partitions.length);
  const supervisor = new Supervisor(options, partitions, initial, workers, handlerPath);
  await supervisor.start();
  if (options.membership) {
    try {
      await supervisor.joinGroup(options.membership);
    } catch (err) {
      await supervisor.stop();
      throw err;
    }
  }
  return supervisor;
}

/** Without a `source`, workers read the writer's file log: `log` must be one. */
function checkLogSource(options: Pick<StartConsumersOptions, 'log' | 'source'>): void {
  if (options.source === undefined && !('shareState' in options.log)) {
    throw shockError('SHOCK_CONFIG_INVALID', 'consumers of a log other than the file log need a `source` to open');
  }
}

/** The sink of `options`: exactly one of `sink` and `sinkPath`. */
function sinkChoiceOf(options: Pick<StartConsumersOptions, 'sink' | 'sinkPath'>): SinkChoice {
  if ((options.sink === undefined) === (options.sinkPath === undefined)) {
    throw shockError('SHOCK_CONFIG_INVALID', 'give the consumers exactly one of sink and sinkPath', {
      sink: options.sink?.engine,
      sinkPath: options.sinkPath,
    });
  }
  return options.sink ?? { engine: 'sqlite', path: options.sinkPath! };
}

function partitionList(options: StartConsumersOptions): number[] {
  const all = options.log.partitions;
  const given = options.partitions ?? all;
  const list = typeof given === 'number' ? Array.from({ length: given }, (_, i) => i) : [...given];
  const bad = list.filter((p) => !Number.isInteger(p) || p < 0 || p >= all);
  if (bad.length > 0 || list.length === 0 || new Set(list).size !== list.length) {
    throw shockError('SHOCK_CONFIG_INVALID', `partitions must be distinct numbers in [0, ${all - 1}]`, {
      partitions: list,
      invalid: bad,
    });
  }
  return list.sort((a, b) => a - b);
}

/** One worker slot: its partitions, and the thread or process now running them. */
interface Slot {
  index: number;
  partitions: number[];
  stats: WorkerStats;
  handle: WorkerHandle | undefined;
  /** Consecutive failures since the last progress (drives the restart backoff). */
  failures: number;
  restartTimer: NodeJS.Timeout | undefined;
}

/** Per partition: the latest progress of the running consumer, plus totals carried over from dead ones. */
interface PartitionBook {
  worker: number;
  latest: PartitionProgress | undefined;
  carried: Counters;
  paused: boolean;
  state: PartitionConsumerStats['state'];
  rate: RateWindow;
  lagSeconds: number;
}

type Counters = Pick<
  PartitionConsumerStats,
  | 'eventsConsumed'
  | 'eventsInserted'
  | 'eventsDuplicate'
  | 'eventsSkipped'
  | 'deadLetters'
  | 'retries'
  | 'sinkRetries'
  | 'removedBeforeConsumed'
>;
const counterNames: (keyof Counters)[] = [
  'eventsConsumed',
  'eventsInserted',
  'eventsDuplicate',
  'eventsSkipped',
  'deadLetters',
  'retries',
  'sinkRetries',
  'removedBeforeConsumed',
];

class Supervisor implements ConsumerSupervisor {
  readonly group: string;
  /** The partitions this supervisor may consume (sorted). */
  private readonly allowed: ReadonlySet<number>;
  private member: GroupMember | undefined;
  /** Counters of partitions given up, so totals never go down. */
  private readonly released: Counters = zeroCounters();
  /** Per partition, the last add or remove in progress: the next waits for it. */
  private readonly chains = new Map<number, Promise<void>>();
  /** Answers awaited from workers: `add:<p>` / `remove:<p>`. */
  private readonly pending = new Map<string, { slot: Slot; settle: (error?: WireError) => void }>();
  /** Whether every partition, also one added later, starts paused (the admin API's pause of all). */
  private pausedAll: boolean;
  private fencedTotal = 0;
  private readonly limits: Limits;
  private readonly slots: Slot[] = [];
  private readonly books = new Map<number, PartitionBook>();
  private readonly mode: 'thread' | 'process';
  private state: ConsumerStats['state'] = 'running';
  private stopPromise: Promise<void> | undefined;
  private readonly relayStop = new AbortController();
  /** Worker ends that led to a restart, by reason (a `SHOCK_*` code or `crash`), and the last one's error. */
  private readonly restartsByReason: Record<string, number> = {};
  private lastError: ConsumerError | null = null;

  constructor(
    private readonly options: StartConsumersOptions,
    allowed: number[],
    partitions: number[],
    workers: number,
    private readonly handlerPath: string,
  ) {
    this.group = options.group;
    this.allowed = new Set(allowed);
    this.pausedAll = options.paused === true;
    this.limits = { ...defaultLimits, ...options.limits };
    this.mode = options.mode ?? 'thread';
    for (let i = 0; i < workers; i++) {
      const mine = partitions.filter((_, k) => k % workers === i);
      this.slots.push({
        index: i,
        partitions: mine,
        stats: { index: i, id: undefined, state: 'starting', partitions: mine, restarts: 0, lastError: undefined },
        handle: undefined,
        failures: 0,
        restartTimer: undefined,
      });
      for (const p of mine) this.books.set(p, this.newBook(i));
    }
  }

  private newBook(worker: number): PartitionBook {
    return {
      worker,
      latest: undefined,
      carried: zeroCounters(),
      paused: this.pausedAll,
      state: 'starting',
      rate: new RateWindow(this.limits.consumeRateWindowMs),
      lagSeconds: 0,
    };
  }

  /** Joins the group: from here on the leases this process holds decide what it consumes. */
  async joinGroup(membership: GroupMembership): Promise<void> {
    this.member = await membership.join({
      acquired: (p) => this.addPartition(p),
      revoked: (p) => this.removePartition(p),
    });
  }

  addPartition(partition: number): Promise<void> {
    if (!this.allowed.has(partition)) {
      return Promise.reject(
        shockError('SHOCK_CONFIG_INVALID', `partition ${partition} is not one group ${this.group} may consume here`, {
          partition,
          partitions: [...this.allowed],
        }),
      );
    }
    return this.serially(partition, () => this.addNow(partition));
  }

  removePartition(partition: number): Promise<void> {
    return this.serially(partition, () => this.removeNow(partition));
  }

  /** Runs `step` after the partition's previous add or remove. */
  private serially(partition: number, step: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(partition) ?? Promise.resolve()).then(step);
    const tail = next.catch(() => undefined);
    this.chains.set(partition, tail);
    void tail.then(() => {
      if (this.chains.get(partition) === tail) this.chains.delete(partition);
    });
    return next;
  }

  private async addNow(partition: number): Promise<void> {
    if (this.books.has(partition) || this.state !== 'running') return;
    const slot = this.slots.reduce((a, b) => (b.partitions.length < a.partitions.length ? b : a));
    slot.partitions = [...slot.partitions, partition].sort((a, b) => a - b);
    const book = this.newBook(slot.index);
    this.books.set(partition, book);
    // A worker (re)starting now gets the partition in its start message, or answers the `add` when it already has it.
    const error = await this.ask(slot, { t: 'add', partition, paused: book.paused }, `add:${partition}`);
    if (error) {
      this.forget(partition);
      throw Object.assign(new Error(error.message), { code: error.code, details: error.details });
    }
  }

  private async removeNow(partition: number): Promise<void> {
    const book = this.books.get(partition);
    if (!book) return;
    const slot = this.slots[book.worker];
    // Off the slot first: a worker that dies meanwhile restarts without it.
    slot.partitions = slot.partitions.filter((p) => p !== partition);
    await this.ask(slot, { t: 'remove', partition }, `remove:${partition}`);
    this.forget(partition);
  }

  /** Drops a partition from the books and its slot; its counters stay in the totals. */
  private forget(partition: number): void {
    const book = this.books.get(partition);
    if (!book) return;
    for (const k of counterNames) this.released[k] += book.carried[k] + (book.latest?.[k] ?? 0);
    this.books.delete(partition);
    const slot = this.slots[book.worker];
    slot.partitions = slot.partitions.filter((p) => p !== partition);
  }

  /** Sends `message` to the slot's worker and waits for its answer; no worker running: nothing to wait for. */
  private ask(slot: Slot, message: ToWorker, key: string): Promise<WireError | undefined> {
    const handle = slot.handle;
    if (!handle) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.pending.set(key, { slot, settle: resolve });
      handle.send(message);
    });
  }

  /** A worker answered, or ended: settles what waited for it. */
  private settle(key: string, error?: WireError): void {
    const waiting = this.pending.get(key);
    if (!waiting) return;
    this.pending.delete(key);
    waiting.settle(error);
  }

  /** A fenced consumer: the partition is no longer consumed here; under leases it goes back to the group, lost. */
  private dropFenced(partition: number): void {
    this.fencedTotal++;
    if (!this.member) return;
    const member = this.member;
    void this.serially(partition, async () => {
      const book = this.books.get(partition);
      if (book?.state === 'fenced') this.forget(partition);
    }).then(() => member.surrender(partition).catch(() => undefined));
  }

  async start(): Promise<void> {
    try {
      await Promise.all(this.slots.map((s) => this.launch(s)));
    } catch (err) {
      await this.stop();
      throw err;
    }
    if (this.mode === 'process' && this.options.source === undefined) {
      relayRanges(
        this.options.log,
        [...this.allowed],
        (partition, offsetStart, offsetEnd) => {
          const book = this.books.get(partition);
          if (book) this.slots[book.worker].handle?.send({ t: 'range', partition, offsetStart, offsetEnd });
        },
        this.relayStop.signal,
        this.limits.consumeIdleWaitMs,
      );
    }
  }

  /** Starts the slot's worker; resolves when it reports ready, rejects if it dies first. */
  private launch(slot: Slot): Promise<void> {
    const init = this.initFor(slot);
    const handle = this.mode === 'thread' ? threadWorker(init) : processWorker(init);
    slot.handle = handle;
    slot.stats.id = handle.id;
    slot.stats.state = 'starting';
    return new Promise((resolve, reject) => {
      let ready = false;
      let fatal: WireError | undefined;
      handle.onMessage((m) => {
        if (m.t === 'ready') {
          ready = true;
          slot.stats.state = 'running';
          resolve();
        } else if (m.t === 'fatal') fatal = m.error;
        else if (m.t === 'stopped')
          void handle.kill(); // all closed: end it now rather than after its idle timers
        else this.onWorkerMessage(slot, m);
      });
      handle.onExit((code, error) => {
        const atMs = Date.now();
        const reason = fatal?.message ?? error?.message ?? `exit code ${code}`;
        if (handle !== slot.handle) return;
        slot.handle = undefined;
        slot.stats.id = undefined;
        this.retire(slot);
        // Adds are claimed again by the restart; removes have nothing left running.
        for (const [key, waiting] of [...this.pending]) if (waiting.slot === slot) this.settle(key);
        if (!ready) {
          reject(
            shockError(
              'SHOCK_CONSUME_WORKER_FAILED',
              `consumer worker ${slot.index} ended before it was ready: ${reason}`,
              {
                worker: slot.index,
                partitions: slot.partitions,
                code: fatal?.code,
                details: fatal?.details,
              },
            ),
          );
          // A first start that fails fails `startConsumers`; a restart that fails is retried with backoff.
          if (slot.stats.restarts === 0) return;
        }
        if (this.state !== 'running') {
          slot.stats.state = 'stopped';
          return;
        }
        slot.stats.lastError = reason;
        const errorCode = fatal?.code ?? error?.code;
        this.scheduleRestart(slot, {
          code: errorCode ?? null,
          reason: restartReason(errorCode),
          message: reason,
          atMs,
          at: new Date(atMs).toISOString(),
          worker: slot.index,
          partitions: [...slot.partitions],
        });
      });
    });
  }

  private initFor(slot: Slot): WorkerInit {
    const { log, source } = this.options;
    const file = source === undefined ? (log as FileLog) : undefined;
    return {
      dir: file?.dir ?? '',
      partitions: log.partitions,
      source,
      shared: file && this.mode === 'thread' ? file.shareState() : undefined,
      ranges:
        file && this.mode === 'process'
          ? Array.from({ length: log.partitions }, (_, p): [number, number] => {
              const s = log.state(p);
              return [s.offsetStart, s.offsetEnd];
            })
          : undefined,
      group: this.group,
      assigned: slot.partitions,
      paused: slot.partitions.filter((p) => this.books.get(p)!.paused),
      handlerPath: this.handlerPath,
      handlerDelayMs: this.options.handlerDelayMs ?? 0,
      niceness: this.options.niceness ?? 0,
      sink: sinkChoiceOf(this.options),
      durability: this.options.durability ?? 'full',
      limits: this.options.limits ?? {},
    };
  }

  private onWorkerMessage(slot: Slot, m: FromWorker): void {
    if (m.t === 'progress') {
      const book = this.books.get(m.progress.partition);
      if (!book) return;
      book.latest = m.progress;
      book.state = m.progress.state;
      book.rate.add(performance.now(), book.carried.eventsConsumed + m.progress.eventsConsumed);
      if (m.progress.batches > 0) slot.failures = 0;
    } else if (m.t === 'skip') {
      const { partition, from, to, records } = m.skip;
      this.report(
        'warn',
        'retention_skip',
        `partition ${partition} of group ${this.group}: ${records} record(s) removed by retention before they were consumed; resuming at offset ${to} (was ${from})`,
        { group: this.group, partition, from, to, records },
      );
    } else if (m.t === 'added') {
      this.settle(`add:${m.partition}`, m.error);
    } else if (m.t === 'removed') {
      this.settle(`remove:${m.partition}`);
    } else if (m.t === 'exit') {
      const book = this.books.get(m.partition);
      if (book) book.state = m.reason;
      if (m.reason === 'fenced') {
        const more = this.member ? '; it goes back to the group (lease lost)' : '';
        this.report(
          'warn',
          'fenced',
          `partition ${m.partition} of group ${this.group} was fenced by a newer owner${more}`,
          { partition: m.partition, error: m.error },
        );
        this.dropFenced(m.partition);
      }
    }
  }

  /** Folds a dead worker's counters into the carried totals of its partitions. */
  private retire(slot: Slot): void {
    for (const p of slot.partitions) {
      const book = this.books.get(p);
      if (!book) continue;
      if (book.latest) for (const k of counterNames) book.carried[k] += book.latest[k];
      book.latest = undefined;
      if (this.state === 'running') book.state = 'restarting';
    }
  }

  private scheduleRestart(slot: Slot, error: ConsumerError): void {
    slot.stats.state = 'restarting';
    const delayMs = Math.min(
      this.limits.consumeRestartBackoffMaxMs,
      this.limits.consumeBackoffBaseMs * 2 ** slot.failures,
    );
    slot.failures++;
    this.restartsByReason[error.reason] = (this.restartsByReason[error.reason] ?? 0) + 1;
    this.lastError = error;
    const what = error.code === null ? error.message : `${error.code}: ${error.message}`;
    this.report(
      'warn',
      'worker_restart',
      `consumer worker ${slot.index} of group ${this.group} ended (${what}); restarting in ${delayMs} ms`,
      {
        group: this.group,
        worker: slot.index,
        partitions: slot.partitions,
        reason: error.reason,
        code: error.code,
        error: error.message,
        restartInMs: delayMs,
        restarts: Object.values(this.restartsByReason).reduce((a, n) => a + n, 0),
      },
    );
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (this.state !== 'running') return;
      slot.stats.restarts++;
      this.launch(slot).catch((err: unknown) => {
        this.report('error', 'worker_restart_failed', `consumer worker ${slot.index} failed to restart`, {
          group: this.group,
          worker: slot.index,
          error: String(err),
        });
      });
    }, delayMs);
  }

  pause(partition?: number): void {
    this.setPaused(partition, true);
  }

  resume(partition?: number): void {
    this.setPaused(partition, false);
  }

  private setPaused(partition: number | undefined, paused: boolean): void {
    if (partition === undefined) this.pausedAll = paused;
    const targets = partition === undefined ? [...this.books.keys()] : [partition];
    for (const p of targets) {
      const book = this.books.get(p);
      if (!book) {
        throw shockError('SHOCK_CONFIG_INVALID', `partition ${p} is not consumed by group ${this.group}`, {
          partition: p,
          partitions: [...this.books.keys()],
        });
      }
      book.paused = paused;
    }
    for (const slot of this.slots) {
      const mine = slot.partitions.filter((p) => targets.includes(p));
      if (mine.length > 0) slot.handle?.send({ t: paused ? 'pause' : 'resume', partitions: mine });
    }
  }

  stop(): Promise<void> {
    this.stopPromise ??= (async () => {
      // Leaving first hands every partition over cooperatively: each is stopped and committed, then released.
      await this.member?.leave().catch(() => undefined);
      await this.stopNow();
    })();
    return this.stopPromise;
  }

  private async stopNow(): Promise<void> {
    this.state = 'stopping';
    this.relayStop.abort();
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.restartTimer) clearTimeout(slot.restartTimer);
        slot.restartTimer = undefined;
        const handle = slot.handle;
        if (!handle) {
          slot.stats.state = 'stopped';
          return;
        }
        slot.stats.state = 'stopping';
        handle.send({ t: 'stop' });
        const exited = await handle.exited(this.limits.consumeStopTimeoutMs);
        if (!exited) {
          this.report(
            'warn',
            'worker_stop_timeout',
            `consumer worker ${slot.index} did not stop in time; terminating it`,
            {
              worker: slot.index,
            },
          );
          await handle.kill();
        }
        slot.stats.state = 'stopped';
      }),
    );
    this.state = 'stopped';
  }

  async kill(worker: number): Promise<void> {
    const slot = this.slots[worker];
    if (!slot) {
      throw shockError('SHOCK_CONFIG_INVALID', `no consumer worker ${worker}; there are ${this.slots.length}`, {
        worker,
      });
    }
    await slot.handle?.kill();
  }

  snapshot(): ConsumerStats {
    const { log } = this.options;
    const nowMs = performance.now();
    const partitions: PartitionConsumerStats[] = [];
    for (const [p, book] of [...this.books.entries()].sort((a, b) => a[0] - b[0])) {
      const offsetEnd = log.state(p).offsetEnd;
      const offsetCommitted = Math.min(log.offsets.get(this.group, p), offsetEnd);
      const counters = { ...book.carried };
      if (book.latest) for (const k of counterNames) counters[k] += book.latest[k];
      book.rate.add(nowMs, counters.eventsConsumed);
      partitions.push({
        partition: p,
        worker: book.worker,
        epoch: book.latest?.epoch ?? 0,
        state: book.paused && book.state === 'running' ? 'paused' : book.state,
        offsetEnd,
        offsetCommitted,
        lagEvents: offsetEnd - offsetCommitted,
        lagSeconds: offsetEnd > offsetCommitted ? book.lagSeconds : 0,
        ratePerSec: book.rate.ratePerSec(nowMs),
        ...counters,
      });
    }
    return {
      group: this.group,
      mode: this.mode,
      state: this.state,
      paused: this.books.size === 0 ? this.pausedAll : [...this.books.values()].every((b) => b.paused),
      partitions,
      workers: this.slots.map((s) => ({ ...s.stats, partitions: [...s.partitions] })),
      totals: {
        ...totalsOf(partitions, this.slots, this.released),
        fenced: this.fencedTotal,
        restartsByReason: { ...this.restartsByReason },
      },
      membership: this.membershipStats(),
      lastError: this.lastError === null ? null : { ...this.lastError, partitions: [...this.lastError.partitions] },
    };
  }

  private membershipStats(): MembershipStats | null {
    if (!this.member) return null;
    const m = this.member.stats();
    return { ...m, members: [...m.members], owned: [...m.owned], leases: m.leases.map((l) => ({ ...l })) };
  }

  async stats(): Promise<ConsumerStats> {
    const { log } = this.options;
    const nowMs = Date.now();
    await Promise.all(
      [...this.books.entries()].map(async ([p, book]) => {
        const committed = log.offsets.get(this.group, p);
        if (committed >= log.state(p).offsetEnd) {
          book.lagSeconds = 0;
          return;
        }
        try {
          const [oldest] = await log.read(p, Math.max(committed, log.state(p).offsetStart), { recordsMax: 1 });
          book.lagSeconds = oldest ? Math.max(0, (nowMs - oldest.timestampMs) / 1000) : 0;
        } catch (err) {
          // A partition the log cannot read keeps its last measured time lag; the log reports its own failure.
          this.report('warn', 'lag_read_failed', `cannot read partition ${p} to measure the time lag`, {
            error: String(err),
          });
        }
      }),
    );
    return this.snapshot();
  }

  private report(
    level: SupervisorEvent['level'],
    kind: SupervisorEventKind,
    message: string,
    details?: Record<string, unknown>,
  ): void {
    try {
      this.options.onEvent?.({ level, kind, message, details });
    } catch {
      // A listener that throws must not take the supervisor down with it.
    }
  }
}

function zeroCounters(): Counters {
  return {
    eventsConsumed: 0,
    eventsInserted: 0,
    eventsDuplicate: 0,
    eventsSkipped: 0,
    deadLetters: 0,
    retries: 0,
    sinkRetries: 0,
    removedBeforeConsumed: 0,
  };
}

/**
 * The label a worker end is counted under: its `SHOCK_*` code (the project's own codes, a bounded set), or `crash`
 * for anything else (an uncoded error, a thread terminated, a process killed by a signal).
 */
export function restartReason(code: string | undefined): string {
  return code !== undefined && /^SHOCK_[A-Z0-9_]{1,60}$/.test(code) ? code : 'crash';
}

/** Totals over the partitions consumed now, plus the counters of partitions given up (so totals only grow). */
function totalsOf(
  partitions: PartitionConsumerStats[],
  slots: Slot[],
  released: Counters,
): Omit<ConsumerStats['totals'], 'restartsByReason' | 'fenced'> {
  const sum = (f: (p: PartitionConsumerStats) => number) => partitions.reduce((a, p) => a + f(p), 0);
  return {
    lagEvents: sum((p) => p.lagEvents),
    lagSecondsMax: partitions.reduce((a, p) => Math.max(a, p.lagSeconds), 0),
    ratePerSec: sum((p) => p.ratePerSec),
    eventsConsumed: released.eventsConsumed + sum((p) => p.eventsConsumed),
    eventsInserted: released.eventsInserted + sum((p) => p.eventsInserted),
    eventsDuplicate: released.eventsDuplicate + sum((p) => p.eventsDuplicate),
    deadLetters: released.deadLetters + sum((p) => p.deadLetters),
    retries: released.retries + sum((p) => p.retries),
    restarts: slots.reduce((a, s) => a + s.stats.restarts, 0),
    removedBeforeConsumed: released.removedBeforeConsumed + sum((p) => p.removedBeforeConsumed),
  };
}

/** A worker thread or a child process, behind one small interface. */
interface WorkerHandle {
  readonly id: number;
  send(message: ToWorker): void;
  onMessage(listener: (message: FromWorker) => void): void;
  /** Called once when the worker has ended: its exit code and, for an uncaught error, its message and code. */
  onExit(listener: (code: number | null, error: WireError | undefined) => void): void;
  /** Resolves true once ended, false after `timeoutMs`. */
  exited(timeoutMs: number): Promise<boolean>;
  /** Ends it at once (thread: terminate; process: SIGKILL) and resolves when it has ended. */
  kill(): Promise<void>;
}

/** The worker entry beside this file, with this file's extension (`.ts` from source under tsx, `.js` built). */
function workerEntry(): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./worker${ext}`, import.meta.url);
}

function threadWorker(init: WorkerInit): WorkerHandle {
  const worker = startWorker(import.meta.url, './worker', { init });
  let error: WireError | undefined;
  worker.on('error', (err) => (error = toWire(err)));
  return endable(worker.threadId, {
    send: (m) => worker.postMessage(m),
    onMessage: (l) => worker.on('message', l),
    onEnd: (l) => worker.on('exit', (code) => l(code, error)),
    terminate: () => void worker.terminate(),
  });
}

function processWorker(init: WorkerInit): WorkerHandle {
  const child: ChildProcess = fork(fileURLToPath(workerEntry()), [], {
    env: { ...process.env, [INIT_ENV]: JSON.stringify(init) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  return endable(child.pid ?? -1, {
    send: (m) => {
      if (child.connected) child.send(m);
    },
    onMessage: (l) => child.on('message', (m) => l(m as FromWorker)),
    onEnd: (l) => child.on('exit', (code, signal) => l(code, signal ? { message: `killed by ${signal}` } : undefined)),
    terminate: () => void child.kill('SIGKILL'),
  });
}

function endable(
  id: number,
  w: {
    send: (m: ToWorker) => void;
    onMessage: (l: (m: FromWorker) => void) => void;
    onEnd: (l: (code: number | null, error: WireError | undefined) => void) => void;
    terminate: () => void;
  },
): WorkerHandle {
  let ended = false;
  const endListeners: ((code: number | null, error: WireError | undefined) => void)[] = [];
  const waiters: (() => void)[] = [];
  w.onEnd((code, error) => {
    ended = true;
    for (const l of endListeners) l(code, error);
    for (const r of waiters.splice(0)) r();
  });
  const exited = (timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      if (ended) return resolve(true);
      const timer = setTimeout(() => resolve(false), timeoutMs);
      waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  return {
    id,
    send: (m) => {
      if (!ended) w.send(m);
    },
    onMessage: w.onMessage,
    onExit: (l) => endListeners.push(l),
    exited,
    kill: async () => {
      if (ended) return;
      w.terminate();
      // A terminated thread or a SIGKILLed process ends promptly; the bound only keeps a wedged OS from hanging us.
      await exited(10_000);
    },
  };
}
