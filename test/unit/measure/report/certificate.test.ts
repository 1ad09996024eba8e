import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../../helpers/cli.js';
import {
  formatCertificate,
  readCertificate,
  validateCertificate,
  writeCertificate,
} from '../../../../src/measure/report/certificate.js';
import { isShockError } from '../../../../src/base/index.js';
import { sampleCertificate } from '../lab/certificate-fixture.js';

test('certificate - JSON round trip keeps every field', () => {
  const { dir, cleanup } = tempDir();
  try {
    const original = sampleCertificate();
    const path = join(dir, 'certificate.json');
    writeCertificate(path, original);
    const back = readCertificate(path);
    assert.deepEqual(back, original);
    assert.equal(formatCertificate(back), formatCertificate(original));
  } finally {
    cleanup();
  }
});

test('certificate - validation refuses unknown keys and names every problem', () => {
  const bad = { ...sampleCertificate(), extra: 1, status: 'done' } as unknown;
  assert.throws(
    () => validateCertificate(bad, 'bad.json'),
    (err: unknown) => {
      assert.ok(isShockError(err));
      assert.equal(err.code, 'SHOCK_REPORT_INVALID');
      const problems = err.details.problems as string[];
      assert.ok(problems.some((p) => p.includes('additional')));
      assert.ok(problems.some((p) => p.includes('/status')));
      return true;
    },
  );
});

test('certificate - a newer version is refused with a message naming the version', () => {
  const newer = { ...sampleCertificate(), version: 2 } as unknown;
  assert.throws(
    () => validateCertificate(newer, 'new.json'),
    (err: unknown) => isShockError(err) && err.code === 'SHOCK_REPORT_INVALID' && /version 2/.test(err.message),
  );
});

test('certificate - unreadable and non-JSON files get their own codes', () => {
  const { dir, cleanup } = tempDir();
  try {
    assert.throws(
      () => readCertificate(join(dir, 'missing.json')),
      (e: unknown) => isShockError(e) && e.code === 'SHOCK_CLI_INPUT_UNREADABLE',
    );
    const path = join(dir, 'torn.json');
    writeFileSync(path, '{"schema": ');
    assert.throws(
      () => readCertificate(path),
      (e: unknown) => isShockError(e) && e.code === 'SHOCK_REPORT_INVALID',
    );
  } finally {
    cleanup();
  }
});

test('certificate - a partial certificate without fit or latency is valid', () => {
  const c = {
    ...sampleCertificate(),
    status: 'partial' as const,
    partialReason: 'interrupted',
    fit: null,
    latency: [],
    points: [],
  };
  assert.deepEqual(validateCertificate(JSON.parse(JSON.stringify(c))), c);
});
