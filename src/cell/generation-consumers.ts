/**
 * The cell's consumers across log generations. One supervisor runs at a time, on the oldest generation that is not
 * retired: while a sealed generation drains, its partitions are consumed up to their sealed ends; once every one of
 * them is committed there, the supervisor stops (its last batches written and committed), the generation retires
 * (manifest first, then its directory goes), and a supervisor starts on the next generation.
 *
 * Per-key order: a child partition's events reach the handler only after each of its parents was consumed and
 * committed up to its sealed end (`parentsOf` in src/log/generations.ts). Starting the whole next generation after
 * the whole old one has drained is that rule taken for every child at once — every parent has at least one child —
 * which keeps one owner row per (group, partition) in the sink in use by one generation at a time: fencing epochs
 * of a partition number keep growing across generations and never collide (see docs/adr/003-resharding.md for the
 * per-child start that was deferred).
 */
import { shockError } from '../base/index.js';
import { startConsumers, type ConsumerSupervisor } from '../consume/index.js';
import { activeGeneration, drainingGenerations, type FileLog, type Generation } from '../log/index.js';
import type { CellConfig } from './config.js';
import type { CellConsumers, CellEventSink, ConsumerHealth } from './consumers.js';
import { addHealth, cellSinkChoice, emptyHealth, healthOf } from './consumers.js';
import type { GenerationLog } from './generation-log.js';
import type { ConsumedGeneration, ConsumerFigures } from './sampler.js';

/** How often a draining generation's committed offsets are compared with its sealed ends. */
const drainCheckMs = 200;

/** One generation's drain, for `/v1/stats`, `/admin/reshard` and `shock reshard --json`. */
export interface GenerationStatus {
  gen: number;
  partitions: number;
  state: Generation['state'];
  /** The generation the consumers are on now. */
  consuming: boolean;
  /** Sealed generations: the end offsets every partition drains to. */
  sealedEnd: number[] | null;
  /** Events not yet committed by the group (end − committed, summed over partitions). */
  lagEvents: number;
}

/** The reshard state of a cell. */
export interface ReshardStatus {
  /** The active generation (appends go there). */
  generation: number;
  partitions: number;
  /**
   * `draining` while an older generation is consumed to its sealed end and until its directory is removed; `idle`
   * otherwise (a retired generation's directory is gone by then).
   */
  state: 'idle' | 'draining';
  generations: GenerationStatus[];
  /** The last failure to retire a drained generation (retried every check), or null. */
  lastError: string | null;
}

/** Consumers of a `GenerationLog`. */
export interface GenerationConsumers extends CellConsumers {
  status(): ReshardStatus;
  /** Called after a reshard switched generations: the drain of the sealed one starts being watched. */
  generationsChanged(): void;
}

/** Starts the consumers of the oldest generation that is not retired. */
export async function startGenerationConsumers(
  log: GenerationLog,
  config: CellConfig,
  onEvent: CellEventSink = () => undefined,
): Promise<GenerationConsumers> {
  const c = new Controller(log, config, onEvent);
  await c.start();
  return c;
}

class Controller implements GenerationConsumers {
  private supervisor: ConsumerSupervisor | undefined;
  private consumingGen = -1;
  private paused = false;
  private stopped = false;
  private advancing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private carried = { consumed: 0, dlqWrites: 0 };
  /** Restarts and retention skips of the generations' supervisors that have stopped. */
  private carriedHealth: ConsumerHealth = emptyHealth();
  private lastError: string | null = null;

  constructor(
    private readonly log: GenerationLog,
    private readonly config: CellConfig,
    private readonly onEvent: CellEventSink,
  ) {}

  async start(): Promise<void> {
    await this.startOn(this.oldestLive());
    this.timer = setInterval(() => this.check(), drainCheckMs);
    this.timer.unref();
    this.check();
  }

  generationsChanged(): void {
    this.check();
  }

  private oldestLive(): Generation {
    return this.log.manifest().generations.find((g) => g.state !== 'retired')!;
  }

  private async startOn(g: Generation): Promise<void> {
    const open = this.log.generation(g.gen);
    if (open === undefined) throw shockError('SHOCK_INTERNAL', `generation ${g.gen} is not open`);
    const c = this.config.consumers;
    this.supervisor = await startConsumers({
      log: open.log,
      group: c.group,
      partitions: g.partitions,
      workers: c.workers,
      // No handler configured: the consume area's built-in example handler.
      handlerPath: c.handler === '' ? undefined : c.handler,
      sink: cellSinkChoice(this.config),
      handlerDelayMs: c.handlerDelayMs,
      niceness: c.niceness,
      limits: this.config.limits,
      paused: this.paused,
      onEvent: (e) => this.onEvent({ ...e, details: { ...e.details, generation: g.gen } }),
    });
    this.consumingGen = g.gen;
  }

  /** Starts `advance` when the consumed generation is sealed and committed to its end (one at a time). */
  private check(): void {
    if (this.stopped || this.advancing !== undefined) return;
    if (this.supervisor === undefined) {
      // A start on the next generation failed (the sink was down, say): try again.
      const next = this.oldestLive();
      this.advancing = this.startOn(next)
        .then(() => {
          this.lastError = null;
        })
        .catch((err: unknown) => {
          this.lastError = `consumers of generation ${next.gen} did not start: ${(err as Error).message}`;
        })
        .finally(() => {
          this.advancing = undefined;
        });
      return;
    }
    const g = this.log.manifest().generations[this.consumingGen];
    if (g?.state === 'sealed' && g.sealedEnd === null) {
      // The switch could not record the end (its manifest write failed): record it now, then go on.
      this.advancing = this.log
        .recordPendingEnds()
        .catch((err: unknown) => {
          this.lastError = `the end of generation ${g.gen} is not recorded yet: ${(err as Error).message}`;
        })
        .finally(() => {
          this.advancing = undefined;
        });
      return;
    }
    if (g === undefined || g.state !== 'sealed' || g.sealedEnd === null || !this.drained(g)) return;
    this.advancing = this.advance(g)
      .catch((err: unknown) => {
        // The next check retries: every step is safe to repeat (the supervisor stop, the manifest write).
        this.lastError = (err as Error).message;
        this.onEvent({
          level: 'error',
          kind: 'generation_retire_failed',
          message: `generation ${g.gen} drained but could not retire: ${(err as Error).message}`,
          details: { gen: g.gen },
        });
      })
      .finally(() => {
        this.advancing = undefined;
      });
  }

