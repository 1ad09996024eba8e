/**
 * `shock` — the command line. Only this layer knows argv, stdout and exit codes; commands throw ShockErrors and
 * `reportError` maps them to a message and an exit code.
 */
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.js';
import { reportError } from './output.js';
import { VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('shock')
    .description('shockabsorber: a durable, backpressured ingest cell and the physics lab that measures how it scales.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  const wantsJson = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 64;
    return reportError(err, wantsJson);
  }
}

const invokedDirectly =
  process.argv[1] !== undefined &&
  (import.meta.url.endsWith(process.argv[1]) ||
    process.argv[1].endsWith('bin/shock.js') ||
    process.argv[1].endsWith('cli/main.ts') ||
    process.argv[1].endsWith('cli/main.js'));
if (invokedDirectly) {
  const code = await run(process.argv.slice(2));
  process.exitCode = code;
}
