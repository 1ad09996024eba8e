/**
 * Every `shock` subcommand registers itself here. Each module exports `register(program)`.
 * Keep one import and one list entry per command.
 */
import type { Command } from 'commander';
import { register as dlq } from './dlq.js';
import { register as fanout } from './fanout.js';
import { register as fit } from './fit.js';
import { register as lab } from './lab.js';
import { register as plan } from './plan.js';
import { register as report } from './report.js';
import { register as reshard } from './reshard.js';
import { register as log } from './log.js';
import { register as load } from './load.js';
import { register as probe } from './probe.js';
import { register as serve } from './serve.js';

export type Register = (program: Command) => void;

export const commands: Register[] = [serve, reshard, dlq, log, load, probe, lab, report, fit, fanout, plan];
