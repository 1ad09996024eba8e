/**
 * Reports every sequence stored in one partition stream as it is stored — appends of this process and of any
 * other — through an ordered, headers-only consumer (the server pushes; nothing polls). nats.js recreates an
 * ordered consumer itself after a gap or a reconnect; if its iterator ends anyway (the stream went away, the
 * connection closed), the watcher starts a new one after `RESTART_DELAY_MS` from the last sequence seen, until
 * stopped.
 */
import type { ConsumerMessages, JetStreamClient } from 'nats';

const RESTART_DELAY_MS = 250;
const PULL_MESSAGES_MAX = 256;

export class PartitionWatcher {
  private stopped = false;
  private messages: ConsumerMessages | undefined;
  private delay: NodeJS.Timeout | undefined;
  private wakeDelay: (() => void) | undefined;
  private readonly running: Promise<void>;

  /** Starts watching `stream` from sequence `seqFrom`; `onStored(seq)` is called for every stored sequence. */
  constructor(
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private seqFrom: number,
    private readonly onStored: (seq: number) => void,
  ) {
    this.running = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const consumer = await this.js.consumers.get(this.stream, { opt_start_seq: this.seqFrom, headers_only: true });
        if (this.stopped) return;
        this.messages = await consumer.consume({ max_messages: PULL_MESSAGES_MAX });
        if (this.stopped) await this.messages.close();
        for await (const m of this.messages) {
          this.seqFrom = m.seq + 1;
          this.onStored(m.seq);
        }
      } catch {
        // The server is unreachable or the stream is gone: try again shortly (appends report the failure).
      }
      if (this.stopped) return;
      await new Promise<void>((resolve) => {
        this.wakeDelay = resolve;
        this.delay = setTimeout(resolve, RESTART_DELAY_MS);
      });
    }
  }

  /** Stops the consumer and waits for the watch loop to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.delay);
    this.wakeDelay?.();
    await this.messages?.close().catch(() => undefined);
    await this.running;
  }
}
