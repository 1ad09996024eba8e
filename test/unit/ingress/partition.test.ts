/**
 * The partitioner must route a key exactly where a Kafka producer would. The vectors are taken from the Kafka
 * clients' own tests, not computed by us:
 * - Apache Kafka `clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java`, `testMurmur2` (read at
 *   apache/kafka commit f55581dc73953c3509a4702433aeeeddc2970779): six inputs and Java's signed int results.
 * - librdkafka `src/rdmurmur2.c`, `unittest_murmur2`, table `java_murmur2_results` (unsigned 32-bit, "validated
 *   against Java Kafka output"), which adds unaligned tails of every length and the empty key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { murmur2, partitionForKey, toPositive } from '../../../src/ingress/partition.js';

const kafkaUtilsTest: Array<[Uint8Array, number]> = [
  [Buffer.from('21'), -973932308],
  [Buffer.from('foobar'), -790332482],
  [Buffer.from('a-little-bit-long-string'), -985981536],
  [Buffer.from('a-little-bit-longer-string'), -1486304829],
  [Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
  [new Uint8Array([0x61, 0x62, 0x63]), 479470107],
];

const librdkafkaJavaResults: Array<[string, number]> = [
  ['kafka', 0xd067cf64],
  ['giberish123456789', 0x8f552b0c],
  ['1234', 0x9fc97b14],
  ['234', 0xe7c009ca],
  ['34', 0x873930da],
  ['4', 0x5a4b5ca1],
  ['PreAmbleWillBeRemoved,ThePrePartThatIs', 0x78424f1c],
  ['reAmbleWillBeRemoved,ThePrePartThatIs', 0x4a62b377],
  ['eAmbleWillBeRemoved,ThePrePartThatIs', 0xe0e4e09e],
  ['AmbleWillBeRemoved,ThePrePartThatIs', 0x62b8b43f],
  ['', 0x106e08d9],
];

test('partition - murmur2 matches Kafka UtilsTest.testMurmur2', (t) => {
  t.plan(kafkaUtilsTest.length);
  for (const [bytes, expected] of kafkaUtilsTest) t.assert.equal(murmur2(bytes), expected);
});

test('partition - murmur2 matches librdkafka java_murmur2_results (every tail length, empty key)', (t) => {
  t.plan(librdkafkaJavaResults.length);
  for (const [text, expected] of librdkafkaJavaResults) t.assert.equal(murmur2(Buffer.from(text)) >>> 0, expected);
});

test('partition - toPositive clears the sign bit like Kafka (not Math.abs)', () => {
  assert.equal(toPositive(-2147483648), 0);
  assert.equal(toPositive(-1), 0x7fffffff);
  assert.equal(toPositive(5), 5);
});

test('partition - partitionForKey is toPositive(murmur2) % P, always in range', () => {
  assert.equal(partitionForKey(Buffer.from('foobar'), 50), toPositive(-790332482) % 50);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 1024 }), (key, p) => {
      const partition = partitionForKey(key, p);
      return Number.isInteger(partition) && partition >= 0 && partition < p && partition === partitionForKey(key, p);
    }),
    { numRuns: 500 },
  );
});
