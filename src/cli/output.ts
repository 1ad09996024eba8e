/**
 * The one place the CLI talks to the terminal: JSON vs text output, and errors → stderr + exit code.
 */
import { ExitCode, isShockError, ShockError } from '../base/index.js';

export interface OutputOptions {
  json?: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

/** Whether stderr is an interactive terminal (progress bars and live lines only then). */
export function isInteractive(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.CI;
}

/** Maps any error to a message on stderr and an exit code (codahale/usl `cmd/usl`: main only maps errors). */
export function reportError(err: unknown, json = false): number {
  if (isShockError(err)) {
    if (json) {
      process.stderr.write(JSON.stringify({ error: err.toJSON() }) + '\n');
    } else {
      let text = `shock: ${err.message} [${err.code}]`;
      const { hint, ...rest } = err.details as { hint?: unknown } & Record<string, unknown>;
      const facts = Object.entries(rest).filter(([, v]) => v !== undefined);
      if (facts.length > 0) text += '\n' + facts.map(([k, v]) => `  ${k}: ${formatDetail(v)}`).join('\n');
      if (hint) text += `\n  what to do: ${String(hint)}`;
      process.stderr.write(text + '\n');
    }
    return err.exitCode;
  }
  const e = err as { code?: string; message?: string; exitCode?: number };
  if (e && typeof e.code === 'string' && e.code.startsWith('commander.')) {
    return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  const wrapped = new ShockError('SHOCK_INTERNAL', { message: `internal error: ${e?.message ?? String(err)}` });
  process.stderr.write(`shock: ${wrapped.message} [${wrapped.code}]\n`);
  if (process.env.SHOCK_DEBUG) process.stderr.write(String((err as Error)?.stack) + '\n');
  return ExitCode.software;
}

function formatDetail(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
