import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFileLog } from '../../src/log/index.js';
import { encodeJournalEntry, journalName } from '../../src/log/file/journal.js';
import { segmentName } from '../../src/log/file/segment.js';
import { runCli, tempDir } from '../helpers/cli.js';

async function makeLog(dir: string): Promise<void> {
  const log = await openFileLog({ dir, partitions: 2, segmentBytesMax: 300 });
  for (let i = 0; i < 12; i++)
    await log.append(1, [
      { key: Buffer.from(`k${i}`), value: Buffer.from(`{"n":${i}}`), timestampMs: 1_700_000_000_000 + i },
    ]);
  await log.append(0, [{ key: Buffer.alloc(0), value: Buffer.from([0xff, 0xfe, 0x00]) }]);
  await log.offsets.commit('billing', 1, 5);
  await log.close();
}

test('log cli - inspect shows partitions, segments, offsets and lag per group', async () => {
  const { dir, cleanup } = tempDir('shock-logcli-');
  try {
    await makeLog(dir);
    const text = await runCli(['log', 'inspect', dir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /partition 1: offsets \[0, 12\)/);
    assert.match(text.stdout, /group billing: lag 7/);
    const json = await runCli(['log', 'inspect', dir, '--verify', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.equal(report.partitions, 2);
    assert.equal(report.recordsVerified, 13);
    assert.deepEqual(report.problems, []);
    assert.equal(report.groups[0].partitions[0].lag, 7);
    assert.ok(report.partitionReports[1].segments.length > 1);
    assert.deepEqual(report.journal, { files: 0, entries: 0, bytes: 0 }, 'a clean close leaves no journal');
  } finally {
    cleanup();
  }
});

test('log cli - inspect shows a journal a writer left behind, and the next open replays and removes it', async () => {
  const { dir, cleanup } = tempDir('shock-logcli-');
  try {
    await makeLog(dir);
    // What a crashed writer leaves: a journal entry holding partition 0's record (already in its segment too).
    const payload = readFileSync(join(dir, 'partitions', '0', segmentName(0)));
    writeFileSync(
      join(dir, 'journal', journalName(4)),
      encodeJournalEntry({ partition: 0, segmentBase: 0, position: 0, offsetFirst: 0, records: 1, payload }),
    );
    const text = await runCli(['log', 'inspect', dir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /journal: 1 file\(s\), 1 entries, \d+ bytes of records \(left by a writer that did not close/,
    );
    const log = await openFileLog({ dir, partitions: 2 });
    await log.close();
    const json = JSON.parse((await runCli(['log', 'inspect', dir, '--json'])).stdout);
    assert.deepEqual(json.journal, { files: 0, entries: 0, bytes: 0 });
  } finally {
    cleanup();
  }
});

test('log cli - inspect --verify names the file and byte of a corrupt record and exits 65', async () => {
  const { dir, cleanup } = tempDir('shock-logcli-');
  try {
    await makeLog(dir);
    const pdir = join(dir, 'partitions', '1');
    const first = join(
      pdir,
      readdirSync(pdir)
        .filter((n) => n.endsWith('.log'))
        .sort()[0],
    );
    const bytes = readFileSync(first);
    bytes[12] ^= 0x55; // inside the offset field of the first record
    writeFileSync(first, bytes);
    const r = await runCli(['log', 'inspect', dir, '--verify']);
    assert.equal(r.code, 65);
    assert.ok(r.stdout.includes(`CORRUPT: ${first} byte 0 offset 0`), r.stdout);
    const read = await runCli(['log', 'read', dir, '--partition', '1', '--from', '0']);
    assert.equal(read.code, 65);
    assert.match(read.stderr, /SHOCK_LOG_CORRUPT_RECORD/);
  } finally {
    cleanup();
  }
});

test('log cli - read prints NDJSON with utf8 or base64 values', async () => {
  const { dir, cleanup } = tempDir('shock-logcli-');
  try {
    await makeLog(dir);
    const r = await runCli(['log', 'read', dir, '--partition', '1', '--from', '3', '--limit', '4', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => l.offset),
      [3, 4, 5, 6],
    );
    assert.deepEqual(lines[0], {
      partition: 1,
      offset: 3,
      timestampMs: 1_700_000_000_003,
      tenant: null, // not an event: no identity
      eventId: null,
      key: 'k3',
      keyEncoding: 'utf8',
      value: '{"n":3}',
      valueEncoding: 'utf8',
    });
    const bin = JSON.parse((await runCli(['log', 'read', dir, '-p', '0', '--json'])).stdout);
    assert.equal(bin.valueEncoding, 'base64');
    assert.deepEqual(Buffer.from(bin.value, 'base64'), Buffer.from([0xff, 0xfe, 0x00]));
    const text = await runCli(['log', 'read', dir, '-p', '1', '--limit', '2']);
    assert.equal(text.stdout.trim().split('\n').length, 2);
  } finally {
    cleanup();
  }
});

test('log cli - missing directory, bad partition and offset out of range are clear errors', async () => {
  const { dir, cleanup } = tempDir('shock-logcli-');
  try {
    await makeLog(dir);
    const missing = await runCli(['log', 'inspect', join(dir, 'nope')]);
    assert.equal(missing.code, 66);
    assert.match(missing.stderr, /no log directory at .*nope \[SHOCK_CLI_INPUT_UNREADABLE\]/);
    const notLog = await runCli(['log', 'inspect', join(dir, 'partitions')]);
    assert.match(notLog.stderr, /holds no shock log/);
    const bad = await runCli(['log', 'read', dir, '--partition', '9']);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /SHOCK_LOG_BAD_PARTITION/);
    const far = await runCli(['log', 'read', dir, '--partition', '1', '--from', '99', '--json']);
    assert.equal(far.code, 64);
    assert.equal(JSON.parse(far.stderr).error.code, 'SHOCK_LOG_OFFSET_OUT_OF_RANGE');
    const help = await runCli(['log', 'read', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--partition/);
  } finally {
    cleanup();
  }
});
