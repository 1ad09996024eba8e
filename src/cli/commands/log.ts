/**
 * `shock log inspect DIR` and `shock log read DIR` — the tools a user reaches for when something looks wrong with
 * a file log (Kafka's kafka-dump-log and console consumer). Both are read-only: they take no lock, change nothing,
 * and work beside a running cell or on a read-only disk.
 */
import type { Command } from 'commander';
import { ExitCode } from '../../base/index.js';
import { inspectLog, readLogDir, type LogRecord, type LogReport } from '../../log/index.js';
import { printJson, printText } from '../output.js';
import { parseNumber } from '../parse.js';

interface InspectOptions {
  verify?: boolean;
  json?: boolean;
}

interface ReadOptions {
  partition: number;
  from?: number;
  limit: number;
  json?: boolean;
}

export function register(program: Command): void {
  const log = program
    .command('log')
    .description('examine an embedded file log: partitions, segments, offsets, consumer lag, records')
    .addHelpText(
      'after',
      `
Examples:
  shock log inspect data/log
  shock log inspect data/log --verify --json
  shock log read data/log --partition 3 --from 1200 --limit 20 --json`,
    );

  log
    .command('inspect')
    .description('partitions, segments, offsets, committed offsets and lag per consumer group')
    .argument('<dir>', 'the log directory')
    .option('--verify', 'check the CRC and the sequence of every record of every segment')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Without --verify only each segment's tail is checked (from its last index entry). A "torn tail" in the last
segment of a partition is what a crash leaves behind; the log truncates it the next time it is opened for
writing. Any other problem is corruption: the report names the file, the byte position and the offset.
Exit code 65 when --verify finds a problem.`,
    )
    .action(async (dir: string, opts: InspectOptions) => {
      const report = await inspectLog(dir, { verify: opts.verify === true });
      if (opts.json) printJson(report);
      else printText(formatReport(report, opts.verify === true));
      if (report.problems.some((p) => p.kind === 'corrupt') || (opts.verify && report.problems.length > 0)) {
        process.exitCode = ExitCode.dataErr;
      }
    });

  log
    .command('read')
    .description('print records of one partition (NDJSON with --json)')
    .argument('<dir>', 'the log directory')
    .requiredOption('-p, --partition <n>', 'partition number', parseNumber('--partition', { min: 0, integer: true }))
    .option(
      '--from <offset>',
      'first offset to print (default: the oldest retained)',
      parseNumber('--from', { min: 0, integer: true }),
    )
    .option(
      '-n, --limit <n>',
      'most records to print',
      parseNumber('--limit', { min: 1, max: 1_000_000, integer: true }),
      100,
    )
    .option('--json', 'one JSON object per line: partition, offset, timestampMs, key, value and their encodings')
    .addHelpText(
      'after',
      `
Keys and values are printed as UTF-8 text when they are valid UTF-8, else as base64; with --json the fields
keyEncoding and valueEncoding say which ("utf8" or "base64").`,
    )
    .action(async (dir: string, opts: ReadOptions) => {
      let printed = 0;
      let next = opts.from;
      while (printed < opts.limit) {
        const batch = await readLogDir(dir, opts.partition, next, {
          recordsMax: Math.min(1000, opts.limit - printed),
          bytesMax: 4 * 1024 * 1024,
        });
        for (const r of batch.records) process.stdout.write(formatRecord(opts.partition, r, opts.json === true) + '\n');
        printed += batch.records.length;
        if (batch.records.length === 0) break;
        next = batch.records[batch.records.length - 1].offset + 1;
        if (next >= batch.offsetEnd) break;
      }
    });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as UTF-8 text when they are valid UTF-8, else base64. */
export function encodeBytes(bytes: Buffer): { text: string; encoding: 'utf8' | 'base64' } {
  try {
    return { text: utf8.decode(bytes), encoding: 'utf8' };
  } catch {
    return { text: bytes.toString('base64'), encoding: 'base64' };
  }
}

function formatRecord(partition: number, r: LogRecord, json: boolean): string {
  const key = encodeBytes(r.key);
  const value = encodeBytes(r.value);
  if (json) {
    return JSON.stringify({
      partition,
      offset: r.offset,
      timestampMs: r.timestampMs,
      key: key.text,
      keyEncoding: key.encoding,
      value: value.text,
      valueEncoding: value.encoding,
    });
  }
  const tag = (e: { text: string; encoding: string }) =>
    e.encoding === 'base64' ? `base64:${e.text}` : JSON.stringify(e.text);
  return `${r.offset}\t${new Date(r.timestampMs).toISOString()}\tkey=${tag(key)}\t${tag(value)}`;
}

function formatReport(report: LogReport, verified: boolean): string {
  const lines: string[] = [];
  const writer =
    report.writerPid === null ? 'none' : `pid ${report.writerPid} (running: the newest bytes may still be in flight)`;
  lines.push(`log ${report.dir}: ${report.partitions} partition(s), writer: ${writer}`);
  for (const p of report.partitionReports) {
    lines.push(
      `partition ${p.partition}: offsets [${p.offsetStart}, ${p.offsetEnd})  ${p.offsetEnd - p.offsetStart} records  ${p.segments.length} segment(s)  ${p.bytes} bytes`,
    );
    for (const s of p.segments) {
      const records = s.records === undefined ? '' : `  ${s.records} records`;
      lines.push(`  ${s.file.split('/').pop()}  offsets [${s.base}, ${s.offsetNext})  ${s.bytes} bytes${records}`);
    }
  }
  if (report.groups.length === 0) lines.push('consumer groups: none');
  for (const g of report.groups) {
    lines.push(`group ${g.group}: lag ${g.lagTotal}`);
    for (const row of g.partitions) {
      const behind = row.behindRetention ? '  (behind retention: the next read resumes at offsetStart)' : '';
      lines.push(`  partition ${row.partition}: committed ${row.committed}  lag ${row.lag}${behind}`);
    }
  }
  if (verified) lines.push(`verified: ${report.recordsVerified ?? 0} record(s) checked`);
  if (report.problems.length === 0)
    lines.push(
      verified ? 'no problems found' : 'no problems found at segment tails (run with --verify for a full check)',
    );
  for (const pr of report.problems) {
    const what = pr.kind === 'torn-tail' ? 'torn tail (truncated when the log is next opened for writing)' : 'CORRUPT';
    lines.push(`${what}: ${pr.file} byte ${pr.position} offset ${pr.offset}: ${pr.detail}`);
  }
  return lines.join('\n');
}
