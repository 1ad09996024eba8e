/**
 * Per-second samples of cumulative counters turned into rates, for `/v1/stats` and the dashboard's chart. Sampled
 * by one timer of the cell, never per request.
 */

/** Per-second samples of monotonically growing counters, turned into rates. */
export class RateSeries {
  private readonly samples: { atMs: number; values: Record<string, number> }[] = [];

  constructor(private readonly lengthMax = 61) {}

  /** Adds a sample of cumulative counters taken at `atMs` (monotonic ms). */
  sample(atMs: number, values: Record<string, number>): void {
    this.samples.push({ atMs, values: { ...values } });
    if (this.samples.length > this.lengthMax) this.samples.shift();
  }

  /** Rate per second of `name` between the last two samples (0 before two samples exist). */
  ratePerSec(name: string): number {
    const n = this.samples.length;
    if (n < 2) return 0;
    return rateBetween(this.samples[n - 2], this.samples[n - 1], name);
  }

  /** Per-second rates of `name` over the kept window, oldest first. */
  seriesPerSec(name: string): number[] {
    const out: number[] = [];
    for (let i = 1; i < this.samples.length; i++) out.push(rateBetween(this.samples[i - 1], this.samples[i], name));
    return out;
  }
}

function rateBetween(
  a: { atMs: number; values: Record<string, number> },
  b: { atMs: number; values: Record<string, number> },
  name: string,
): number {
  const dtSec = (b.atMs - a.atMs) / 1000;
  if (!(dtSec > 0)) return 0;
  const delta = (b.values[name] ?? 0) - (a.values[name] ?? 0);
  return delta > 0 ? delta / dtSec : 0;
}
