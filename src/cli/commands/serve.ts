/**
 * `shock serve` — one cell on the embedded default (gateway + file log + consumers + SQLite sink) from a
 * configuration file. Prints where it listens, the dashboard and a curl line to try; drains gracefully on
 * SIGTERM/SIGINT (a second signal exits at once).
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import {
  cellRoles,
  exampleConfigYaml,
  hashApiKey,
  loadCellConfig,
  startCell,
  type Cell,
  type CellConfigOverrides,
  type CellEvent,
  type CellRole,
} from '../../cell/index.js';
import { shockError } from '../../base/index.js';
import { printJson, printText } from '../output.js';
import { parseNumber } from '../parse.js';
import { VERSION } from '../version.js';

interface ServeOptions {
  role?: string;
  config?: string;
  dataDir?: string;
  port?: number;
  host?: string;
  adminPort?: number;
  partitions?: number;
  consumers?: number;
  handler?: string;
  exampleConfig?: boolean;
  hashKey?: string;
  json?: boolean;
}

/** Registers `shock serve`. */
export function register(program: Command): void {
  program
    .command('serve')
    .description(
      'start a cell: HTTP gateway + durable log + consumers + sink (embedded default: file log + SQLite; or JetStream / PostgreSQL by configuration), with /metrics and a dashboard',
    )
    .option('-c, --config <file>', 'configuration file, YAML or JSON (see --example-config); none: defaults')
    .option(
      '--role <role>',
      'what this process runs: all (the whole cell, default), gateway (ingress only) or consumer (consumers only); ' +
        'gateway and consumer need log.engine: jetstream, consumer also sink.engine: postgres',
    )
    .option('-d, --data-dir <dir>', 'where the file log, offsets and SQLite sink live (default ./shock-data)')
    .option(
      '-p, --port <n>',
      'public port, 0 = any free port (default 8080)',
      parseNumber('--port', { min: 0, max: 65535, integer: true }),
    )
    .option('--host <host>', 'public address to bind (default 127.0.0.1)')
    .option(
      '--admin-port <n>',
      'admin port on loopback (admin API, /metrics, /v1/stats, dashboard), 0 = any free port (default 8081)',
      parseNumber('--admin-port', { min: 0, max: 65535, integer: true }),
    )
    .option(
      '--partitions <n>',
      'log partitions (default 8)',
      parseNumber('--partitions', { min: 1, max: 1024, integer: true }),
    )
    .option(
      '--consumers <n>',
      'consumer worker threads (default 2)',
      parseNumber('--consumers', { min: 1, max: 256, integer: true }),
    )
    .option('--handler <path>', 'consumer handler module (default: the built-in example handler)')
    .option('--example-config', 'print a commented example configuration and exit')
    .option('--hash-key <key>', 'print the sha256 hash of an API key for the configuration and exit ("-" reads stdin)')
    .option('--json', 'print machine-readable JSON lines instead of text')
    .addHelpText(
      'after',
      `
Examples:
  shock serve                                  zero-config: default tenant, dev key printed below
  shock serve --config shock.yaml --port 9000
  shock serve --example-config > shock.yaml
  shock serve --config cell.yaml --role gateway   a stateless gateway of a cell spread over processes
  shock serve --config cell.yaml --role consumer  consumers that share the group's partitions by leases
  shock serve --hash-key 'my-secret'           sha256:… to put under tenants[].keyHashes

The admin listener wants Authorization: Bearer <admin token>. The token is made at the first start and kept in
DATA_DIR/admin-token (mode 0600; admin.tokenFile names another file), or given by the environment variable
SHOCK_ADMIN_TOKEN. /metrics, /v1/stats and the dashboard are on the admin listener (on loopback they need no
token); http.observabilityPublic: true serves them on the public listener too (docs/cell.md, "Admin access").`,
    )
    .action(async (opts: ServeOptions) => {
      if (opts.exampleConfig) return printText(exampleConfigYaml);
      if (opts.hashKey !== undefined) return printHash(opts);
      await serve(opts);
    });
}

function printHash(opts: ServeOptions): void {
  const key = opts.hashKey === '-' ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : (opts.hashKey ?? '');
  if (key.length < 8)
    throw shockError('SHOCK_CLI_USAGE', `--hash-key needs a key of at least 8 characters, got ${key.length}`);
  const hash = hashApiKey(key);
  if (opts.json) printJson({ keyHash: hash });
  else printText(hash);
}

