/**
 * `shock fit FILE` — fit the Universal Scalability Law to N,X measurements (CSV or JSON; several rows per N are
 * windows, weighted 1/σ²), print the coefficients with intervals, N_max, the autoscaler ceiling, the node-ROI table
 * and every honesty warning; `--json` for machines, `--report out.html` for the self-contained report.
 */
import type { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { shockError } from '../../base/index.js';
import {
  fitMethods,
  fitUsl,
  nodeRoiTable,
  parseMeasurementText,
  type FitMethod,
  type UslFit,
} from '../../physics/index.js';
import { formatFitText } from '../../measure/report/fit-text.js';
import { renderFitReport } from '../../measure/report/fit-report.js';
import { printJson, printText } from '../output.js';
import { parseNumber } from '../parse.js';
import { VERSION } from '../version.js';

interface FitCommandOptions {
  method: string;
  tau?: number;
  bootstrap: number;
  seed: number;
  unweighted?: boolean;
  json?: boolean;
  report?: string;
  title?: string;
  nodes?: string;
}

/** Reads a measurement file ("-" is standard input), mapping I/O failures to SHOCK_CLI_INPUT_UNREADABLE. */
export function readInputFile(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason =
      e.code === 'ENOENT'
        ? 'no such file'
        : e.code === 'EISDIR'
          ? 'it is a directory'
          : e.code === 'EACCES'
            ? 'permission denied'
            : (e.message ?? String(err));
    throw shockError('SHOCK_CLI_INPUT_UNREADABLE', `cannot read ${path}: ${reason}`, {
      file: path,
      hint: 'check the path; the file holds N,X rows (CSV with a header, or JSON)',
    });
  }
}

/** Writes an output file, mapping failures to SHOCK_CLI_OUTPUT_UNWRITABLE. */
export function writeOutputFile(path: string, content: string): void {
  try {
    writeFileSync(path, content);
  } catch (err) {
    throw shockError('SHOCK_CLI_OUTPUT_UNWRITABLE', `cannot write ${path}: ${(err as Error).message}`, { file: path });
  }
}

/** JSON with the infinities as null (N_max is Infinity when β = 0) and no NaN anywhere. */
export function fitToJson(fit: UslFit, meta: Record<string, unknown>): unknown {
  return JSON.parse(
    JSON.stringify({ ...meta, ...fit, nMaxUnbounded: !Number.isFinite(fit.nMax) }, (_k, v: unknown) =>
      typeof v === 'number' && !Number.isFinite(v) ? null : v,
    ),
  );
}

export function register(program: Command): void {
  program
    .command('fit')
    .description('fit the Universal Scalability Law to N,X measurements: coefficients, N_max, intervals, node ROI')
    .argument('<file>', 'CSV with an N,X header (several rows per N = windows) or JSON; "-" reads standard input')
    .option('-m, --method <method>', `fit method: ${fitMethods.join(' | ')}`, 'nls')
    .option(
      '--tau <tau>',
      'quantile level for --method quantile (default 0.1: the P10 envelope)',
      parseNumber('--tau', { min: 0.001, max: 0.999 }),
    )
    .option(
      '-b, --bootstrap <count>',
      'bootstrap resamples for the intervals and band (0 = off)',
      parseNumber('--bootstrap', { min: 0, max: 100_000, integer: true }),
      1000,
    )
    .option(
      '--seed <n>',
      'bootstrap seed (same seed, same interval)',
      parseNumber('--seed', { min: 0, max: 2 ** 32 - 1, integer: true }),
      1,
    )
    .option('--unweighted', 'ordinary least squares even when there are several windows per N')
    .option('--report <file>', 'write a self-contained HTML report (plots and the ROI table) to this file')
    .option('--title <text>', 'title of the HTML report')
    .option('--nodes <list>', 'node counts to add to the ROI table, comma-separated (a planned size, say)')
    .option('--json', 'print the fit as JSON')
    .addHelpText(
      'after',
      `
Input: CSV "N,X" (nodes or concurrency, throughput), one row per measurement window, or JSON
[{"n": 1, "x": 955}, ...]. Coefficients are printed both ways: α = σ (contention), β = κ (coherency),
γ = λ (single-node throughput). Intervals need five or more distinct N; the autoscaler ceiling is
floor(lower bound of N_max) − 2.

Examples:
  shock fit examples/counter-shard.csv --nodes 30
  shock fit examples/counter-shard-campaign.csv --report fit.html
  shock fit data.csv --method quantile --tau 0.1 --bootstrap 2000 --seed 7 --json`,
    )
    .action((file: string, opts: FitCommandOptions) => {
      if (!(fitMethods as readonly string[]).includes(opts.method)) {
        throw shockError('SHOCK_CLI_USAGE', `--method must be one of ${fitMethods.join(', ')}, got "${opts.method}"`);
      }
      if (opts.tau !== undefined && opts.method !== 'quantile') {
        throw shockError('SHOCK_CLI_USAGE', '--tau applies only to --method quantile');
      }
      const text = readInputFile(file);
      const rows = parseMeasurementText(text, file === '-' ? 'stdin' : file);
      let fit = fitUsl(rows, {
        method: opts.method as FitMethod,
        tau: opts.tau,
        bootstrap: opts.bootstrap,
        seed: opts.seed,
        weights: opts.unweighted ? 'none' : 'auto',
      });
      if (opts.nodes !== undefined) {
        const extra = opts.nodes.split(',').map((v) => Number(v.trim()));
        if (extra.some((n) => !(Number.isInteger(n) && n >= 1 && n <= 1e7))) {
          throw shockError(
            'SHOCK_CLI_USAGE',
            `--nodes must be comma-separated whole numbers >= 1, got "${opts.nodes}"`,
          );
        }
        const ns = [...new Set([...fit.roi.map((r) => r.n), ...extra])].sort((a, b) => a - b);
        fit = { ...fit, roi: nodeRoiTable(fit, ns) };
      }
      if (opts.report) {
        writeOutputFile(
          opts.report,
          renderFitReport(fit, { source: file, title: opts.title, generator: `shockabsorber ${VERSION}` }),
        );
      }
      if (opts.json) {
        printJson(
          fitToJson(fit, { tool: 'shock', version: VERSION, command: 'fit', input: file, report: opts.report ?? null }),
        );
      } else {
        printText(formatFitText(fit, { source: file, reportPath: opts.report }));
      }
    });
}
