/**
 * Option parsers for commander that fail with a ShockError naming the option, the rule and the value given
 * ("`--rate` must be > 0 requests/s, got -5").
 */
import { shockError } from '../base/index.js';

export function parseNumber(
  option: string,
  opts: { min?: number; max?: number; integer?: boolean; unit?: string } = {},
) {
  return (raw: string): number => {
    const value = Number(raw);
    const unit = opts.unit ? ` ${opts.unit}` : '';
    if (raw.trim() === '' || !Number.isFinite(value)) {
      throw shockError('SHOCK_CLI_USAGE', `${option} must be a number${unit}, got "${raw}"`);
    }
    if (opts.integer && !Number.isInteger(value)) {
      throw shockError('SHOCK_CLI_USAGE', `${option} must be a whole number${unit}, got ${raw}`);
    }
    if (opts.min !== undefined && value < opts.min) {
      throw shockError('SHOCK_CLI_USAGE', `${option} must be >= ${opts.min}${unit}, got ${raw}`);
    }
    if (opts.max !== undefined && value > opts.max) {
      throw shockError('SHOCK_CLI_USAGE', `${option} must be <= ${opts.max}${unit}, got ${raw}`);
    }
    return value;
  };
}

/** Strictly positive number. */
export function parsePositive(option: string, unit?: string) {
  return (raw: string): number => {
    const value = parseNumber(option, { unit })(raw);
    if (!(value > 0)) throw shockError('SHOCK_CLI_USAGE', `${option} must be > 0${unit ? ' ' + unit : ''}, got ${raw}`);
    return value;
  };
}

/** Durations like 500ms, 10s, 2m, 1h (a bare number is seconds). Returns milliseconds. */
export function parseDurationMs(raw: string, option = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) throw shockError('SHOCK_CLI_USAGE', `${option} must be a duration like 500ms, 30s, 2m or 1h, got "${raw}"`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  const ms = n * factor;
  if (!(ms > 0)) throw shockError('SHOCK_CLI_USAGE', `${option} must be > 0, got "${raw}"`);
  return ms;
}
