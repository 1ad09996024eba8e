/**
 * The JetStream log's health while its nats-server goes away and comes back (stopped and restarted by its PID on
 * the same port and store): healthy at open; a problem naming NATS once the server is gone, and a failing
 * partition after an append fails; healthy again once the server is back, without any append (the log probes the
 * failed partition's stream itself); appends go on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openJetStreamLog } from '../../src/log/index.js';
import { natsSkipReason, startNatsServer } from '../helpers/nats.js';

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(
  'jetstream health - NATS unreachable is reported at once and clears after a restart',
  { skip: natsSkipReason(), timeout: 120_000 },
  async () => {
    const nats = await startNatsServer();
    const log = await openJetStreamLog({
      servers: nats.url,
      partitions: 2,
      streamPrefix: 'health',
      requestTimeoutMs: 1000,
    });
    try {
      await log.append(0, [{ key: Buffer.from('k'), value: Buffer.from('before') }]);
      assert.deepEqual(log.health(), { ok: true, problems: [] });

      const pid = nats.pid;
      assert.ok(pid !== undefined);
      await nats.stop(); // SIGTERM to that PID, SIGKILL after a bound
      await until('the lost connection to show', () => !log.health().ok);
      assert.match(
        log.health().problems.join('; '),
        /NATS unreachable since .* \(reconnecting to nats:\/\/127\.0\.0\.1:/,
      );

      await assert.rejects(log.append(1, [{ key: Buffer.alloc(0), value: Buffer.from('x') }]), {
        code: 'SHOCK_LOG_IO',
      });
      assert.match(log.health().problems.join('; '), /JetStream log partition\(s\) 1 failing: append to partition 1/);

      await nats.restart();
      assert.notEqual(nats.pid, pid);
      // Reconnected, and the failed partition's stream answered a probe: healthy with no append in between.
      await until('health to come back', () => log.health().ok, 30_000);
      assert.deepEqual(log.health(), { ok: true, problems: [] });
      const r = await log.append(1, [{ key: Buffer.alloc(0), value: Buffer.from('after') }]);
      assert.equal(r.count, 1);
    } finally {
      await log.close();
      await nats.cleanup();
    }
  },
);
