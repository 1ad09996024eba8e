/** The machine a lab run measured on, for the certificate (numbers hold on this hardware, not on another). */
import { arch, cpus, hostname, platform, release, totalmem } from 'node:os';
import type { CertificateMachine } from '../report/certificate.js';

/** Describes this machine. */
export function describeMachine(): CertificateMachine {
  const list = cpus();
  return {
    os: platform(),
    release: release(),
    arch: arch(),
    cpus: list.length,
    cpuModel: list[0]?.model?.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.version,
    hostname: hostname(),
  };
}
