/**
 * `shock plan` — capacity arithmetic: partitions for a target rate, a cell's capacity and bottleneck, a hot shard's
 * shadow ceiling, the effect of sharding on β and N_max, the node-ROI table of known coefficients, and the queueing
 * numbers (M/M/1, Kingman, coordinated-omission bias).
 */
import type { Command } from 'commander';
import { shockError } from '../../base/index.js';
import {
  cellsFor,
  checkUslParams,
  coordinatedOmissionBias,
  defaultRoiNodes,
  effectiveBeta,
  kingmanWait,
  mm1,
  mm1ResponsePercentile,
  nodeRoiTable,
  planCell,
  planPartitions,
  roiDecisionLabels,
  shadowGap,
  uslNMax,
  uslThroughput,
  uslXMax,
  zipfHotShardShare,
  zipfTopShare,
  type UslParams,
} from '../../physics/index.js';
import { formatNumber, textTable } from '../../measure/report/format.js';
import { printJson, printText } from '../output.js';
import { parseNumber, parsePositive } from '../parse.js';

const nonNegative = (name: string) => parseNumber(name, { min: 0 });

function uslOptions(cmd: Command, required = true): Command {
  const add = required ? cmd.requiredOption.bind(cmd) : cmd.option.bind(cmd);
  add('--gamma <x>', 'single-node throughput γ (λ)', parsePositive('--gamma'));
  add('--alpha <a>', 'contention α (σ)', nonNegative('--alpha'));
  add('--beta <b>', 'coherency β (κ)', nonNegative('--beta'));
  return cmd;
}

function usl(opts: { gamma: number; alpha: number; beta: number }): UslParams {
  const params = { gamma: opts.gamma, alpha: opts.alpha, beta: opts.beta };
  checkUslParams(params);
  return params;
}

function parseNodeList(raw: string): number[] {
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.some((n) => !(Number.isInteger(n) && n >= 1 && n <= 1e7))) {
    throw shockError('SHOCK_CLI_USAGE', `--nodes must be comma-separated whole numbers >= 1, got "${raw}"`);
  }
  return list;
}

const json = (v: unknown) =>
  printJson(
    JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? null : x))),
  );

