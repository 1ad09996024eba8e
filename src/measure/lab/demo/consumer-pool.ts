/**
 * N consumers pulling batches from one queue: the shape of a consumer group. A job is one batch; each consumer runs
 * its design's `runBatch` for the jobs it takes, one at a time. Throughput at N therefore comes from the design,
 * not from how many jobs a client manages to offer (the client keeps at least N jobs queued).
 */
import type { DesignInstance } from './designs.js';

interface Job {
  resolve(): void;
  reject(err: unknown): void;
}

/** A fixed group of consumers serving jobs in FIFO order. */
export class ConsumerPool {
  private readonly queue: Job[] = [];
  private readonly idle: Array<(job: Job) => void> = [];
  private stopped = false;
  /** Batches completed since start. */
  completed = 0;

  constructor(private readonly instance: DesignInstance) {
    for (let i = 0; i < instance.consumers; i++) void this.consume(i);
  }

  /** Resolves when some consumer has done one batch for this job. */
  submit(): Promise<void> {
    return new Promise((resolve, reject) => {
      const job: Job = { resolve, reject };
      const waiting = this.idle.shift();
      if (waiting) waiting(job);
      else this.queue.push(job);
    });
  }

  /** Jobs waiting for a consumer. */
  get queuedCount(): number {
    return this.queue.length;
  }

  /** Stops taking jobs; queued jobs are rejected. */
  stop(): void {
    this.stopped = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('consumer pool stopped'));
  }

  private next(): Promise<Job> {
    const job = this.queue.shift();
    if (job) return Promise.resolve(job);
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async consume(consumer: number): Promise<void> {
    while (!this.stopped) {
      const job = await this.next();
      try {
        await this.instance.runBatch(consumer);
        this.completed++;
        job.resolve();
      } catch (err) {
        job.reject(err);
      }
    }
  }
}