  private drained(g: Generation): boolean {
    const open = this.log.generation(g.gen);
    if (open === undefined || g.sealedEnd === null) return false;
    const group = this.config.consumers.group;
    // A partition that never had a record is drained at its start (a group that never committed reads 0).
    return g.sealedEnd.every(
      (end, p) => Math.max(open.log.offsets.get(group, p), open.log.state(p).offsetStart) >= end,
    );
  }

  /** Stops the drained generation's consumers, retires it, starts the next generation's. */
  private async advance(g: Generation): Promise<void> {
    const s = this.supervisor;
    if (s !== undefined) {
      await s.stop();
      const last = s.snapshot();
      this.carried.consumed += last.totals.eventsConsumed;
      this.carried.dlqWrites += last.totals.deadLetters;
      this.carriedHealth = addHealth(this.carriedHealth, healthOf(last));
      this.supervisor = undefined;
    }
    if (this.stopped) return;
    await this.log.retire(g.gen);
    this.lastError = null;
    this.onEvent({
      level: 'info',
      kind: 'generation_retired',
      message: `generation ${g.gen} drained and retired`,
      details: { gen: g.gen, sealedEnd: g.sealedEnd },
    });
    if (this.stopped) return;
    const next = this.oldestLive();
    await this.startOn(next);
    this.onEvent({
      level: 'info',
      kind: 'generation_consumed',
      message: `consumers started on generation ${next.gen} (${next.partitions} partitions)`,
      details: { gen: next.gen },
    });
  }

  status(): ReshardStatus {
    const m = this.log.manifest();
    const group = this.config.consumers.group;
    const active = m.generations[m.generations.length - 1];
    const generations = m.generations
      .filter((g) => g.state !== 'retired')
      .map((g): GenerationStatus => {
        const log = this.log.generation(g.gen)?.log;
        let lagEvents = 0;
        if (log !== undefined) {
          const ends = partitionEnds(g, log);
          for (let p = 0; p < g.partitions; p++) {
            lagEvents += Math.max(0, ends[p] - Math.min(committedOf(log, group, p), ends[p]));
          }
        }
        return {
          gen: g.gen,
          partitions: g.partitions,
          state: g.state,
          consuming: g.gen === this.consumingGen && this.supervisor !== undefined,
          sealedEnd: g.sealedEnd,
          lagEvents,
        };
      });
    return {
      generation: active.gen,
      partitions: active.partitions,
      state: drainingGenerations(m).length > 0 ? 'draining' : 'idle',
      generations,
      lastError: this.lastError,
    };
  }

  figures(): ConsumerFigures {
    // The lag a user reads covers every generation still consumed: the active one (its events wait while an older
    // one drains) and each sealed one not yet retired, up to its sealed end (docs/metrics.md).
    const group = this.config.consumers.group;
    const m = this.log.manifest();
    const active = activeGeneration(m);
    const generations: ConsumedGeneration[] = [];
    for (const g of [active, ...drainingGenerations(m)]) {
      const log = this.log.generation(g.gen)?.log;
      if (log === undefined) continue;
      generations.push({
        generation: g.gen,
        partitions: g.partitions,
        log,
        offsetCommitted: Array.from({ length: g.partitions }, (_, p) => committedOf(log, group, p)),
        offsetEnd: g === active ? null : partitionEnds(g, log),
      });
    }
    const s = this.supervisor?.snapshot();
    return {
      // Between two generations' supervisors (a moment) the consumers count as running.
      running: this.stopped ? false : s === undefined ? this.advancing !== undefined : s.state === 'running',
      paused: this.paused,
      offsetCommitted: generations[0]?.offsetCommitted ?? [],
      consumed: this.carried.consumed + (s?.totals.eventsConsumed ?? 0),
      dlqWrites: this.carried.dlqWrites + (s?.totals.deadLetters ?? 0),
      generations,
    };
  }

  health(): ConsumerHealth {
    const s = this.supervisor?.snapshot();
    return s === undefined ? this.carriedHealth : addHealth(this.carriedHealth, healthOf(s));
  }

  async pause(): Promise<void> {
    this.paused = true;
    this.supervisor?.pause();
  }

  async resume(): Promise<void> {
    this.paused = false;
    this.supervisor?.resume();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.advancing;
    await this.supervisor?.stop();
  }
}

/** A generation's end per partition: its sealed end once recorded, else (active, or sealing) the log's end. */
function partitionEnds(g: Generation, log: FileLog): number[] {
  return Array.from({ length: g.partitions }, (_, p) => g.sealedEnd?.[p] ?? log.state(p).offsetEnd);
}

/** The group's committed offset of a partition (a group that never committed is at the partition's start). */
function committedOf(log: FileLog, group: string, partition: number): number {
  return Math.max(log.offsets.get(group, partition), log.state(partition).offsetStart);
}
