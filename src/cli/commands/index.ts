/**
 * Every `shock` subcommand registers itself here. Each module exports `register(program)`.
 * Keep one import and one list entry per command.
 */
import type { Command } from 'commander';

export type Register = (program: Command) => void;

export const commands: Register[] = [];
