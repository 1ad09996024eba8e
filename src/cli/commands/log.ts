/**
 * `shock log inspect TARGET` and `shock log read TARGET` — the tools a user reaches for when something looks wrong
 * with a log (Kafka's kafka-dump-log and console consumer). TARGET is a file log's directory, or the NATS URL(s) of
 * a JetStream log (with `--stream-prefix`). Both are read-only: they take no lock, create and change nothing, and
 * work beside a running cell (and, for the file log, on a read-only disk).
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { decodeEvent, ExitCode, shockError } from '../../base/index.js';
import {
  activeGeneration,
  generationDir,
  inspectDataDir,
  inspectJetStreamLog,
  inspectLog,
  isDataDir,
  openJetStreamLogReader,
  readLogDir,
  readManifest,
  type JetStreamLogReport,
  type DataDirReport,
  type JetStreamTarget,
  type LogRecord,
  type LogReport,
  type RetentionRecord,
} from '../../log/index.js';
import { printJson, printText } from '../output.js';
import { parseNumber } from '../parse.js';

interface TargetOptions {
  streamPrefix: string;
}

interface InspectOptions extends TargetOptions {
  verify?: boolean;
  json?: boolean;
}

interface ReadOptions extends TargetOptions {
  partition: number;
  generation?: number;
  from?: number;
  limit: number;
  json?: boolean;
}

const TARGET_HELP = 'a file log directory, or the NATS URL(s) of a JetStream log (nats://host:4222, comma-separated)';
const STREAM_PREFIX_HELP = 'JetStream: the streamPrefix of the cell configuration (streams <prefix>_<p>)';

/** A NATS URL (or a comma-separated list of them) names a JetStream log; anything else is a directory. */
export function jetStreamTarget(target: string, streamPrefix: string): JetStreamTarget | undefined {
  const urls = target
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u.length > 0);
  if (urls.length === 0 || !urls.every((u) => /^(nats|tls):\/\//.test(u))) return undefined;
  return { servers: urls, streamPrefix };
}

export function register(program: Command): void {
  const log = program
    .command('log')
    .description('examine a log (file log directory or JetStream): partitions, offsets, consumer lag, records')
    .addHelpText(
      'after',
      `
Examples:
  shock log inspect data          (a cell's data directory: every log generation, lag across generations)
  shock log inspect data/log
  shock log inspect data/log --verify --json
  shock log read data/log --partition 3 --from 1200 --limit 20 --json
  shock log read data --partition 3 --limit 20     (a data directory: its active generation; --generation N)
  shock log inspect nats://127.0.0.1:4222 --stream-prefix shock
  shock log read nats://127.0.0.1:4222 --partition 0 --limit 5 --json`,
    );

  log
    .command('inspect')
    .description('partitions, segments (file log) or streams (JetStream), offsets, committed offsets and lag per group')
    .argument('<target>', TARGET_HELP)
    .option('--stream-prefix <prefix>', STREAM_PREFIX_HELP, 'shock')
    .option('--verify', 'check the CRC and the sequence of every record of every segment (or stream)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Without --verify only each segment's tail is checked (from its last index entry). A "torn tail" in the last
segment of a partition is what a crash leaves behind; the log truncates it the next time it is opened for
writing. Any other problem is corruption: the report names the file, the byte position and the offset.
Exit code 65 when --verify finds a problem. The report shows the retention the writer applied at its last open
(retention.json: maxAge, maxBytes) and each partition's first offset left.

TARGET a cell's data directory (the one holding log/ and, after a reshard, generations.json and log-g<n>/): each
generation with its state (active, sealed = being drained, retired), partitions, offsets, sealed ends, retention
(held while sealed) and per-group lag, then the lag per group summed over the generations still being consumed.
A group with no committed offset in a generation counts that generation from its first offset.

For a JetStream log (TARGET a NATS URL): per partition the stream's offsets, messages, bytes and retention limits
(as the server reports them), committed offsets and lag per group, and for a group behind retention how many records
were removed before it consumed them (its consumers resume at the oldest record left). --verify reads every record
back and checks its CRC-32C.`,
    )
    .action(async (target: string, opts: InspectOptions) => {
      const js = jetStreamTarget(target, opts.streamPrefix);
      if (js !== undefined) {
        const report = await inspectJetStreamLog(js, { verify: opts.verify === true });
        if (opts.json) printJson(report);
        else printText(formatJetStreamReport(report, opts.verify === true));
        if (report.problems.length > 0) process.exitCode = ExitCode.dataErr;
        return;
      }
      const dir = target;
      if (await isDataDir(dir)) {
        const report = await inspectDataDir(dir, { verify: opts.verify === true });
        if (opts.json) printJson(report);
        else printText(formatDataDirReport(report, opts.verify === true));
        if (report.problems.some((p) => p.kind === 'corrupt') || (opts.verify && report.problems.length > 0)) {
          process.exitCode = ExitCode.dataErr;
        }
        return;
      }
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
    .argument('<target>', TARGET_HELP)
    .option('--stream-prefix <prefix>', STREAM_PREFIX_HELP, 'shock')
    .requiredOption('-p, --partition <n>', 'partition number', parseNumber('--partition', { min: 0, integer: true }))
    .option(
      '--generation <n>',
      "TARGET a cell's data directory: the log generation to read (default: the active one)",
      parseNumber('--generation', { min: 0, integer: true }),
    )
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
    .option(
      '--json',
      'one JSON object per line: partition, offset, timestampMs, tenant, eventId, key, value and their encodings',
    )
    .addHelpText(
      'after',
      `
Keys and values are printed as UTF-8 text when they are valid UTF-8, else as base64; with --json the fields
keyEncoding and valueEncoding say which ("utf8" or "base64"). A record holding an event shows its identity,
tenant and event id (an event is (tenant, event_id): two tenants may use the same id); null for other records.
An offset that retention removed is SHOCK_LOG_OFFSET_OUT_OF_RANGE, naming the oldest offset left.

TARGET may be a cell's data directory (as for inspect): the records of its active log generation, or of the one
--generation names (after a reshard, offsets are per generation: \`shock log inspect DATA_DIR\` lists them).`,
    )
    .action(async (target: string, opts: ReadOptions) => {
      const js = jetStreamTarget(target, opts.streamPrefix);
      if (js !== undefined) return readJetStream(js, opts);
      const dir = await logDirOf(target, opts.generation);
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

/**
 * The log directory `shock log read` reads: TARGET itself when it is a log directory; for a cell's data directory
 * the directory of its active generation (`log` until the first reshard), or of the generation `--generation` names.
 */
async function logDirOf(target: string, generation: number | undefined): Promise<string> {
  if (!(await isDataDir(target))) {
    if (generation !== undefined) {
      throw shockError('SHOCK_CLI_USAGE', `--generation applies to a cell's data directory; ${target} is one log`, {
        hint: `drop --generation, or pass the data directory that holds ${target}`,
      });
    }
    return target;
  }
  const manifest = await readManifest(target);
  if (manifest === null) {
    // A data directory that never resharded: generation 0 only.
    if (generation !== undefined && generation !== 0) throw noGeneration(target, generation, [0]);
    return join(target, generationDir(0));
  }
  const chosen =
    generation === undefined ? activeGeneration(manifest) : manifest.generations.find((g) => g.gen === generation);
  if (chosen === undefined) {
    throw noGeneration(
      target,
      generation ?? -1,
      manifest.generations.map((g) => g.gen),
    );
  }
  if (chosen.state === 'retired') {
    throw shockError(
      'SHOCK_CLI_INPUT_UNREADABLE',
      `generation ${chosen.gen} of ${target} was retired: its records were consumed and its directory removed`,
      { generation: chosen.gen, hint: `\`shock log inspect ${target}\` lists the generations left` },
    );
  }
  return join(target, chosen.dir);
}

function noGeneration(target: string, generation: number, known: number[]) {
  return shockError('SHOCK_CLI_USAGE', `${target} has no generation ${generation} (it has ${known.join(', ')})`, {
    hint: `pass --generation ${known.join('|')}, or leave it out for the active one`,
  });
}

/** `shock log read` on a JetStream log: the same records, through a read-only reader. */
async function readJetStream(target: JetStreamTarget, opts: ReadOptions): Promise<void> {
  const log = await openJetStreamLogReader(target);
  try {
    const { offsetStart } = await log.partitionInfo(opts.partition);
    let next = opts.from ?? offsetStart;
    let printed = 0;
    while (printed < opts.limit) {
      if (next >= log.state(opts.partition).offsetEnd && printed > 0) break;
      const records = await log.read(opts.partition, next, {
        recordsMax: Math.min(1000, opts.limit - printed),
        bytesMax: 4 * 1024 * 1024,
      });
      for (const r of records) process.stdout.write(formatRecord(opts.partition, r, opts.json === true) + '\n');
      printed += records.length;
      if (records.length === 0) break;
      next = records[records.length - 1].offset + 1;
    }
  } finally {
    await log.close();
  }
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

/** The identity `(tenant, event_id)` of the event a record holds; nulls when the value is not an event. */
export function eventIdentity(value: Buffer): { tenant: string | null; eventId: string | null } {
  try {
    const event = decodeEvent(value);
    return { tenant: typeof event.tenant === 'string' ? event.tenant : null, eventId: event.event_id };
  } catch {
    return { tenant: null, eventId: null };
  }
}

function formatRecord(partition: number, r: LogRecord, json: boolean): string {
  const key = encodeBytes(r.key);
  const value = encodeBytes(r.value);
  const { tenant, eventId } = eventIdentity(r.value);
  if (json) {
    return JSON.stringify({
      partition,
      offset: r.offset,
      timestampMs: r.timestampMs,
      tenant,
      eventId,
      key: key.text,
      keyEncoding: key.encoding,
      value: value.text,
      valueEncoding: value.encoding,
    });
  }
  const tag = (e: { text: string; encoding: string }) =>
    e.encoding === 'base64' ? `base64:${e.text}` : JSON.stringify(e.text);
  const identity = eventId === null ? '' : `tenant=${JSON.stringify(tenant)}\tevent_id=${JSON.stringify(eventId)}\t`;
  return `${r.offset}\t${new Date(r.timestampMs).toISOString()}\t${identity}key=${tag(key)}\t${tag(value)}`;
}

function formatReport(report: LogReport, verified: boolean): string {
  const lines: string[] = [];
  const writer =
    report.writerPid === null ? 'none' : `pid ${report.writerPid} (running: the newest bytes may still be in flight)`;
  lines.push(`log ${report.dir}: ${report.partitions} partition(s), writer: ${writer}`);
  lines.push(formatRetention(report.retention));
  const j = report.journal;
  if (j.files > 0) {
    const state =
      report.writerPid === null
        ? 'left by a writer that did not close cleanly: the next open writes back what a segment lost'
        : 'in use by the writer';
    lines.push(`journal: ${j.files} file(s), ${j.entries} entries, ${j.bytes} bytes of records (${state})`);
  }
  if (report.dataDir !== undefined) {
    lines.push(
      `(one generation of the data directory ${report.dataDir}: \`shock log inspect ${report.dataDir}\` shows every generation and the lag across them)`,
    );
  }
  lines.push(...formatPartitions(report, ''));
  if (report.groups.length === 0) lines.push('consumer groups: none');
  for (const g of report.groups) {
    lines.push(`group ${g.group}: lag ${g.lagTotal}`);
    for (const row of g.partitions) {
      lines.push(`  partition ${row.partition}: committed ${row.committed}  lag ${row.lag}${retentionNote(row)}`);
    }
  }
  lines.push(...formatProblems(report.problems, verified, report.recordsVerified));
  return lines.join('\n');
}

/** What retention took from a group on one partition (as for a JetStream log). */
function retentionNote(row: { behindRetention: boolean; removedBeforeConsumed: number }): string {
  if (row.behindRetention) {
    return `  (behind retention: ${row.removedBeforeConsumed} record(s) removed before they were consumed; the next read resumes at offsetStart)`;
  }
  if (row.removedBeforeConsumed > 0) {
    return `  (${row.removedBeforeConsumed} record(s) were removed by retention before they were consumed)`;
  }
  return '';
}

function formatPartitions(report: LogReport, indent: string, sealedEnd: number[] | null = null): string[] {
  const lines: string[] = [];
  for (const p of report.partitionReports) {
    const sealed = sealedEnd === null ? '' : `  sealed end ${sealedEnd[p.partition]}`;
    lines.push(
      `${indent}partition ${p.partition}: offsets [${p.offsetStart}, ${p.offsetEnd})${sealed}  ${p.offsetEnd - p.offsetStart} records  ${p.segments.length} segment(s)  ${p.bytes} bytes`,
    );
    for (const s of p.segments) {
      const records = s.records === undefined ? '' : `  ${s.records} records`;
      lines.push(
        `${indent}  ${s.file.split('/').pop()}  offsets [${s.base}, ${s.offsetNext})  ${s.bytes} bytes${records}`,
      );
    }
  }
  return lines;
}

function formatProblems(problems: LogReport['problems'], verified: boolean, recordsVerified?: number): string[] {
  const lines: string[] = [];
  if (verified) lines.push(`verified: ${recordsVerified ?? 0} record(s) checked`);
  if (problems.length === 0)
    lines.push(
      verified ? 'no problems found' : 'no problems found at segment tails (run with --verify for a full check)',
    );
  for (const pr of problems) {
    const what = pr.kind === 'torn-tail' ? 'torn tail (truncated when the log is next opened for writing)' : 'CORRUPT';
    lines.push(`${what}: ${pr.file} byte ${pr.position} offset ${pr.offset}: ${pr.detail}`);
  }
  return lines;
}

/** The file log's retention as its writer recorded it (retention.json), in the configuration's words. */
function formatRetention(r: RetentionRecord | null, heldByGeneration = false): string {
  if (r === null) return 'retention: not recorded (the log was last opened by a version that did not record it)';
  const limits: string[] = [];
  if (r.retentionMs !== null) limits.push(`maxAge ${formatAge(r.retentionMs)}`);
  if (r.retentionBytesMax !== null) limits.push(`maxBytes ${r.retentionBytesMax} per partition`);
  // interest: the limits bound consumed records only; limits: they remove records whoever is behind.
  const set = `${limits.length === 0 ? 'unlimited' : limits.join(', ')}, policy ${r.policy}`;
  if (heldByGeneration) return `retention: held until the generation retires (configured: ${set})`;
  return r.held ? `retention: held, nothing is removed (configured: ${set})` : `retention: ${set}`;
}

function formatDataDirReport(report: DataDirReport, verified: boolean): string {
  const lines: string[] = [];
  const source = report.manifest ? 'generations.json' : 'never resharded: generation 0 in log/';
  lines.push(`data dir ${report.dataDir}: ${report.generations.length} generation(s) (${source})`);
  for (const g of report.generations) {
    const state =
      g.state === 'sealed'
        ? `sealed, being drained (end ${g.sealedEnd === null ? 'not recorded yet' : 'recorded'})`
        : g.state === 'retired'
          ? 'retired (consumed; directory deleted)'
          : 'active (takes appends)';
    lines.push(`generation ${g.gen}: ${state}  ${g.partitions} partition(s)  dir ${g.dir}`);
    if (g.log === undefined) continue;
    const writer = g.log.writerPid === null ? 'none' : `pid ${g.log.writerPid}`;
    lines.push(`  writer: ${writer}  ${formatRetention(g.log.retention, g.retentionState === 'held')}`);
    lines.push(...formatPartitions(g.log, '  ', g.sealedEnd));
    for (const group of g.groups) {
      lines.push(`  group ${group.group}: lag ${group.lag}`);
      for (const row of group.partitions) {
        const committed = row.committed === null ? 'none yet' : String(row.committed);
        lines.push(
          `    partition ${row.partition}: committed ${committed}  end ${row.offsetEnd}  lag ${row.lag}${retentionNote(row)}`,
        );
      }
    }
  }
  if (report.groups.length === 0) lines.push('consumer groups: none');
  else lines.push('lag per group across the generations still being consumed:');
  for (const g of report.groups) {
    const parts = g.byGeneration.map((x) => `generation ${x.gen}: ${x.lag}`).join(', ');
    lines.push(`  group ${g.group}: lag ${g.lagTotal}  (${parts})`);
  }
  lines.push(...formatProblems(report.problems, verified, report.recordsVerified));
  return lines.join('\n');
}

/** Limits as NATS writes them: -1 (0 for max_age) means unlimited. */
function formatLimits(l: JetStreamLogReport['partitionReports'][number]['limits']): string {
  const parts: string[] = [];
  if (l.maxAgeMs > 0) parts.push(`max_age ${formatAge(l.maxAgeMs)}`);
  if (l.maxBytes >= 0) parts.push(`max_bytes ${l.maxBytes}`);
  if (l.maxMsgs >= 0) parts.push(`max_msgs ${l.maxMsgs}`);
  if (l.maxMsgsPerSubject >= 0) parts.push(`max_msgs_per_subject ${l.maxMsgsPerSubject}`);
  return parts.length === 0 ? 'retention: unlimited' : `retention: ${parts.join(' ')}`;
}

function formatAge(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function formatJetStreamReport(report: JetStreamLogReport, verified: boolean): string {
  const lines: string[] = [];
  lines.push(
    `jetstream log ${report.servers.join(',')} prefix ${report.streamPrefix}: ${report.partitions} partition(s)`,
  );
  for (const p of report.partitionReports) {
    lines.push(
      `partition ${p.partition}: stream ${p.stream}  offsets [${p.offsetStart}, ${p.offsetEnd})  ${p.messages} messages  ${p.bytes} bytes  ${formatLimits(p.limits)}`,
    );
  }
  if (report.groups.length === 0) lines.push('consumer groups: none');
  for (const g of report.groups) {
    lines.push(`group ${g.group}: lag ${g.lagTotal}`);
    for (const row of g.partitions) {
      const behind = row.behindRetention
        ? `  (behind retention: ${row.removedBeforeConsumed} record(s) removed before they were consumed; the next read resumes at offsetStart)`
        : row.removedBeforeConsumed > 0
          ? `  (${row.removedBeforeConsumed} record(s) were removed by retention before they were consumed)`
          : '';
      lines.push(`  partition ${row.partition}: committed ${row.committed}  lag ${row.lag}${behind}`);
    }
  }
  if (verified) lines.push(`verified: ${report.recordsVerified ?? 0} record(s) checked`);
  if (report.problems.length === 0) {
    lines.push(verified ? 'no problems found' : 'not verified (run with --verify to read back every record)');
  }
  for (const pr of report.problems) {
    lines.push(`CORRUPT: stream ${pr.stream} (partition ${pr.partition}) offset ${pr.offset}: ${pr.detail}`);
  }
  return lines.join('\n');
}
