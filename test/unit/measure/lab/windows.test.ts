import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../../helpers/cli.js';
import { appendRecord, readRecords, type RunRecord } from '../../../../src/measure/lab/windows.js';
import { describeMachine } from '../../../../src/measure/lab/machine.js';
import { isShockError } from '../../../../src/base/index.js';

const run: RunRecord = {
  kind: 'run',
  startedAt: '2026-11-23T12:00:00.000Z',
  name: 't',
  target: 'http://127.0.0.1:1/',
  command: null,
  nMeaning: 'client concurrency (closed loop)',
  plan: [1, 2],
  windows: 1,
  windowMs: 100,
  stealPctMax: 10,
  constraints: {
    keys: 'uniform',
    zipfExponent: null,
    fsync: 'unknown',
    telemetry: 'unknown',
    operatingN: null,
    crossShardFraction: null,
    notes: [],
  },
  floors: { storageFsyncPerSec: null, networkRttUsP99: null, source: 'none' },
  machine: describeMachine(),
};

test('lab windows - a torn last line (a crash mid-write) is ignored; the rest reads back', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'windows.ndjson');
    appendRecord(path, run);
    appendFileSync(path, '{"kind":"window","n":');
    const back = readRecords(path);
    assert.deepEqual(back.run, run);
    assert.equal(back.windows.length, 0);
  } finally {
    cleanup();
  }
});

test('lab windows - a file without a run line is refused', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'windows.ndjson');
    appendFileSync(path, '{"kind":"window"}\n');
    assert.throws(
      () => readRecords(path),
      (e: unknown) => isShockError(e) && e.code === 'SHOCK_REPORT_INVALID',
    );
    assert.throws(
      () => readRecords(join(dir, 'none.ndjson')),
      (e: unknown) => isShockError(e) && e.code === 'SHOCK_CLI_INPUT_UNREADABLE',
    );
  } finally {
    cleanup();
  }
});
