/**
 * A real `nats-server` with JetStream for tests, as nats.js `nst/src/launcher.ts` does it: a child process on a free
 * loopback port with its own store directory, ready once it logs "Server is ready", stopped by its own PID
 * (SIGTERM, then SIGKILL) — never any process this helper did not start. `kill()` is a SIGKILL (a crash);
 * `restart()` starts a new server on the same port and store directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { tempDir } from './cli.js';
import { findBinary, skipUnlessAvailable } from './dependency.js';
import { freePort } from '../../src/measure/lab/target.js';

/** Where Debian's `nats-server` package installs the binary; `NATS_SERVER` overrides it. */
const NATS_SERVER_CANDIDATES = [process.env.NATS_SERVER, '/usr/sbin/nats-server', '/usr/bin/nats-server'];
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

/** The nats-server binary, or undefined when this machine has none. */
export function natsServerBinary(): string | undefined {
  return findBinary('nats-server', NATS_SERVER_CANDIDATES);
}

/**
 * The `skip` option of a test that needs nats-server: false when it is installed; else the reason locally, and under
 * CI a failure (dependency.ts; CI installs it: `.ci/run`).
 */
export function natsSkipReason(): string | false {
  return skipUnlessAvailable(
    natsServerBinary() ? undefined : 'nats-server is not installed (apt-get install nats-server, or set NATS_SERVER)',
  );
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  readonly pid: number | undefined;
  /** SIGKILL, as a crash would; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts a new server on the same port and store directory (after `kill` or `stop`). */
  restart(): Promise<void>;
  /** SIGTERM, SIGKILL after a bound; resolves once the process is gone. */
  stop(): Promise<void>;
  /** Stops the server and removes its store directory. */
  cleanup(): Promise<void>;
}

export async function startNatsServer(): Promise<NatsServer> {
  const binary = natsServerBinary();
  if (!binary) throw new Error('nats-server is not installed');
  const store = tempDir('shock-nats-');
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = await launchServer(binary, port, store.dir);
  };
  const stopWith = async (signal: NodeJS.Signals) => {
    const c = child;
    child = undefined;
    if (c) await stopChild(c, signal);
  };
  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir: store.dir,
    get pid() {
      return child?.pid;
    },
    kill: () => stopWith('SIGKILL'),
    restart: async () => {
      await stopWith('SIGTERM');
      await launch();
    },
    stop: () => stopWith('SIGTERM'),
    cleanup: async () => {
      await stopWith('SIGTERM');
      store.cleanup();
    },
  };
}

async function launchServer(binary: string, port: number, storeDir: string): Promise<ChildProcess> {
  const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`nats-server not ready after ${READY_TIMEOUT_MS} ms`)),
        READY_TIMEOUT_MS,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${output}`));
      });
    });
  } catch (err) {
    await stopChild(child, 'SIGKILL');
    throw err;
  }
  // Keep draining its output so the pipe never fills and blocks the server.
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

/** Signals the child by its own PID and waits for its exit, escalating to SIGKILL after a bound. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
  });
  if (await Promise.race([exited.then(() => false), late])) {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}
