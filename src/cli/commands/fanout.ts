/**
 * `shock fanout` — fan-out tail amplification: the per-server percentile a composite percentile needs at each
 * fan-out (q^(1/N)) or tree (q^(1/k^d)), the composite latency from a measured per-server distribution (samples or an
 * HDR percentile spectrum), the correlated-event floor, and hedged requests by simulation.
 */
import type { Command } from 'commander';
import { mulberry32, shockError } from '../../base/index.js';
import {
  compositeLatency,
  compositeProbability,
  correlatedFloor,
  empiricalDistribution,
  nines,
  requiredServerPercentile,
  requiredServerPercentileCorrelated,
  simulateHedging,
  spectrumDistribution,
  type LatencyDistribution,
} from '../../physics/index.js';
import { formatNumber, textTable } from '../../measure/report/format.js';
import { printJson, printText } from '../output.js';
import { parseNumber } from '../parse.js';
import { readInputFile } from './fit.js';

interface FanoutOptions {
  fanout: string;
  percentile: number;
  width?: number;
  depth?: number;
  samples?: string;
  hgrm?: string;
  sla?: number;
  correlated?: number;
  hedge?: number | boolean;
  trials: number;
  seed: number;
  json?: boolean;
}

function parseFanoutList(raw: string): number[] {
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !(Number.isInteger(n) && n >= 1 && n <= 1e9))) {
    throw shockError('SHOCK_CLI_USAGE', `--fanout must be a comma-separated list of whole numbers >= 1, got "${raw}"`);
  }
  return list;
}

/** Latency samples: numbers separated by newlines, commas or spaces (a header line is skipped), or a JSON array. */
export function parseSamples(text: string, source: string): number[] {
  const trimmed = text.trim();
  let values: unknown[];
  if (trimmed.startsWith('[')) {
    try {
      values = JSON.parse(trimmed) as unknown[];
    } catch (err) {
      throw shockError('SHOCK_FIT_INPUT_INVALID', `${source}: not valid JSON (${(err as Error).message})`);
    }
  } else {
    const tokens = trimmed.split(/[\s,;]+/).filter((t) => t !== '');
    if (tokens.length > 0 && !Number.isFinite(Number(tokens[0]))) tokens.shift();
    values = tokens;
  }
  const out: number[] = [];
  const bad: string[] = [];
  values.forEach((v, i) => {
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n) || n < 0) bad.push(`value ${i + 1}: "${String(v)}"`);
    else out.push(n);
  });
  if (bad.length > 0)
    throw shockError(
      'SHOCK_FIT_INPUT_INVALID',
      `${source}: ${bad.length} value(s) are not latencies >= 0: ${bad.slice(0, 5).join(', ')}`,
    );
  if (out.length === 0) throw shockError('SHOCK_FIT_INPUT_INVALID', `${source}: no latency samples`);
  return out;
}

/** An HDR percentile spectrum (`Value Percentile TotalCount 1/(1-Percentile)`, as wrk2 --latency and .hgrm files print). */
export function parseHgrm(text: string, source: string): { p: number; value: number }[] {
  const points: { p: number; value: number }[] = [];
  for (const line of text.split(/\r?\n/)) {
    const cells = line.trim().split(/\s+/);
    if (cells.length < 2 || line.trim().startsWith('#')) continue;
    const value = Number(cells[0]);
    const p = Number(cells[1]);
    if (Number.isFinite(value) && Number.isFinite(p) && p >= 0 && p <= 1) points.push({ p, value });
  }
  if (points.length < 2)
    throw shockError(
      'SHOCK_FIT_INPUT_INVALID',
      `${source}: no HDR percentile spectrum lines ("Value Percentile TotalCount ...")`,
    );
  return points;
}

function pct(p: number): string {
  return `P${Number((p * 100).toPrecision(Math.max(3, Math.floor(nines(p) + 1e-9) + 2)))}`;
}