async function serve(opts: ServeOptions): Promise<void> {
  const overrides: CellConfigOverrides = {
    role: parseRole(opts.role),
    dataDir: opts.dataDir,
    port: opts.port,
    host: opts.host,
    adminPort: opts.adminPort,
    partitions: opts.partitions,
    workers: opts.consumers,
    handler: opts.handler,
  };
  const config = loadCellConfig(opts.config, overrides);
  const cell = await startCell(config, {
    configFile: opts.config,
    version: VERSION,
    onEvent: (event) => process.stderr.write(eventLine(event, opts.json === true)),
    adminToken: process.env.SHOCK_ADMIN_TOKEN,
  });
  if (opts.json) process.stdout.write(JSON.stringify({ event: 'listening', ...cell.describe() }) + '\n');
  else printText(banner(cell));
  await untilSignal(cell, opts.json === true);
}

function parseRole(role: string | undefined): CellRole | undefined {
  if (role === undefined) return undefined;
  if ((cellRoles as readonly string[]).includes(role)) return role as CellRole;
  throw shockError('SHOCK_CLI_USAGE', `--role must be one of ${cellRoles.join(', ')}, got "${role}"`, { role });
}

/**
 * One line on stderr for what the cell reports (a consumer worker restarted, a retention skip, a generation
 * retired): `shock serve warn: <message> {details}`, or with `--json` one JSON object
 * `{"event":"<kind>","level":…,"time":…,"message":…,"details":{…}}`.
 */
export function eventLine(event: CellEvent, json: boolean): string {
  if (json) {
    const { level, kind, message, details } = event;
    return (
      JSON.stringify({ event: kind, level, time: new Date().toISOString(), message, details: details ?? {} }) + '\n'
    );
  }
  const details = event.details && Object.keys(event.details).length > 0 ? ' ' + JSON.stringify(event.details) : '';
  return `shock serve ${event.level}: ${event.message}${details}\n`;
}

/** Waits for SIGTERM/SIGINT, then drains; a second signal exits immediately. */
function untilSignal(cell: Cell, json: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let closing = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (closing) {
        process.stderr.write(`shock serve: second ${signal}, exiting without draining\n`);
        process.exit(130);
      }
      closing = true;
      if (json) process.stdout.write(JSON.stringify({ event: 'draining', signal }) + '\n');
      else
        process.stderr.write(
          `shock serve: ${signal} received, draining (stop accepting, finish appends, commit offsets)\n`,
        );
      cell.close().then(
        () => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          if (json) process.stdout.write(JSON.stringify({ event: 'stopped' }) + '\n');
          else process.stderr.write('shock serve: stopped cleanly\n');
          resolve();
        },
        (err: unknown) => reject(err),
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

function adminReach(adminUrl: string): string {
  return /^http:\/\/(127\.|\[::1\]|localhost)/.test(adminUrl) ? 'loopback only' : 'reachable from the network';
}

function banner(cell: Cell): string {
  const d = cell.describe();
  const what =
    d.role === 'all'
      ? `cell ready (${d.partitions} partitions, ${d.workers} consumer workers, group "${d.group}")`
      : d.role === 'gateway'
        ? `gateway ready (${d.partitions} partitions; the cell's consumers run in other processes)`
        : `consumers ready (${d.workers} workers, group "${d.group}", partitions shared by leases; no ingest here)`;
  const lines = [`shock serve: ${what}`];
  if (d.role !== 'all') lines.push(`  role        ${d.role}`);
  lines.push(`  data dir    ${d.dataDir}`, `  log         ${d.log}`);
  if (d.role !== 'gateway') lines.push(`  sink        ${d.sink}`);
  if (d.role !== 'consumer') lines.push(`  events      POST ${d.url}/v1/events   POST ${d.url}/v1/events/batch`);
  lines.push(`  health      ${d.url}/healthz   ready ${d.url}/readyz`);
  const o = d.observabilityUrl;
  if (o === null)
    lines.push('  dashboard   off (no admin listener; http.observabilityPublic: true serves it publicly)');
  else lines.push(`  dashboard   ${o}/`, `  metrics     ${o}/metrics   stats ${o}/v1/stats`);
  if (d.adminUrl) {
    lines.push(`  admin       ${d.adminUrl}/admin/tenants   (${adminReach(d.adminUrl)})`);
    const where = d.adminTokenFile ?? 'the SHOCK_ADMIN_TOKEN environment variable';
    lines.push(`  admin token ${where}   (Authorization: Bearer; shock dlq/reshard read it with --data-dir)`);
  }
  if (d.devKey) lines.push(`  dev key     ${d.devKey}   (tenant "default"; kept in ${d.devKeyFile})`);
  for (const notice of d.tenantNotices) lines.push(`  warning     ${notice} (admin tenant overrides)`);
  if (d.role !== 'consumer') lines.push('', 'try:', `  ${d.curl}`);
  lines.push('', 'Ctrl-C drains and stops.');
  return lines.join('\n');
}
