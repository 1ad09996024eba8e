/**
 * `shock probe storage DIR | network HOST:PORT | steal` — the floor probes: the per-writer fsync ceiling and the
 * multi-writer IOPS ceiling of a directory's device, TCP round-trip percentiles, and the CPU steal fraction with the
 * seed's 2% gate (exit 1 when the gate fails). Each prints readable text or `--json`.
 */
import type { Command } from 'commander';
import { shockError } from '../../base/index.js';
import { formatMs } from '../../measure/histogram/index.js';
import {
  parseHostPort,
  probeNetwork,
  probeSteal,
  probeStorage,
  stealGateFractionMax,
  type NetworkProbeMode,
} from '../../measure/probe/index.js';
import { printJson, printText } from '../output.js';
import { parseDurationMs, parseNumber } from '../parse.js';
import { VERSION } from '../version.js';

const durationOption = (name: string) => (raw: string) => parseDurationMs(raw, name);

export function register(program: Command): void {
  const probe = program
    .command('probe')
    .description('floor probes: storage fsync/IOPS ceilings, network RTT, CPU steal');

  probe
    .command('storage')
    .description('single-writer write+fdatasync ceiling (ops/s, p50/p99) and the multi-writer IOPS ceiling')
    .argument('<dir>', 'a directory on the device to measure')
    .option('-d, --duration <duration>', 'length of each phase (default 3s)', durationOption('--duration'))
    .option(
      '--writers <count>',
      'writer threads in the multi-writer phase (default 4)',
      parseNumber('--writers', { min: 1, max: 256, integer: true }),
    )
    .option(
      '--block <bytes>',
      'bytes per write (default 4096)',
      parseNumber('--block', { min: 1, max: 16 * 1024 * 1024, integer: true }),
    )
    .option('--json', 'print JSON')
    .action(async (dir: string, o: { duration?: number; writers?: number; block?: number; json?: boolean }) => {
      const r = await probeStorage({ dir, durationMs: o.duration, writers: o.writers, blockBytes: o.block });
      if (o.json) return printJson({ tool: 'shock', version: VERSION, ...r });
      printText(
        [
          `Storage probe of ${r.dir} (${r.blockBytes}-byte writes, write + fdatasync, ${r.durationMs / 1000}s per phase)`,
          `  single writer: ${r.single.opsPerSec.toFixed(0)} ops/s   flush p50 ${formatMs(r.single.latencyMs.p50)}  p99 ${formatMs(r.single.latencyMs.p99)}  max ${formatMs(r.single.latencyMs.max)}`,
          `    per-writer-thread ceiling from p99: 1s / ${formatMs(r.single.latencyMs.p99)} = ${r.ceilingOpsPerSecFromP99.toFixed(0)} ops/s`,
          `  ${r.multi.writers} writers:     ${r.multi.opsPerSec.toFixed(0)} ops/s total (IOPS ceiling)   flush p50 ${formatMs(r.multi.latencyMs.p50)}  p99 ${formatMs(r.multi.latencyMs.p99)}`,
        ].join('\n'),
      );
    });

  probe
    .command('network')
    .description('TCP round-trip time percentiles to HOST:PORT (handshake, or echo of a payload)')
    .argument('<target>', 'HOST:PORT')
    .option('--mode <mode>', 'connect (TCP handshake) | echo (the peer echoes)', 'connect')
    .option(
      '-n, --samples <count>',
      'round trips to time (default 100)',
      parseNumber('--samples', { min: 1, max: 1_000_000, integer: true }),
    )
    .option(
      '--payload <bytes>',
      'echo payload size (default 64)',
      parseNumber('--payload', { min: 1, max: 1024 * 1024, integer: true }),
    )
    .option('--timeout <duration>', 'per-sample timeout (default 2s)', durationOption('--timeout'))
    .option('--json', 'print JSON')
    .action(
      async (
        target: string,
        o: { mode: string; samples?: number; payload?: number; timeout?: number; json?: boolean },
      ) => {
        if (o.mode !== 'connect' && o.mode !== 'echo') {
          throw shockError('SHOCK_CLI_USAGE', `--mode must be connect or echo, got "${o.mode}"`);
        }
        const { host, port } = parseHostPort(target);
        const r = await probeNetwork({
          host,
          port,
          mode: o.mode as NetworkProbeMode,
          samples: o.samples,
          payloadBytes: o.payload,
          timeoutMs: o.timeout,
        });
        if (o.json) return printJson({ tool: 'shock', version: VERSION, ...r });
        const s = r.rttMs;
        printText(
          `Network probe of ${r.target} (${r.mode}, ${r.samples} samples, ${r.errors} errors)\n` +
            `  RTT p50 ${formatMs(s.p50)}  p90 ${formatMs(s.p90)}  p99 ${formatMs(s.p99)}  max ${formatMs(s.max)}  mean ${formatMs(s.mean)}`,
        );
      },
    );

  probe
    .command('steal')
    .description('CPU steal fraction over an interval from /proc/stat, with the 2% steal-time gate (exit 1 above it)')
    .option('-i, --interval <duration>', 'measurement interval (default 5s)', durationOption('--interval'))
    .option(
      '--max-steal <fraction>',
      `gate threshold (default ${stealGateFractionMax})`,
      parseNumber('--max-steal', { min: 0, max: 1 }),
    )
    .option('--proc-stat <file>', 'read this file instead of /proc/stat (e.g. a host /proc mounted elsewhere)')
    .option('--json', 'print JSON')
    .action(async (o: { interval?: number; maxSteal?: number; procStat?: string; json?: boolean }) => {
      const r = await probeSteal({ intervalMs: o.interval, gateFractionMax: o.maxSteal, statPath: o.procStat });
      if (o.json) printJson({ tool: 'shock', version: VERSION, ...r });
      else {
        printText(
          `CPU steal over ${(r.intervalMs / 1000).toFixed(1)}s: ${(r.stealFraction * 100).toFixed(2)}% ` +
            `(${r.jiffies.steal} of ${r.jiffies.total} jiffies) — gate ${(r.gateFractionMax * 100).toFixed(1)}%: ` +
            (r.passed ? 'PASS' : 'FAIL, reject and re-run measurement windows taken now'),
        );
      }
      if (!r.passed) {
        throw shockError(
          'SHOCK_PROBE_GATE_FAILED',
          `CPU steal ${(r.stealFraction * 100).toFixed(2)}% exceeds the gate`,
          {
            stealFraction: r.stealFraction,
            gateFractionMax: r.gateFractionMax,
            hint: 'measurements taken now are depressed by a noisy neighbour; wait for a quiet window and re-run',
          },
        );
      }
    });
}
