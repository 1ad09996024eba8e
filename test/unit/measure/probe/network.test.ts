import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { parseHostPort, probeNetwork } from '../../../../src/measure/probe/index.js';

test('network probe - HOST:PORT parses, IPv6 in brackets; anything else is a usage error', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:4222'), { host: '127.0.0.1', port: 4222 });
  assert.deepEqual(parseHostPort('[::1]:80'), { host: '::1', port: 80 });
  for (const bad of ['127.0.0.1', ':80', 'host:0', 'host:70000', 'a:b']) {
    assert.throws(() => parseHostPort(bad), { code: 'SHOCK_CLI_USAGE' }, bad);
  }
});

test('network probe - connect and echo RTTs to a loopback echo server; one sample per round trip', async () => {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    for (const mode of ['connect', 'echo'] as const) {
      const r = await probeNetwork({ host: '127.0.0.1', port, mode, samples: 30 });
      assert.equal(r.samples, 30);
      assert.equal(r.errors, 0);
      assert.ok(r.rttMs.p50 > 0 && r.rttMs.p99 >= r.rttMs.p50 && r.rttMs.max >= r.rttMs.p99);
    }
  } finally {
    server.close();
  }
  await assert.rejects(probeNetwork({ host: '127.0.0.1', port, samples: 3 }), { code: 'SHOCK_PROBE_FAILED' });
});
