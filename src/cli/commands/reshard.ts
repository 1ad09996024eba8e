/**
 * `shock reshard` — change the partition count of a running cell (file log) through its admin API, with zero
 * downtime: appends switch to a new log generation at once; the consumers drain the old one first, so each key's
 * events keep their order. The cell does the work (src/cell/generation-log.ts); this is the operator's client.
 */
import type { Command } from 'commander';
import { shockError } from '../../base/index.js';
import type { ReshardStatus } from '../../cell/generation-consumers.js';
import { adminOptions, adminRequest, adminTarget, type AdminOptions, type AdminTarget } from '../admin-client.js';
import { printJson, printText } from '../output.js';
import { parseNumber } from '../parse.js';

interface ReshardOptions extends AdminOptions {
  partitions?: number;
  status?: boolean;
  wait?: boolean;
  waitMs: number;
  json?: boolean;
}

/** The status as a few lines of text. */
export function formatReshardStatus(s: ReshardStatus): string {
  const lines = [
    `generation ${s.generation} is active with ${s.partitions} partitions; ${
      s.state === 'draining' ? 'an older generation is draining' : 'nothing is draining'
    }`,
  ];
  for (const g of s.generations) {
    const role = g.state === 'active' ? 'active (appends go here)' : `sealed, draining to its end`;
    const consuming = g.consuming ? ', consumers on it' : '';
    lines.push(`  generation ${g.gen}: ${g.partitions} partitions, ${role}${consuming}, lag ${g.lagEvents} events`);
  }
  if (s.lastError !== null) lines.push(`last error: ${s.lastError}`);
  return lines.join('\n');
}

async function waitIdle(admin: AdminTarget, timeoutMs: number): Promise<ReshardStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await adminRequest<ReshardStatus>(admin, 'GET', '/admin/reshard');
    if (s.state === 'idle') return s;
    if (Date.now() >= deadline) {
      throw shockError('SHOCK_CELL_RESHARD_BUSY', `the old generation is still draining after ${timeoutMs} ms`, {
        status: s,
        hint: 'consumers drain at their own rate: watch the lag with shock reshard --status',
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export function register(program: Command): void {
  adminOptions(program.command('reshard'))
    .description("change a running cell's partition count with zero downtime (file log)")
    .option(
      '--partitions <n>',
      'the new partition count, 1 to 1024',
      parseNumber('--partitions', { min: 1, max: 1024, integer: true }),
    )
    .option('--status', 'only show the generations and the drain')
    .option('--wait', 'after the switch, wait until the old generation has drained and retired')
    .option('--wait-ms <ms>', 'longest --wait', parseNumber('--wait-ms', { min: 1, integer: true }), 600_000)
    .option('--json', 'print the reshard status as JSON')
    .addHelpText(
      'after',
      `
The switch is immediate: from one moment on, new events go to a new log generation with the new partition count
(the gateway never stops answering). The consumers first consume the old generation up to its sealed end, then
start on the new one, so all events of a key accepted before the switch reach the handler before any accepted
after it. The old generation's directory is deleted once it is consumed and committed. One reshard at a time.

Lag is the signal: reshard when lag grows with every consumer busy (docs/operations.md).

Examples:
  shock reshard --partitions 16
  shock reshard --partitions 16 --wait --json
  shock reshard --status --admin http://127.0.0.1:9081 --data-dir /var/lib/shock

The admin token is read from --admin-token, else SHOCK_ADMIN_TOKEN, else DATA_DIR/admin-token (the file shock
serve creates; --data-dir defaults to ./shock-data, as for shock serve).`,
    )
    .action(async (opts: ReshardOptions) => {
      if ((opts.partitions === undefined) === (opts.status !== true)) {
        throw shockError('SHOCK_CLI_USAGE', 'say what to do: exactly one of --partitions N or --status', {
          hint: 'shock reshard --partitions 16, or shock reshard --status',
        });
      }
      const admin = adminTarget(opts);
      let status =
        opts.partitions === undefined
          ? await adminRequest<ReshardStatus>(admin, 'GET', '/admin/reshard')
          : await adminRequest<ReshardStatus>(admin, 'POST', '/admin/reshard', { partitions: opts.partitions });
      if (opts.wait === true) status = await waitIdle(admin, opts.waitMs);
      if (opts.json) printJson(status);
      else printText(formatReshardStatus(status));
    });
}
