/**
 * The network floor: round-trip time percentiles to host:port over TCP. `connect` times the TCP handshake (SYN →
 * SYN-ACK, one RTT); `echo` keeps one connection and times a payload's round trip to a server that echoes it.
 * Samples are sequential (one in flight), so each is a clean RTT, not a queueing delay.
 */
import { connect, type Socket } from 'node:net';
import { shockError } from '../../base/index.js';
import {
  createLatencyHistogram,
  encodeHistogram,
  recordLatencyMs,
  summarizeMs,
  type LatencySummaryMs,
} from '../histogram/index.js';

export type NetworkProbeMode = 'connect' | 'echo';

export interface NetworkProbeOptions {
  host: string;
  port: number;
  /** Default 'connect'. */
  mode?: NetworkProbeMode;
  /** Default 100. */
  samples?: number;
  /** Echo payload, bytes. Default 64. */
  payloadBytes?: number;
  /** Per-sample timeout, ms. Default 2000. */
  timeoutMs?: number;
}

export interface NetworkProbeResult {
  schema: 'shock.probe.network/1';
  startTime: string;
  target: string;
  mode: NetworkProbeMode;
  samples: number;
  errors: number;
  rttMs: LatencySummaryMs;
  histogram: string;
}

/** Parses `host:port` (IPv6 as `[::1]:port`); SHOCK_CLI_USAGE when malformed. */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) {
    throw shockError('SHOCK_CLI_USAGE', `the target must be HOST:PORT (port 1..65535), got "${text}"`, {
      hint: 'e.g. shock probe network 127.0.0.1:4222',
    });
  }
  return { host: m[1] ?? m[2], port };
}

export async function probeNetwork(o: NetworkProbeOptions): Promise<NetworkProbeResult> {
  const mode = o.mode ?? 'connect';
  const samples = o.samples ?? 100;
  const timeoutMs = o.timeoutMs ?? 2000;
  if (!(Number.isInteger(samples) && samples >= 1 && samples <= 1_000_000)) {
    throw shockError('SHOCK_CLI_USAGE', `samples must be 1..1000000, got ${samples}`);
  }
  const startTime = new Date().toISOString();
  const histogram = createLatencyHistogram();
  let errors = 0;
  let firstError: unknown;
  if (mode === 'connect') {
    for (let i = 0; i < samples; i++) {
      try {
        recordLatencyMs(histogram, await timeConnect(o.host, o.port, timeoutMs));
      } catch (err) {
        errors++;
        firstError ??= err;
      }
    }
  } else {
    const socket = await openSocket(o.host, o.port, timeoutMs).catch((err: unknown) => {
      firstError = err;
      return null;
    });
    if (socket === null) errors = samples;
    else {
      try {
        const payload = Buffer.alloc(o.payloadBytes ?? 64, 0x61);
        for (let i = 0; i < samples; i++) recordLatencyMs(histogram, await timeEcho(socket, payload, timeoutMs));
      } catch (err) {
        errors = samples - histogram.totalCount;
        firstError = err;
      } finally {
        socket.destroy();
      }
    }
  }
  if (histogram.totalCount === 0) {
    throw shockError('SHOCK_PROBE_FAILED', `no round trip to ${o.host}:${o.port} succeeded`, {
      cause: (firstError as { code?: string })?.code ?? String(firstError),
      hint:
        mode === 'echo'
          ? 'the peer must echo what it receives'
          : 'check the host, the port and that something listens there',
    });
  }
  return {
    schema: 'shock.probe.network/1',
    startTime,
    target: `${o.host}:${o.port}`,
    mode,
    samples: histogram.totalCount,
    errors,
    rttMs: summarizeMs(histogram),
    histogram: encodeHistogram(histogram),
  };
}

function openSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connect timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

async function timeConnect(host: string, port: number, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  const socket = await openSocket(host, port, timeoutMs);
  const rttMs = performance.now() - t0;
  socket.destroy();
  return rttMs;
}

function timeEcho(socket: Socket, payload: Buffer, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const t0 = performance.now();
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received >= payload.length) {
        cleanup();
        resolve(performance.now() - t0);
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => onError(Object.assign(new Error('the peer closed the connection'), { code: 'ECONNRESET' }));
    const timer = setTimeout(
      () => onError(Object.assign(new Error(`no echo within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.write(payload);
  });
}
