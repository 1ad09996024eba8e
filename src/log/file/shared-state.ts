/**
 * Durable offsets shared with reader threads through a SharedArrayBuffer, so consumers in worker threads learn
 * about new durable records without messages or polling.
 *
 * Layout: an Int32 header `[changeCounter, closed, partitions, version]` (16 bytes), then per partition two
 * BigInt64 values `[offsetStart, offsetEnd]`. The writer stores the offsets, then increments `changeCounter` and
 * calls `Atomics.notify` on it; a reader waits with `Atomics.waitAsync` on the counter value it last saw.
 */
import { assert } from '../../base/index.js';

const HEADER_BYTES = 16;
const COUNTER = 0;
const CLOSED = 1;
const PARTITIONS = 2;
const VERSION = 3;
const LAYOUT_VERSION = 1;

/** A view over the shared buffer, used by the writer and by readers alike. */
export class SharedOffsets {
  readonly buffer: SharedArrayBuffer;
  private readonly header: Int32Array;
  private readonly offsets: BigInt64Array;
  readonly partitions: number;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.header = new Int32Array(buffer, 0, 4);
    this.partitions = Atomics.load(this.header, PARTITIONS);
    this.offsets = new BigInt64Array(buffer, HEADER_BYTES, this.partitions * 2);
  }

  /** A new buffer for `partitions` partitions (the writer's). */
  static create(partitions: number): SharedOffsets {
    const buffer = new SharedArrayBuffer(HEADER_BYTES + partitions * 16);
    const header = new Int32Array(buffer, 0, 4);
    header[PARTITIONS] = partitions;
    header[VERSION] = LAYOUT_VERSION;
    return new SharedOffsets(buffer);
  }

  /** A view over a buffer received from the writer (a reader's). */
  static attach(buffer: SharedArrayBuffer): SharedOffsets {
    const header = new Int32Array(buffer, 0, 4);
    assert(Atomics.load(header, VERSION) === LAYOUT_VERSION, 'shared offsets layout version matches', {
      version: header[VERSION],
    });
    return new SharedOffsets(buffer);
  }

  offsetStart(partition: number): number {
    return Number(Atomics.load(this.offsets, partition * 2));
  }

  offsetEnd(partition: number): number {
    return Number(Atomics.load(this.offsets, partition * 2 + 1));
  }

  get closed(): boolean {
    return Atomics.load(this.header, CLOSED) === 1;
  }

  get changeCounter(): number {
    return Atomics.load(this.header, COUNTER);
  }

  /** Publishes new offsets of one partition and wakes every waiting reader. */
  publish(partition: number, offsetStart: number, offsetEnd: number): void {
    Atomics.store(this.offsets, partition * 2, BigInt(offsetStart));
    Atomics.store(this.offsets, partition * 2 + 1, BigInt(offsetEnd));
    Atomics.add(this.header, COUNTER, 1);
    Atomics.notify(this.header, COUNTER);
  }

  /** Marks the writer closed and wakes every waiting reader. */
  close(): void {
    Atomics.store(this.header, CLOSED, 1);
    Atomics.add(this.header, COUNTER, 1);
    Atomics.notify(this.header, COUNTER);
  }

  /** Resolves when the change counter differs from `seen`, or after `timeoutMs`. Never blocks the thread. */
  async waitChange(seen: number, timeoutMs: number): Promise<void> {
    const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
    const result = waitAsync(this.header, COUNTER, seen, Math.max(0, timeoutMs));
    if (!result.async) return;
    // A pending Atomics.waitAsync does not keep the event loop alive: a timer does, so a worker waiting for data
    // does not exit under it. Whichever ends first ends the wait.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      result.value,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, timeoutMs)))),
    ]);
    clearTimeout(timer);
  }
}

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeoutMs: number,
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
