/**
 * The consumers run below the ingress in the scheduler (`consumers.niceness`, default 10): in a real `shock serve`,
 * exactly the consumer worker threads carry the configured nice value, read back from the kernel
 * (/proc/<pid>/task/<tid>/stat), while the thread that answers HTTP keeps the process's own; with `niceness: 0`
 * no thread changes. Linux only (nice values are per thread there).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { tempDir } from '../helpers/cli.js';
import { fetchStats, postEvent, startServe, testKeys, waitUntil, writeConfig } from '../helpers/cell-serve.js';

/** The nice value of every thread of `pid`, by thread id (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNice(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: fields are counted after its closing parenthesis.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), Number(fields[16]));
    } catch {
      // A thread that ended while listing.
    }
  }
  return out;
}

async function consumersWith(niceness: number | undefined, check: (nice: Map<number, number>, pid: number) => void) {
  const t = tempDir('shock-serve-nice-');
  const consumers = { workers: 2, ...(niceness === undefined ? {} : { niceness }) };
  const config = writeConfig(t.dir, {
    tenants: [{ id: 'acme', keyHashes: [testKeys.acme.hash] }],
    log: { partitions: 4 },
    consumers,
  });
  const serve = await startServe(`${t.dir}/data`, ['--config', config]);
  try {
    const ok = await postEvent(serve.url, testKeys.acme.key, { type: 'page.view', payload: { url: '/' } });
    assert.equal(ok.status, 202);
    // Consumers are running once the event is consumed.
    await waitUntil(async () => {
      const stats = (await fetchStats(serve)) as { consumers: { lagEvents: number } };
      return stats.consumers.lagEvents === 0;
    });
    const pid = serve.child.pid!;
    check(threadNice(pid), pid);
  } finally {
    await serve.stop();
    t.cleanup();
  }
}

test(
  'serve consumer niceness - the consumer threads, and only they, run at the configured nice value',
  { skip: process.platform !== 'linux' },
  async () => {
    await consumersWith(7, (nice, pid) => {
      assert.equal(nice.get(pid), 0, 'the thread that answers HTTP keeps nice 0');
      const lowered = [...nice].filter(([, n]) => n === 7);
      assert.equal(lowered.length, 2, `two consumer worker threads at nice 7: ${JSON.stringify([...nice])}`);
      assert.equal([...nice].filter(([, n]) => n !== 0 && n !== 7).length, 0);
    });
    // The default is 10.
    await consumersWith(undefined, (nice) => {
      assert.equal([...nice].filter(([, n]) => n === 10).length, 2);
    });
    await consumersWith(0, (nice) => {
      assert.deepEqual(
        [...nice].filter(([, n]) => n !== 0),
        [],
        'niceness 0 changes no thread',
      );
    });
  },
);
