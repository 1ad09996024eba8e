/**
 * The pieces of the Jepsen-style fault test (test/fault/cluster-faults.test.ts): keyed clients that send each key's
 * events one after another (each only after the previous one's 202, retrying the same event id through the other
 * gateway when a request fails), a sampler of the committed offsets, and the checker that judges the history
 * against what PostgreSQL and the log hold. The history and the verdict are written to one JSON file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Rng } from '../../src/base/index.js';
import type { Log } from '../../src/log/index.js';
import { testKeys } from './cell-serve.js';
import { identity } from './kill-load.js';

/** What one client was told about one event. */
export interface Acked {
  key: string;
  /** Its place in the key's sequence. */
  index: number;
  id: string;
  partition: number;
  offset: number;
  attempts: number;
  gateway: number;
  atMs: number;
}

/** Everything the test saw: requests answered, faults applied, offsets sampled. */
export interface History {
  seed: number;
  acked: Acked[];
  failures: { key: string; index: number; gateway: number; error: string; atMs: number }[];
  faults: { step: string; target: string; atMs: number; phase: 'apply' | 'heal' }[];
  /** Committed offsets of the group per partition, as sampled (a sample per partition that moved). */
  offsetSamples: { atMs: number; partition: number; offset: number }[];
}

export function newHistory(seed: number): History {
  return { seed, acked: [], failures: [], faults: [], offsetSamples: [] };
}

/**
 * One key's client: sends `${key}-${i}` for i = 0, 1, … one at a time through gateway `urls()[g]`, where g follows
 * the rng; a failed or timed-out request is retried with the same event id through the other gateway until it is
 * answered 202 (or the run stops). Returns when `stopped()` and its current event is settled or abandoned.
 */
export async function keyClient(
  key: string,
  urls: () => string[],
  rng: Rng,
  history: History,
  stopped: () => boolean,
  startMs: number,
): Promise<void> {
  for (let index = 0; !stopped(); index++) {
    const id = `${key}-${index}`;
    let gateway = Math.floor(rng.next() * 2);
    for (let attempts = 1; ; attempts++) {
      if (stopped() && attempts > 1) return; // abandoned: it may or may not be stored, and was never acknowledged
      const answer = await sendOne(urls()[gateway], key, id);
      const atMs = Date.now() - startMs;
      if (answer.ok) {
        history.acked.push({
          key,
          index,
          id,
          partition: answer.partition,
          offset: answer.offset,
          attempts,
          gateway,
          atMs,
        });
        break;
      }
      history.failures.push({ key, index, gateway, error: answer.error, atMs });
      gateway = 1 - gateway;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

type Answer = { ok: true; partition: number; offset: number } | { ok: false; error: string };

async function sendOne(url: string, key: string, id: string): Promise<Answer> {
  try {
    const res = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testKeys.acme.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: id, type: 'page.view', key, payload: { url: `/${id}` } }),
      signal: AbortSignal.timeout(3000),
    });
    const body = (await res.json()) as { partition?: number; offset?: number; error?: { code: string } };
    if (res.status === 202) return { ok: true, partition: body.partition!, offset: body.offset! };
    return { ok: false, error: `${res.status} ${body.error?.code ?? ''}` };
  } catch (err) {
    return { ok: false, error: (err as Error).name };
  }
}

/** Samples the group's committed offsets every `everyMs` until stopped (a reader of the offsets bucket). */
export function sampleOffsets(log: Log, group: string, history: History, startMs: number, everyMs = 200) {
  const last = new Map<number, number>();
  const timer = setInterval(() => {
    const offsets = log.offsets.list()[group] ?? {};
    for (const [p, offset] of Object.entries(offsets)) {
      if (last.get(Number(p)) === offset) continue;
      last.set(Number(p), offset);
      history.offsetSamples.push({ atMs: Date.now() - startMs, partition: Number(p), offset });
    }
  }, everyMs);
  return { stop: () => clearInterval(timer) };
}

/** The checker's findings: empty lists mean the history is valid. */
export interface Verdict {
  valid: boolean;
  acknowledged: number;
  /** Acknowledged events the sink does not hold, or holds more than once. */
  lost: string[];
  duplicated: string[];
  /** Keys whose acknowledged events are not stored in send order (offsets not increasing, or partitions differ). */
  orderViolations: string[];
  /** Partitions whose committed offset was seen to go backwards. */
  offsetRegressions: string[];
  /** Partitions with no owner or several at the end. */
  ownership: string[];
}

/**
 * Judges the history: every 202 in the sink exactly once (`sinkCounts`: identity → rows), per key the
 * acknowledged offsets increase in send order on one partition, no committed offset went backwards, and the final
 * owners (`owned`: each consumer's partitions) cover every partition once.
 */
export function check(
  history: History,
  sinkCounts: ReadonlyMap<string, number>,
  owned: number[][],
  partitions: number,
): Verdict {
  const lost: string[] = [];
  const duplicated: string[] = [];
  for (const a of history.acked) {
    const n = sinkCounts.get(identity('acme', a.id)) ?? 0;
    if (n === 0) lost.push(a.id);
    if (n > 1) duplicated.push(a.id);
  }
  const orderViolations: string[] = [];
  const byKey = new Map<string, Acked[]>();
  for (const a of history.acked) byKey.set(a.key, [...(byKey.get(a.key) ?? []), a]);
  for (const [key, list] of byKey) {
    list.sort((x, y) => x.index - y.index);
    for (let i = 1; i < list.length; i++) {
      const [prev, cur] = [list[i - 1], list[i]];
      if (cur.partition !== prev.partition || cur.offset <= prev.offset) {
        orderViolations.push(
          `${key}: ${prev.id}@${prev.partition}/${prev.offset} then ${cur.id}@${cur.partition}/${cur.offset}`,
        );
      }
    }
  }
  const offsetRegressions: string[] = [];
  const lastOffset = new Map<number, number>();
  for (const s of history.offsetSamples) {
    const prev = lastOffset.get(s.partition);
    if (prev !== undefined && s.offset < prev)
      offsetRegressions.push(`partition ${s.partition}: ${prev} → ${s.offset} at ${s.atMs} ms`);
    lastOffset.set(s.partition, s.offset);
  }
  const ownership: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const owners = owned.filter((o) => o.includes(p)).length;
    if (owners !== 1) ownership.push(`partition ${p}: ${owners} owners`);
  }
  const valid = [lost, duplicated, orderViolations, offsetRegressions, ownership].every((l) => l.length === 0);
  return { valid, acknowledged: history.acked.length, lost, duplicated, orderViolations, offsetRegressions, ownership };
}

/** Writes the history and the verdict to `$TMPDIR/shock-cluster-faults/seed-<seed>.json`; returns the path. */
export function writeHistory(history: History, verdict: Verdict): string {
  const dir = join(tmpdir(), 'shock-cluster-faults');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `seed-${history.seed}.json`);
  writeFileSync(file, JSON.stringify({ verdict, history }, null, 1));
  return file;
}