export function register(program: Command): void {
  program
    .command('fanout')
    .description(
      'fan-out tail amplification: required per-server percentile, composite latency, correlated floor, hedging',
    )
    .option('-n, --fanout <list>', 'fan-out widths, comma-separated', '1,10,100,1000')
    .option(
      '-q, --percentile <q>',
      'composite percentile to deliver, as a fraction (0.99 = P99)',
      parseNumber('--percentile', { min: 0.5, max: 0.999999 }),
      0.99,
    )
    .option(
      '--width <k>',
      'tree width k (with --depth: a tree of k^d leaves)',
      parseNumber('--width', { min: 1, integer: true }),
    )
    .option('--depth <d>', 'tree depth d (with --width)', parseNumber('--depth', { min: 0, max: 12, integer: true }))
    .option(
      '--samples <file>',
      'per-server latency samples (one per line, CSV column or JSON array) for composite latencies',
    )
    .option(
      '--hgrm <file>',
      'per-server HDR percentile spectrum (.hgrm / wrk2 --latency output) for composite latencies',
    )
    .option(
      '--sla <latency>',
      'composite latency SLA, in the unit of the samples: marks each fan-out that meets it',
      parseNumber('--sla', { min: 0 }),
    )
    .option(
      '--correlated <p>',
      'probability of a correlated slow event (shared switch, hypervisor): the composite floor',
      parseNumber('--correlated', { min: 0, max: 0.5 }),
    )
    .option(
      '--hedge [quantile]',
      'simulate hedged requests, hedging after this per-server quantile (default 0.9)',
      parseNumber('--hedge', { min: 0.5, max: 0.9999 }),
    )
    .option(
      '--trials <n>',
      'simulated requests for --hedge',
      parseNumber('--trials', { min: 100, max: 1_000_000, integer: true }),
      20_000,
    )
    .option('--seed <n>', 'simulation seed', parseNumber('--seed', { min: 0, max: 2 ** 32 - 1, integer: true }), 1)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
A request that waits for N servers is as slow as the slowest: composite P99 needs each server at
0.99^(1/N) (P99.9 at N = 10, P99.99 at 100). A tree of width k and depth d needs q^(1/k^d).

Examples:
  shock fanout
  shock fanout --width 10 --depth 3
  shock fanout --samples latencies.txt --sla 100 --correlated 0.001
  shock fanout --hgrm server.hgrm --fanout 10,100 --hedge 0.9`,
    )
    .action((opts: FanoutOptions) => {
      if ((opts.width === undefined) !== (opts.depth === undefined)) {
        throw shockError('SHOCK_CLI_USAGE', '--width and --depth go together (a tree of width k and depth d)');
      }
      if (opts.samples && opts.hgrm) throw shockError('SHOCK_CLI_USAGE', 'give --samples or --hgrm, not both');
      const q = opts.percentile;
      const widths = opts.width !== undefined ? [opts.width ** opts.depth!] : parseFanoutList(opts.fanout);
      let dist: LatencyDistribution | undefined;
      if (opts.samples) dist = empiricalDistribution(parseSamples(readInputFile(opts.samples), opts.samples));
      if (opts.hgrm) dist = spectrumDistribution(parseHgrm(readInputFile(opts.hgrm), opts.hgrm));
      if (opts.hedge !== undefined && !dist)
        throw shockError('SHOCK_CLI_USAGE', '--hedge needs a per-server distribution: --samples or --hgrm');
      const rows = widths.map((n) => {
        const required = requiredServerPercentile(q, n);
        const latency = dist ? compositeLatency(dist, q, n) : undefined;
        const correlated =
          opts.correlated !== undefined ? requiredServerPercentileCorrelated(q, n, opts.correlated) : undefined;
        return {
          fanout: n,
          requiredPercentile: required,
          nines: nines(required),
          allWithinServerQ: compositeProbability(q, n),
          compositeLatency: latency ?? null,
          serverAtQ: dist ? dist.quantile(q) : null,
          meetsSla: opts.sla !== undefined && latency !== undefined ? latency <= opts.sla : null,
          requiredPercentileCorrelated: correlated === undefined ? undefined : correlated,
        };
      });
      const tree = opts.width !== undefined ? { width: opts.width, depth: opts.depth, leaves: widths[0] } : undefined;
      const floor = opts.correlated !== undefined ? correlatedFloor(opts.correlated) : undefined;
      const hedging =
        opts.hedge !== undefined && dist
          ? widths.map((n) =>
              simulateHedging(dist!, mulberry32(opts.seed), {
                fanout: n,
                hedgeAfterQuantile: typeof opts.hedge === 'number' ? opts.hedge : 0.9,
                trials: Math.max(100, Math.floor(opts.trials / Math.max(1, Math.log10(n) + 1))),
                percentiles: [0.5, q, 0.999],
              }),
            )
          : undefined;
      if (opts.json) {
        printJson({ tool: 'shock', command: 'fanout', percentile: q, tree, correlatedFloor: floor, rows, hedging });
        return;
      }
      const out: string[] = [];
      out.push(
        `fan-out tail amplification for composite ${pct(q)}${tree ? ` through a tree of width ${tree.width}, depth ${tree.depth} (${tree.leaves} leaves)` : ''}`,
      );
      out.push('');
      const header = ['fan-out', 'per-server percentile', 'nines', `P(all within per-server ${pct(q)})`];
      if (dist) header.push(`server ${pct(q)}`, `composite ${pct(q)}`);
      if (opts.sla !== undefined && dist) header.push(`SLA ${opts.sla}`);
      if (floor !== undefined) header.push('with correlation');
      const table = textTable(
        header,
        rows.map((r) => {
          const cells = [
            String(r.fanout),
            pct(r.requiredPercentile),
            r.nines.toFixed(2),
            formatNumber(r.allWithinServerQ, 3),
          ];
          if (dist) cells.push(formatNumber(r.serverAtQ), formatNumber(r.compositeLatency));
          if (opts.sla !== undefined && dist) cells.push(r.meetsSla ? 'meets' : 'MISSES');
          if (floor !== undefined)
            cells.push(r.requiredPercentileCorrelated === null ? 'unreachable' : pct(r.requiredPercentileCorrelated!));
          return cells;
        }),
        header.map((_, i) => i !== header.length + 1),
      );
      out.push(...table.map((l) => '  ' + l));
      if (floor !== undefined) {
        out.push('');
        out.push(
          `  correlated floor: with a shared slow event at p = ${opts.correlated}, no server tuning lifts the composite above ${pct(floor)}.`,
        );
      }
      if (hedging) {
        out.push('');
        out.push(
          `  hedged requests (simulated, hedge after the per-server P${(typeof opts.hedge === 'number' ? opts.hedge : 0.9) * 100}, seed ${opts.seed})`,
        );
        const ht = textTable(
          [
            'fan-out',
            'hedge at',
            ...hedging[0].percentiles.flatMap((p) => [`${pct(p.p)} plain`, `${pct(p.p)} hedged`]),
            'extra load',
          ],
          hedging.map((h) => [
            String(h.fanout),
            formatNumber(h.hedgeDelay),
            ...h.percentiles.flatMap((p) => [formatNumber(p.plain), formatNumber(p.hedged)]),
            `${(h.extraLoad * 100).toFixed(1)}%`,
          ]),
          [true, true, true, true, true, true, true, true, true],
        );
        out.push(...ht.map((l) => '    ' + l));
      }
      if (!dist) {
        out.push('');
        out.push('  add --samples FILE or --hgrm FILE (per-server latencies) to see composite latencies');
      }
      printText(out.join('\n'));
    });
}