export function register(program: Command): void {
  const plan = program
    .command('plan')
    .description('capacity arithmetic: partitions, cells, hot-shard shadow ceiling, sharding, node ROI, queueing')
    .addHelpText(
      'after',
      `
Examples:
  shock plan partitions --target 1200000 --consumer 200000
  shock plan cell --network-gbps 10 --event-bytes 1000 --db-writes 100000 --consumers 6 --consumer 200000
  shock plan shadow --gamma 1000 --alpha 0.02 --beta 0.001 --alpha-hot 0.3 --hot-share 0.8
  shock plan shards --gamma 1000 --alpha 0.04 --beta 0.01 --shards 5 --cross 0.05
  shock plan roi --gamma 1000 --alpha 0.02 --beta 0.003 --nodes 4,8,16,18,20,32
  shock plan queue --arrival 900 --service 1000`,
    );

  plan
    .command('partitions')
    .description('partitions = ceil(target / per-consumer throughput), over-provisioned for headroom (A2 §4.3)')
    .requiredOption('--target <rate>', 'target events per second', parsePositive('--target'))
    .requiredOption(
      '--consumer <rate>',
      'events per second one consumer (partition) sustains',
      parsePositive('--consumer'),
    )
    .option(
      '--over <factor>',
      'over-provisioning factor (the paper recommends 2)',
      parseNumber('--over', { min: 1, max: 100 }),
      2,
    )
    .option('--json', 'print JSON')
    .action((opts: { target: number; consumer: number; over: number; json?: boolean }) => {
      const p = planPartitions(opts.target, opts.consumer, opts.over);
      if (opts.json) return json({ command: 'plan partitions', ...opts, ...p });
      printText(
        [
          `partitions for ${formatNumber(opts.target)}/s at ${formatNumber(opts.consumer)}/s per consumer`,
          `  required  ceil(${formatNumber(opts.target)} / ${formatNumber(opts.consumer)}) = ${p.required}`,
          `  deployed  ${p.required} × ${opts.over} = ${p.deployed} (utilisation ${(p.utilisation * 100).toFixed(0)}%, absorbs a ${formatNumber(p.headroom, 3)}× spike)`,
        ].join('\n'),
      );
    });

  plan
    .command('cell')
    .description("a cell's capacity = min(network, database, consumers), planned at 60–70% (A2 §6.2)")
    .option('--network-gbps <gbps>', 'network bandwidth, gigabits per second', parsePositive('--network-gbps'))
    .option('--event-bytes <bytes>', 'mean event size on the wire, bytes', parsePositive('--event-bytes'))
    .option('--db-writes <rate>', 'database writes per second (IOPS) the sink sustains', parsePositive('--db-writes'))
    .option('--consumers <n>', 'consumers in the cell', parseNumber('--consumers', { min: 1, integer: true }))
    .option('--consumer <rate>', 'events per second one consumer sustains', parsePositive('--consumer'))
    .option(
      '--utilisation <f>',
      'fraction of capacity to plan for',
      parseNumber('--utilisation', { min: 0.05, max: 1 }),
      0.65,
    )
    .option('--target <rate>', 'total events per second: how many cells', parsePositive('--target'))
    .option('--json', 'print JSON')
    .action(
      (opts: {
        networkGbps?: number;
        eventBytes?: number;
        dbWrites?: number;
        consumers?: number;
        consumer?: number;
        utilisation: number;
        target?: number;
        json?: boolean;
      }) => {
        const cell = planCell({
          networkBytesPerSec: opts.networkGbps !== undefined ? (opts.networkGbps * 1e9) / 8 : undefined,
          eventBytes: opts.eventBytes,
          databaseWritesPerSec: opts.dbWrites,
          consumers: opts.consumers,
          consumerPerSec: opts.consumer,
          utilisationTarget: opts.utilisation,
        });
        const cells = opts.target !== undefined ? cellsFor(opts.target, cell.plannedPerSec) : undefined;
        if (opts.json) return json({ command: 'plan cell', ...cell, cells });
        const out = ['cell capacity = min(network, database, consumers)'];
        out.push(
          ...textTable(
            ['ceiling', 'events/s'],
            cell.ceilings.map((c) => [c.name, formatNumber(c.eventsPerSec)]),
            [false, true],
          ).map((l) => '  ' + l),
        );
        out.push(`  capacity ${formatNumber(cell.capacity)}/s, bottleneck: ${cell.bottleneck}`);
        out.push(
          `  plan for ${formatNumber(cell.plannedPerSec)}/s (${Math.round(cell.utilisationTarget * 100)}%; the paper's 60–70% is ${formatNumber(cell.plannedRange[0])}–${formatNumber(cell.plannedRange[1])}/s)`,
        );
        if (cells !== undefined) out.push(`  ${formatNumber(opts.target!)}/s needs ${cells} cell(s)`);
        printText(out.join('\n'));
      },
    );

  uslOptions(
    plan
      .command('shadow')
      .description("a hot shard's shadow ceiling γ/(α_hot·f) against the USL peak (seed 004, the Equipartition Trap)"),
  )
    .requiredOption(
      '--alpha-hot <a>',
      'contention on the hot shard under production key skew',
      parseNumber('--alpha-hot', { min: 1e-9, max: 1 }),
    )
    .option(
      '--hot-share <f>',
      'fraction of writes on the hottest shard',
      parseNumber('--hot-share', { min: 1e-9, max: 1 }),
    )
    .option(
      '--keys <k>',
      'keys (with --zipf and --shards: derive the hot share)',
      parseNumber('--keys', { min: 1, max: 1e8, integer: true }),
    )
    .option('--zipf <s>', 'Zipf exponent of key popularity', parseNumber('--zipf', { min: 0, max: 10 }))
    .option('--shards <n>', 'shards the keys hash to', parseNumber('--shards', { min: 1, integer: true }))
    .option('--json', 'print JSON')
    .action(
      (opts: {
        gamma: number;
        alpha: number;
        beta: number;
        alphaHot: number;
        hotShare?: number;
        keys?: number;
        zipf?: number;
        shards?: number;
        json?: boolean;
      }) => {
        const params = usl(opts);
        let share = opts.hotShare;
        let derived: { keys: number; zipf: number; shards: number; hottestKey: number } | undefined;
        if (share === undefined) {
          if (opts.keys === undefined || opts.zipf === undefined || opts.shards === undefined) {
            throw shockError('SHOCK_CLI_USAGE', 'give --hot-share, or --keys, --zipf and --shards to derive it');
          }
          share = zipfHotShardShare(opts.keys, opts.zipf, opts.shards);
          derived = {
            keys: opts.keys,
            zipf: opts.zipf,
            shards: opts.shards,
            hottestKey: zipfTopShare(opts.keys, opts.zipf),
          };
        }
        const gap = shadowGap(params, opts.alphaHot, share);
        if (opts.json)
          return json({ command: 'plan shadow', ...params, alphaHot: opts.alphaHot, hotShare: share, derived, ...gap });
        const out = [
          `shadow ceiling γ/(α_hot·f) = ${formatNumber(params.gamma)}/(${opts.alphaHot}·${formatNumber(share, 3)}) = ${formatNumber(gap.shadow)}`,
        ];
        if (derived)
          out.push(
            `  hot share f = ${formatNumber(share, 3)} from ${derived.keys} keys, Zipf s = ${derived.zipf}, ${derived.shards} shards (hottest key alone ${formatNumber(derived.hottestKey, 3)})`,
          );
        out.push(
          `  USL peak X_max = ${formatNumber(gap.xMax)} at N_max = ${formatNumber(uslNMax(params.alpha, params.beta))}`,
        );
        out.push(
          gap.binding === 'shadow'
            ? `  the hot shard binds: only ${(gap.reachable * 100).toFixed(0)}% of the model's peak is reachable; nodes added past it add cost, not throughput`
            : '  the USL peak binds before the hot shard does',
        );
        printText(out.join('\n'));
      },
    );

  uslOptions(
    plan.command('shards').description('effective β under S shards with cross-shard fraction ρ: β·((1 − ρ)/S + ρ)'),
  )
    .requiredOption(
      '--shards <n>',
      'independent shards (coherency domains)',
      parseNumber('--shards', { min: 1, integer: true }),
    )
    .requiredOption(
      '--cross <rho>',
      'fraction of operations that cross shards',
      parseNumber('--cross', { min: 0, max: 1 }),
    )
    .option('--json', 'print JSON')
    .action((opts: { gamma: number; alpha: number; beta: number; shards: number; cross: number; json?: boolean }) => {
      const before = usl(opts);
      const after = { ...before, beta: effectiveBeta(before.beta, opts.shards, opts.cross) };
      const row = (p: UslParams) => ({ beta: p.beta, nMax: uslNMax(p.alpha, p.beta), xMax: uslXMax(p) });
      const result = { before: row(before), after: row(after), ceilingGain: uslXMax(after) / uslXMax(before) };
      if (opts.json) return json({ command: 'plan shards', ...opts, ...result });
      printText(
        [
          `sharding into ${opts.shards} with ${opts.cross * 100}% cross-shard operations: β_eff = β·((1 − ρ)/S + ρ)`,
          ...textTable(
            ['', 'β', 'N_max', 'X_max'],
            [
              [
                'before',
                formatNumber(result.before.beta),
                formatNumber(result.before.nMax),
                formatNumber(result.before.xMax),
              ],
              [
                'after',
                formatNumber(result.after.beta),
                formatNumber(result.after.nMax),
                formatNumber(result.after.xMax),
              ],
            ],
            [false, true, true, true],
          ).map((l) => '  ' + l),
          `  throughput ceiling × ${formatNumber(result.ceilingGain, 3)}`,
        ].join('\n'),
      );
    });

  uslOptions(plan.command('roi').description('the USL curve and node-ROI table for known coefficients'))
    .option('--nodes <list>', 'node counts, comma-separated (default: around N_max)')
    .option('--json', 'print JSON')
    .action((opts: { gamma: number; alpha: number; beta: number; nodes?: string; json?: boolean }) => {
      const params = usl(opts);
      const nodes = opts.nodes ? parseNodeList(opts.nodes) : defaultRoiNodes(params);
      const rows = nodeRoiTable(params, nodes);
      const nMax = uslNMax(params.alpha, params.beta);
      if (opts.json) return json({ command: 'plan roi', ...params, nMax, xMax: uslXMax(params), rows });
      const out = [
        Number.isFinite(nMax)
          ? `N_max = ${formatNumber(nMax)}, X_max = ${formatNumber(uslXMax(params))} (X(${Math.round(nMax)}) = ${formatNumber(uslThroughput(params, Math.round(nMax)))})`
          : `β = 0: no N_max; throughput saturates at γ/α = ${formatNumber(uslXMax(params))}`,
      ];
      out.push(
        ...textTable(
          ['N', 'throughput', 'efficiency', 'marginal', 'decision'],
          rows.map((r) => [
            String(r.n),
            formatNumber(r.throughput, 5),
            r.efficiency.toFixed(2),
            (r.marginal >= 0 ? '+' : '−') + Math.abs(r.marginal).toFixed(2),
            roiDecisionLabels[r.decision],
          ]),
          [true, true, true, true, false],
        ).map((l) => '  ' + l),
      );
      printText(out.join('\n'));
    });

  plan
    .command('queue')
    .description("queueing: M/M/1 times and percentiles, Kingman's G/G/1 wait, the coordinated-omission bias 1/(1 − ρ)")
    .requiredOption('--arrival <rate>', 'arrival rate λ, per second', parseNumber('--arrival', { min: 0 }))
    .requiredOption('--service <rate>', 'service rate μ, per second', parsePositive('--service'))
    .option(
      '--cv-arrival <c>',
      'coefficient of variation of inter-arrival times (1 = Poisson)',
      nonNegative('--cv-arrival'),
      1,
    )
    .option(
      '--cv-service <c>',
      'coefficient of variation of service times (1 = exponential)',
      nonNegative('--cv-service'),
      1,
    )
    .option('--json', 'print JSON')
    .action((opts: { arrival: number; service: number; cvArrival: number; cvService: number; json?: boolean }) => {
      if (!(opts.arrival < opts.service)) {
        throw shockError(
          'SHOCK_PHYSICS_DOMAIN',
          `the queue is unstable: arrival ${opts.arrival}/s >= service ${opts.service}/s`,
          {
            hint: 'a queue with ρ >= 1 grows without bound: add capacity or shed load',
          },
        );
      }
      const m = mm1(opts.arrival, opts.service);
      const result = {
        ...m,
        responseP50: mm1ResponsePercentile(opts.arrival, opts.service, 0.5),
        responseP99: mm1ResponsePercentile(opts.arrival, opts.service, 0.99),
        responseP999: mm1ResponsePercentile(opts.arrival, opts.service, 0.999),
        kingmanWait: kingmanWait(m.rho, opts.cvArrival, opts.cvService, 1 / opts.service),
        coordinatedOmissionBias: coordinatedOmissionBias(m.rho),
      };
      if (opts.json) return json({ command: 'plan queue', ...opts, ...result });
      const ms = (s: number) => `${formatNumber(s * 1000)} ms`;
      printText(
        [
          `queue at ρ = λ/μ = ${formatNumber(m.rho, 3)}`,
          `  M/M/1: mean response ${ms(m.responseMean)}, P50 ${ms(result.responseP50)}, P99 ${ms(result.responseP99)}, P99.9 ${ms(result.responseP999)}; mean in system ${formatNumber(m.inSystemMean)}`,
          `  Kingman (c_a = ${opts.cvArrival}, c_s = ${opts.cvService}): mean wait ${ms(result.kingmanWait)}`,
          `  coordinated omission: a closed-loop generator understates the tail by at least 1/(1 − ρ) = ${formatNumber(result.coordinatedOmissionBias, 3)}×`,
        ].join('\n'),
      );
    });
}
