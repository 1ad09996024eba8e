/**
 * A private PostgreSQL server per test file (whichever version is installed, see `findPostgresBinDir`): `initdb` into a fresh temporary directory, then `postgres` started
 * as a direct child of the test process on a free loopback port, its socket in that directory, `fsync=on`. As root
 * (CI), PostgreSQL refuses to run, so initdb and the server run as the `postgres` user (spawned with its uid/gid;
 * the directory is chowned to it). The server is our child so that we reap it ourselves: a SIGKILLed server must
 * not linger as a zombie that its own restart would take for a live postmaster.
 *
 * `kill9()` is a crash: SIGKILL to the postmaster and to each of its backends, by PID (only the processes of the
 * server started here). `restart()` starts it again on the same directory and port (crash recovery replays the WAL).
 * `stop()` is a fast shutdown (SIGINT, `pg_ctl stop -m fast` semantics), SIGKILL if it does not end, then the
 * directory is removed. Nothing is ever matched by name.
 */
import { after, before } from 'node:test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/measure/lab/target.js';
import { skipUnlessAvailable } from './dependency.js';

/** Where Debian's postgresql-NN packages put the server binaries: `/usr/lib/postgresql/<version>/bin`. */
const DEBIAN_POSTGRES_ROOT = '/usr/lib/postgresql';

/**
 * The directory of PostgreSQL's server binaries (`initdb`, `postgres`): `SHOCK_POSTGRES_BIN` when set; else
 * `pg_config --bindir` when it holds `initdb`; else the newest `/usr/lib/postgresql/<version>/bin` that does
 * (Debian installs each major version there). Undefined when none is found. `.ci/run` searches the same way.
 */
export function findPostgresBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SHOCK_POSTGRES_BIN) return env.SHOCK_POSTGRES_BIN;
  const hasInitdb = (dir: string) => existsSync(join(dir, 'initdb'));
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const bindir = pgConfig.status === 0 ? pgConfig.stdout.trim() : '';
  if (bindir && hasInitdb(bindir)) return bindir;
  let versions: string[] = [];
  try {
    versions = readdirSync(DEBIAN_POSTGRES_ROOT).filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    // no Debian PostgreSQL installed
  }
  const newestFirst = versions.sort((a, b) => Number(b) - Number(a)).map((v) => join(DEBIAN_POSTGRES_ROOT, v, 'bin'));
  return newestFirst.find(hasInitdb);
}

/** The server binaries' directory (see `findPostgresBinDir`); the Debian 15 path in messages when none is found. */
export const postgresBinDir: string = findPostgresBinDir() ?? join(DEBIAN_POSTGRES_ROOT, '15', 'bin');

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresMissing(): string | undefined {
  for (const b of ['initdb', 'postgres']) {
    if (!existsSync(join(postgresBinDir, b))) {
      return `PostgreSQL binaries not found (${join(postgresBinDir, b)}; searched SHOCK_POSTGRES_BIN, pg_config --bindir, ${DEBIAN_POSTGRES_ROOT}/*/bin): install Debian's postgresql package (.ci/run does), or set SHOCK_POSTGRES_BIN`;
    }
  }
  if (process.getuid?.() === 0 && postgresUser() === undefined) {
    return 'running as root and there is no "postgres" user to run PostgreSQL as (install the postgresql package)';
  }
  return undefined;
}

/**
 * The `skip` option of a test that needs PostgreSQL: false when it can run here; else the reason locally, and
 * under CI a failure (dependency.ts).
 */
export function postgresSkipReason(): string | false {
  return skipUnlessAvailable(postgresMissing());
}

/** A running private server. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication on loopback). */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** The postmaster's PID. */
  pid(): number;
  /** SIGKILL the postmaster and its backends; resolves once all of them are gone. */
  kill9(): Promise<void>;
  /** Starts the server again on the same data directory and port; resolves once it accepts connections. */
  restart(): Promise<void>;
  /** Server log so far (stderr of the postmaster), for failure messages. */
  logText(): string;
  /** Fast shutdown and removal of the directory. Idempotent. */
  stop(): Promise<void>;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const u = id('-u');
  const g = id('-g');
  if (u.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** `initdb` a fresh cluster and start it. Throws with the tool's output when it cannot. */
export async function startPostgres(): Promise<PostgresServer> {
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  const ids = user ? { uid: user.uid, gid: user.gid } : {};
  // As root the server runs as `postgres`, which must reach the directory: /tmp, whatever TMPDIR says.
  const dir = mkdtempSync(join(user ? '/tmp' : tmpdir(), 'shock-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const init = spawnSync(
    join(postgresBinDir, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
    { ...ids, encoding: 'utf8', timeout: 60_000 },
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr}${init.stdout}`);
  }
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  let stopped = false;

  const launch = async () => {
    const c = spawn(
      join(postgresBinDir, 'postgres'),
      ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=on'],
      { ...ids, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = c;
    c.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    await waitReady(url, c, () => log);
  };

  /** The postmaster's children (its backends), from /proc: every process whose parent is `pid`. */
  const children = (pid: number): number[] => {
    const found: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === pid) found.push(Number(name));
      } catch {
        // the process ended while we looked
      }
    }
    return found;
  };

  const server: PostgresServer = {
    url,
    port,
    dir,
    pid: () => child?.pid ?? -1,
    async kill9() {
      const c = child;
      if (c?.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
      const backends = children(c.pid);
      c.kill('SIGKILL');
      for (const pid of backends) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
      await waitGone(backends);
    },
    async restart() {
      await launch();
    },
    logText: () => log,
    async stop() {
      if (stopped) return;
      stopped = true;
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        c.kill('SIGINT'); // fast shutdown
        const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await launch();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** Connects until the server answers (bounded: 30 s, or the server exits). */
async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}) while starting:\n${log()}`);
    }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline)
        throw new Error(`postgres did not accept connections within 30 s: ${String(err)}\n${log()}`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Waits until none of `pids` is a live process (a zombie counts as gone: it holds no memory, socket or lock). */
async function waitGone(pids: number[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  const alive = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  };
  while (pids.some(alive)) {
    if (Date.now() > deadline) throw new Error(`postgres processes ${pids.filter(alive).join(', ')} did not die`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A plain client for test assertions (the caller ends it). */
export async function connectPostgres(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  return client;
}

/**
 * One private server for the calling test file: started before its tests, stopped after them. `skip` is the `skip`
 * option for its tests (`postgresSkipReason`: a reason locally when PostgreSQL is missing, a failure under CI);
 * `server()` is the running server inside a test.
 */
export function privatePostgres(): { skip: string | false; server: () => PostgresServer } {
  const skip = postgresSkipReason();
  let server: PostgresServer | undefined;
  before(async () => {
    if (skip === false) server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });
  return {
    skip,
    server: () => {
      if (server === undefined) throw new Error('the private PostgreSQL is not running (skipped, or before() failed)');
      return server;
    },
  };
}
