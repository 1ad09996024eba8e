/**
 * `shock dlq` — the dead letters of a running cell, through its admin API: list them (a page at a time), and replay
 * them once the cause is fixed. The cell does the work (src/cell/dead-letters.ts); this is the operator's client.
 */
import type { Command } from 'commander';
import { shockError } from '../../base/index.js';
import type { DeadLetterPage, ReplayRequest, ReplayResult } from '../../cell/dead-letters.js';
import { textTable } from '../../measure/report/format.js';
import { adminOptions, adminRequest, adminTarget, type AdminOptions } from '../admin-client.js';
import { printJson, printText } from '../output.js';
import { parseNumber } from '../parse.js';

interface ListOptions extends AdminOptions {
  partition?: number;
  after?: string;
  limit: number;
  json?: boolean;
}

interface ReplayOptions extends AdminOptions {
  all?: boolean;
  partition?: number;
  key: string[];
  limit: number;
  json?: boolean;
}

function parseKey(raw: string, previous: string[]): string[] {
  if (!/^\d{1,9}:\d{1,16}$/.test(raw)) {
    throw shockError('SHOCK_CLI_USAGE', `--key must be <partition>:<offset> as shock dlq list prints it, got "${raw}"`);
  }
  return [...previous, raw];
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= max ? flat : flat.slice(0, max - 1) + '…';
}

export function formatPage(page: DeadLetterPage): string {
  if (page.deadLetters.length === 0) return `no dead letters for group ${page.group}`;
  const rows = page.deadLetters.map((d) => [
    `${d.partition}:${d.offset}`,
    d.tenant ?? '',
    d.eventId ?? '(not an event)',
    d.event?.type ?? '',
    String(d.attempts),
    d.deadAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    oneLine(d.error, 60),
  ]);
  const lines = textTable(['at', 'tenant', 'event id', 'type', 'attempts', 'dead at', 'error'], rows, [
    false,
    false,
    false,
    false,
    true,
    false,
    false,
  ]);
  lines.push('');
  lines.push(`${page.deadLetters.length} shown of ${page.total} dead letters of group ${page.group}`);
  if (page.next !== null) lines.push(`next page: shock dlq list --after ${page.next}`);
  lines.push('replay after fixing the cause: shock dlq replay --all   (or --partition N, or --key P:O ...)');
  return lines.join('\n');
}

export function formatReplay(result: ReplayResult): string {
  const lines = [`replayed ${result.replayed.length} event(s) of group ${result.group}`];
  for (const r of result.replayed.slice(0, 20)) {
    lines.push(
      `  ${r.from.partition}:${r.from.offset} → appended at ${r.partition}:${r.offset}  ${r.tenant} ${r.eventId}`,
    );
  }
  if (result.replayed.length > 20) lines.push(`  … and ${result.replayed.length - 20} more (--json lists all)`);
  if (result.skipped.length > 0) {
    lines.push(`skipped ${result.skipped.length}:`);
    for (const s of result.skipped.slice(0, 20)) lines.push(`  ${s.from.partition}:${s.from.offset}  ${s.reason}`);
  }
  lines.push(`${result.remaining} dead letter(s) left`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const dlq = program
    .command('dlq')
    .description("a running cell's dead letters: list them, replay them once the cause is fixed")
    .addHelpText(
      'after',
      `
A dead letter is an event the handler kept failing on (after retries and isolation); the partition moved on
without it. Replaying appends the same event (same id and key) to the log again and removes the dead-letter row
once that append is durable; the consumers then handle it after everything already in the log, and the sink
stores it once even if it is replayed twice.

Examples:
  shock dlq list
  shock dlq list --partition 3 --limit 50 --json
  shock dlq replay --all
  shock dlq replay --key 3:1207 --key 3:1211
  shock dlq replay --partition 3 --admin http://127.0.0.1:9081 --data-dir /var/lib/shock

The admin token is read from --admin-token, else SHOCK_ADMIN_TOKEN, else DATA_DIR/admin-token (the file shock
serve creates; --data-dir defaults to ./shock-data, as for shock serve).`,
    );

  adminOptions(dlq.command('list'))
    .description('a page of dead letters in (partition, offset) order, with the error and the event')
    .option('--partition <n>', 'only this partition', parseNumber('--partition', { min: 0, integer: true }))
    .option('--after <partition:offset>', 'the page after this dead letter (printed as "next page")')
    .option(
      '--limit <n>',
      'dead letters per page, 1 to 1000',
      parseNumber('--limit', { min: 1, max: 1000, integer: true }),
      100,
    )
    .option('--json', 'print the page as JSON (events included)')
    .action(async (opts: ListOptions) => {
      const q = new URLSearchParams({ limit: String(opts.limit) });
      if (opts.partition !== undefined) q.set('partition', String(opts.partition));
      if (opts.after !== undefined) q.set('after', opts.after);
      const page = await adminRequest<DeadLetterPage>(adminTarget(opts), 'GET', `/admin/dead-letters?${q.toString()}`);
      if (opts.json) printJson(page);
      else printText(formatPage(page));
    });

  adminOptions(dlq.command('replay'))
    .description('append dead-lettered events to the log again and remove their dead-letter rows')
    .option('--all', 'every dead letter of the group (up to --limit per call)')
    .option('--partition <n>', "one partition's dead letters", parseNumber('--partition', { min: 0, integer: true }))
    .option('--key <partition:offset>', 'one dead letter (repeatable)', parseKey, [])
    .option(
      '--limit <n>',
      'most dead letters replayed by this call, 1 to 1000',
      parseNumber('--limit', { min: 1, max: 1000, integer: true }),
      1000,
    )
    .option('--json', 'print what was replayed as JSON')
    .action(async (opts: ReplayOptions) => {
      const chosen = [opts.all === true, opts.partition !== undefined, opts.key.length > 0].filter(Boolean).length;
      if (chosen !== 1) {
        throw shockError('SHOCK_CLI_USAGE', 'say what to replay: exactly one of --all, --partition N or --key P:O', {
          hint: 'shock dlq list shows the dead letters and their P:O',
        });
      }
      const request: ReplayRequest = { limit: opts.limit };
      if (opts.all === true) request.all = true;
      if (opts.partition !== undefined) request.partition = opts.partition;
      if (opts.key.length > 0) {
        request.keys = opts.key.map((k) => {
          const [p, o] = k.split(':').map(Number);
          return { partition: p, offset: o };
        });
      }
      const result = await adminRequest<ReplayResult>(adminTarget(opts), 'POST', '/admin/dead-letters/replay', request);
      if (opts.json) printJson(result);
      else printText(formatReplay(result));
    });
}
