/**
 * Hot-path Prometheus counters and histograms. The request path adds to plain numbers in a cell it holds (an
 * array slot, no hashing); the cells are turned into the metric shape prom-client's `Registry` prints only when
 * `/metrics` is scraped. prom-client's own `inc`/`observe` hash the label set on every call — 0.4–1 µs each,
 * several per request (profiled in bench/ingress-single.ts) — which is why the ingest path does not use them.
 *
 * Register with `registry.registerMetric(vec as never)`: the registry only needs `name`, `help`, `type`,
 * `aggregator`, `get()` and `reset()`. Output is identical in form to prom-client's (label order: `le` first for
 * buckets, then the labels in `labelNames` order).
 */

/** One label set's counter. Add to `value`. */
export interface CounterCell {
  value: number;
}

/** One label set's histogram: `counts[i]` observations ≤ `buckets[i]` (not cumulative), plus sum and count. */
export interface HistogramCell {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** The shape prom-client's registry reads from a metric. */
export interface MetricValues {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

abstract class Vec<C> {
  readonly aggregator = 'sum' as const;
  private readonly cells = new Map<string, { labels: string[]; cell: C }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  /** The cell of a label set (created at 0 on first use). Keep it: later adds need no lookup. */
  cell(...labelValues: string[]): C {
    const key = labelValues.length === 1 ? labelValues[0] : labelValues.join('\u0000');
    let entry = this.cells.get(key);
    if (entry === undefined) {
      if (labelValues.length !== this.labelNames.length) {
        throw new Error(`${this.name}: expected ${this.labelNames.length} label values, got ${labelValues.length}`);
      }
      entry = { labels: labelValues, cell: this.newCell() };
      this.cells.set(key, entry);
    }
    return entry.cell;
  }

  /** Every label set to zero (prom-client `resetMetrics`). Cells already handed out are zeroed in place. */
  reset(): void {
    for (const { cell } of this.cells.values()) this.zero(cell);
  }

  protected labelsOf(values: string[]): Record<string, string> {
    const labels: Record<string, string> = {};
    for (let i = 0; i < this.labelNames.length; i++) labels[this.labelNames[i]] = values[i];
    return labels;
  }

  protected entries(): IterableIterator<{ labels: string[]; cell: C }> {
    return this.cells.values();
  }

  protected abstract newCell(): C;
  protected abstract zero(cell: C): void;
}

/** A counter by label set. */
export class CounterVec extends Vec<CounterCell> {
  readonly type = 'counter' as const;

  /** Adds `n` (≥ 0) to a label set; for cold paths (hot paths keep the cell). */
  inc(labelValues: string[], n = 1): void {
    this.cell(...labelValues).value += n;
  }

  get(): Promise<MetricValues> {
    const values: MetricValues['values'] = [];
    for (const { labels, cell } of this.entries()) values.push({ value: cell.value, labels: this.labelsOf(labels) });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  protected newCell(): CounterCell {
    return { value: 0 };
  }

  protected zero(cell: CounterCell): void {
    cell.value = 0;
  }
}

/** A histogram by label set, with fixed upper bounds (sorted ascending; `+Inf` is implied). */
export class HistogramVec extends Vec<HistogramCell> {
  readonly type = 'histogram' as const;
  readonly buckets: Float64Array;

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i] > buckets[i - 1])) throw new Error(`${name}: buckets must be strictly increasing`);
    }
    this.buckets = Float64Array.from(buckets);
  }

  /** Records one observation in a cell of this histogram. */
  observe(cell: HistogramCell, v: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    if (i < b.length) cell.counts[i] += 1;
    cell.sum += v;
    cell.count += 1;
  }

  get(): Promise<MetricValues> {
    const values: MetricValues['values'] = [];
    const bucketName = `${this.name}_bucket`;
    for (const { labels: raw, cell } of this.entries()) {
      const labels = this.labelsOf(raw);
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += cell.counts[i];
        values.push({ value: cumulative, labels: { le: this.buckets[i], ...labels }, metricName: bucketName });
      }
      values.push({ value: cell.count, labels: { le: '+Inf', ...labels }, metricName: bucketName });
      values.push({ value: cell.sum, labels, metricName: `${this.name}_sum` });
      values.push({ value: cell.count, labels, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  protected newCell(): HistogramCell {
    return { counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
  }

  protected zero(cell: HistogramCell): void {
    cell.counts.fill(0);
    cell.sum = 0;
    cell.count = 0;
  }
}
