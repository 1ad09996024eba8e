/**
 * Log generations: how a partitioned log changes its partition count without stopping (resharding).
 *
 * A data directory holds a sequence of generations, each a complete log with its own partition count. Exactly one
 * generation is `active` (the gateway appends to it); older ones are `sealed` (they take no appends; their consumers
 * drain them up to `sealedEnd`) and then `retired` (fully consumed and committed; their directory is deleted).
 *
 * ```
 *            beginReshard               recordSealedEnd             retireGeneration
 *  active ───────────────▶ sealed(end null) ──────────▶ sealed(end) ──────────────▶ retired
 * ```
 *
 * This file is pure (the manifest's state machine and the parent/child rule); `file/generations.ts` stores the
 * manifest durably. See docs/adr/003-resharding.md.
 *
 * **The parent/child rule (Kinesis' shard lineage, on Kafka's partitioner).** A key lands on
 * `h mod P` in the parent generation and on `h mod P'` in the child, with `h = toPositive(murmur2(key))`. When P'
 * is a multiple of P (a split), `h mod P = (h mod P') mod P`: child `c` holds only keys of parent `c mod P`. When P
 * is a multiple of P' (a merge), `h mod P' = (h mod P) mod P'`: child `c` holds keys of the parents
 * `{p : p mod P' = c}`. Otherwise a child may hold keys of any parent. Per-key order is kept when a child's events
 * are handed to the handler only after every parent of it was consumed and committed up to its sealed end.
 */
import { shockError } from '../base/index.js';

/** Where a generation is in its life. */
export const GenerationStates = ['active', 'sealed', 'retired'] as const;
export type GenerationState = (typeof GenerationStates)[number];

/** One generation of the log. */
export interface Generation {
  /** 0, 1, 2, … in creation order. */
  gen: number;
  partitions: number;
  /** Its log directory, relative to the data directory (`log` for generation 0, `log-g<gen>` after). */
  dir: string;
  state: GenerationState;
  /**
   * Sealed generations: the end offset of every partition when appends stopped (null until recorded). Every record
   * below it is consumed before any record of the next generation.
   */
  sealedEnd: number[] | null;
}

/** The manifest: every generation, oldest first. */
export interface GenerationManifest {
  format: 'shock-generations';
  version: 1;
  generations: Generation[];
}

/** Most partitions a generation may have (the file log's own bound on partitions is the same order). */
export const generationPartitionsMax = 1024;

/** The directory of generation `gen`, relative to the data directory. */
export function generationDir(gen: number): string {
  return gen === 0 ? 'log' : `log-g${gen}`;
}

/** The manifest of a data directory that never resharded: generation 0, active, in `log`. */
export function initialManifest(partitions: number): GenerationManifest {
  checkPartitions(partitions);
  return {
    format: 'shock-generations',
    version: 1,
    generations: [{ gen: 0, partitions, dir: generationDir(0), state: 'active', sealedEnd: null }],
  };
}

/** The generation appends go to. */
export function activeGeneration(m: GenerationManifest): Generation {
  return m.generations[m.generations.length - 1];
}

/** Sealed generations not yet retired, oldest first (the ones still draining). */
export function drainingGenerations(m: GenerationManifest): Generation[] {
  return m.generations.filter((g) => g.state === 'sealed');
}

/**
 * Starts a reshard to `partitions`: the active generation becomes sealed (its end not yet recorded) and a new
 * active generation follows. Refused (SHOCK_CELL_RESHARD_BUSY) while an older generation is still draining, and
 * (SHOCK_CELL_ADMIN_INVALID) when the count is not a whole number in range or equals the current one.
 */
export function beginReshard(m: GenerationManifest, partitions: number): GenerationManifest {
  checkPartitions(partitions);
  const active = activeGeneration(m);
  if (partitions === active.partitions) {
    throw shockError('SHOCK_CELL_ADMIN_INVALID', `the log already has ${partitions} partitions`, {
      partitions,
      hint: 'ask for another partition count',
    });
  }
  const draining = drainingGenerations(m);
  if (draining.length > 0) {
    throw shockError(
      'SHOCK_CELL_RESHARD_BUSY',
      `generation ${draining[0].gen} is still draining; one reshard at a time`,
      {
        draining: draining.map((g) => g.gen),
        hint: 'wait until GET /admin/reshard shows no draining generation (lag of the old generation 0), then retry',
      },
    );
  }
  const gen = active.gen + 1;
  return withGenerations(m, [
    ...m.generations.slice(0, -1),
    { ...active, state: 'sealed', sealedEnd: null },
    { gen, partitions, dir: generationDir(gen), state: 'active', sealedEnd: null },
  ]);
}

/** Records the end offsets of a sealed generation (once: a recorded end never changes). */
export function recordSealedEnd(m: GenerationManifest, gen: number, ends: readonly number[]): GenerationManifest {
  const g = find(m, gen);
  if (g.state !== 'sealed' || g.sealedEnd !== null) {
    throw invalid(`generation ${gen} is ${describe(g)}: its end can be recorded only once, while sealed`);
  }
  if (ends.length !== g.partitions || !ends.every((e) => Number.isSafeInteger(e) && e >= 0)) {
    throw invalid(`generation ${gen} needs ${g.partitions} end offsets (whole numbers ≥ 0), got ${ends.join(',')}`);
  }
  return replace(m, { ...g, sealedEnd: [...ends] });
}

