/**
 * Measurement text → rows: CSV with headers in the usual spellings, TSV, JSON in its common shapes, and every
 * unreadable row named at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMeasurementText } from '../../../src/physics/index.js';

test('parse - CSV with an N,X header (any case, extra columns, comments, CRLF)', () => {
  assert.deepEqual(parseMeasurementText('N,X\n1,955.16\n2,1878.91\n'), [
    { n: 1, x: 955.16 },
    { n: 2, x: 1878.91 },
  ]);
  assert.deepEqual(parseMeasurementText('# campaign 3\nrun,throughput,nodes\r\na,100,1\r\nb,180,2\r\n'), [
    { n: 1, x: 100 },
    { n: 2, x: 180 },
  ]);
  assert.deepEqual(parseMeasurementText('1\t100\n2\t190\n'), [
    { n: 1, x: 100 },
    { n: 2, x: 190 },
  ]);
  assert.deepEqual(parseMeasurementText('concurrency;rps\n4;300\n'), [{ n: 4, x: 300 }]);
});

test('parse - JSON: objects, pairs, column arrays, a measurements field', () => {
  const expected = [
    { n: 1, x: 10 },
    { n: 2, x: 19 },
  ];
  assert.deepEqual(parseMeasurementText('[{"n":1,"x":10},{"N":2,"X":19}]'), expected);
  assert.deepEqual(parseMeasurementText('[[1,10],[2,19]]'), expected);
  assert.deepEqual(parseMeasurementText('{"n":[1,2],"x":[10,19]}'), expected);
  assert.deepEqual(
    parseMeasurementText('{"measurements":[{"nodes":1,"throughput":10},{"nodes":2,"throughput":19}]}'),
    expected,
  );
});

test('parse - unreadable input is SHOCK_FIT_INPUT_INVALID naming every bad line', () => {
  assert.throws(() => parseMeasurementText('  \n', 'f.csv'), {
    code: 'SHOCK_FIT_INPUT_INVALID',
    message: /f.csv: the file is empty/,
  });
  assert.throws(
    () => parseMeasurementText('N,X\n1,ten\n2,20\nthree,30\n', 'f.csv'),
    (err: any) =>
      err.code === 'SHOCK_FIT_INPUT_INVALID' &&
      /2 unreadable/.test(err.message) &&
      /line 2/.test(err.message) &&
      /line 4/.test(err.message),
  );
  assert.throws(() => parseMeasurementText('{"n":[1,2],"x":[1]}'), {
    code: 'SHOCK_FIT_INPUT_INVALID',
    message: /has 2 values/,
  });
  assert.throws(() => parseMeasurementText('[{"n": 1'), { code: 'SHOCK_FIT_INPUT_INVALID', message: /not valid JSON/ });
  assert.throws(() => parseMeasurementText('N,X\n1\n'), {
    code: 'SHOCK_FIT_INPUT_INVALID',
    message: /expected at least 2 columns/,
  });
});
