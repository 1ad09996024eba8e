/**
 * The hardware floors of the certificate (seed 004, Bootstrap Protocol, Phase 1), measured with the probe module:
 * the single-writer durable-commit rate of the storage the system writes to, and the p99 round trip to a peer.
 */
import { probeNetwork, probeStorage, parseHostPort } from '../probe/index.js';
import type { CertificateFloors } from '../report/certificate.js';

/** What to probe; each is skipped when absent. */
export interface FloorProbeOptions {
  /** A directory on the storage to measure (single writer, write + fdatasync). */
  storageDir: string | null;
  /** HOST:PORT to measure TCP connect round trips against. */
  networkTarget: string | null;
  /** Length of the storage phases, ms. */
  storageDurationMs: number;
}

/** Runs the probes asked for and fills the floors; values given directly win when no probe is asked. */
export async function probeFloors(options: FloorProbeOptions, given: CertificateFloors): Promise<CertificateFloors> {
  let storageFsyncPerSec = given.storageFsyncPerSec;
  let networkRttUsP99 = given.networkRttUsP99;
  const sources: string[] = [];
  if (options.storageDir) {
    const storage = await probeStorage({ dir: options.storageDir, durationMs: options.storageDurationMs, writers: 2 });
    storageFsyncPerSec = storage.single.opsPerSec;
    sources.push(`shock probe storage on ${options.storageDir} (${options.storageDurationMs} ms, single writer)`);
  }
  if (options.networkTarget) {
    const { host, port } = parseHostPort(options.networkTarget);
    const network = await probeNetwork({ host, port, mode: 'connect', samples: 200 });
    networkRttUsP99 = network.rttMs.p99 * 1000;
    sources.push(`shock probe network ${options.networkTarget} (TCP connect, 200 samples)`);
  }
  return {
    storageFsyncPerSec,
    networkRttUsP99,
    source: sources.length > 0 ? sources.join('; ') : given.source,
  };
}