/** Marks the oldest draining generation retired (every partition consumed and committed to its sealed end). */
export function retireGeneration(m: GenerationManifest, gen: number): GenerationManifest {
  const g = find(m, gen);
  const oldest = drainingGenerations(m)[0];
  if (g.state !== 'sealed' || g.sealedEnd === null || oldest?.gen !== gen) {
    throw invalid(`generation ${gen} is ${describe(g)}: only the oldest sealed generation with a recorded end retires`);
  }
  return replace(m, { ...g, state: 'retired' });
}

/**
 * The parents (in the previous generation, `partitionsParent` partitions) a child partition of a generation with
 * `partitionsChild` partitions depends on: every key of the child was, before the reshard, in one of these.
 */
export function parentsOf(child: number, partitionsParent: number, partitionsChild: number): number[] {
  checkPartitions(partitionsParent);
  checkPartitions(partitionsChild);
  if (!Number.isInteger(child) || child < 0 || child >= partitionsChild) {
    throw invalid(`child partition ${child} is not in [0, ${partitionsChild - 1}]`);
  }
  if (partitionsChild % partitionsParent === 0) return [child % partitionsParent];
  if (partitionsParent % partitionsChild === 0) {
    const out: number[] = [];
    for (let p = child; p < partitionsParent; p += partitionsChild) out.push(p);
    return out;
  }
  return Array.from({ length: partitionsParent }, (_, p) => p);
}

/**
 * Checks a manifest read from disk: generations numbered 0.. in order, the directory each must have, the last one
 * active and only it, then retired ones first and sealed ones after, sealed ends of the right length. Throws
 * SHOCK_LOG_MANIFEST_INVALID naming the first problem.
 */
export function checkManifest(value: unknown, path: string): GenerationManifest {
  const m = value as Partial<GenerationManifest> | null;
  const fail = (why: string) =>
    shockError('SHOCK_LOG_MANIFEST_INVALID', `${path} is not a valid generation manifest: ${why}`, {
      path,
      hint: 'restore the file from a backup; do not edit it by hand while the cell runs',
    });
  if (m === null || typeof m !== 'object' || m.format !== 'shock-generations' || m.version !== 1) {
    throw fail('format shock-generations version 1 expected');
  }
  const gens = m.generations;
  if (!Array.isArray(gens) || gens.length === 0) throw fail('no generations');
  let seenSealed = false;
  for (let i = 0; i < gens.length; i++) {
    const g = gens[i] as Partial<Generation>;
    const last = i === gens.length - 1;
    if (g.gen !== i) throw fail(`generation at index ${i} is numbered ${String(g.gen)}`);
    if (g.dir !== generationDir(i)) throw fail(`generation ${i} must live in ${generationDir(i)}`);
    if (!Number.isInteger(g.partitions) || g.partitions! < 1 || g.partitions! > generationPartitionsMax) {
      throw fail(`generation ${i} has an invalid partition count`);
    }
    if (last !== (g.state === 'active')) throw fail('exactly the last generation is active');
    if (g.state === 'retired' && seenSealed) throw fail(`retired generation ${i} follows a sealed one`);
    if (g.state === 'sealed') seenSealed = true;
    if (!GenerationStates.includes(g.state!)) throw fail(`generation ${i} has state ${String(g.state)}`);
    const ends = g.sealedEnd;
    if (g.state === 'active' && ends !== null) throw fail(`active generation ${i} has a sealed end`);
    if (g.state === 'retired' && ends === null) throw fail(`retired generation ${i} has no sealed end`);
    if (ends !== null && ends !== undefined) {
      const ok = Array.isArray(ends) && ends.length === g.partitions && ends.every((e) => Number.isSafeInteger(e));
      if (!ok) throw fail(`generation ${i} has a malformed sealed end`);
    } else if (ends === undefined) throw fail(`generation ${i} lacks sealedEnd`);
  }
  return m as GenerationManifest;
}

function checkPartitions(partitions: number): void {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > generationPartitionsMax) {
    throw shockError(
      'SHOCK_CELL_ADMIN_INVALID',
      `partitions must be a whole number in [1, ${generationPartitionsMax}], got ${partitions}`,
      { partitions },
    );
  }
}

function find(m: GenerationManifest, gen: number): Generation {
  const g = m.generations[gen];
  if (g === undefined || g.gen !== gen) throw invalid(`no generation ${gen}`);
  return g;
}

function replace(m: GenerationManifest, g: Generation): GenerationManifest {
  return withGenerations(
    m,
    m.generations.map((x) => (x.gen === g.gen ? g : x)),
  );
}

function withGenerations(m: GenerationManifest, generations: Generation[]): GenerationManifest {
  return { format: m.format, version: m.version, generations };
}

function describe(g: Generation): string {
  return g.state === 'sealed' ? `sealed (end ${g.sealedEnd === null ? 'not recorded' : 'recorded'})` : g.state;
}

function invalid(message: string) {
  return shockError('SHOCK_INTERNAL', `generation manifest: ${message}`);
}
