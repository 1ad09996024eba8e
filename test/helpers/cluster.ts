/**
 * A three-node NATS JetStream cluster (and optionally PostgreSQL) in network namespaces, through the project's own
 * `scripts/cluster` — the same script an operator or CI uses. Each call takes a cluster id of its own (its own
 * subnet 10.213.ID.0/24 and names shkID-*), so test files running side by side never share one. `down()` removes
 * everything the script created.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './cli.js';
import { natsServerBinary } from './nats.js';

export const clusterScript = join(repoRoot, 'scripts/cluster');

export interface ClusterHost {
  name: string;
  address: string;
  namespace: string;
  pid: number | null;
  process: 'alive' | 'none';
  link: 'up' | 'down';
  metaLeader: string | null;
}

export interface ClusterStatus {
  id: number;
  nodes: number;
  natsUrls: string[];
  hosts: ClusterHost[];
}

export interface Cluster {
  readonly id: number;
  readonly natsUrls: string[];
  /** postgres://… of the cluster's PostgreSQL (when started with `postgres: true`). */
  readonly postgresUrl: string | undefined;
  /** Runs a `scripts/cluster` command on this cluster; throws with its output when it fails. */
  run(...args: string[]): string;
  status(): ClusterStatus;
  /** Adds a namespace ("machine") for a gateway or consumer; returns its address. */
  host(name: string): string;
  /** The argv prefix that runs a command inside host/node `name`'s namespace. */
  execPrefix(name: string): string[];
  down(): void;
}

/** Why a cluster cannot run here (root, iproute2 and nats-server are needed), or undefined when it can. */
export function clusterMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) is not installed';
  if (!natsServerBinary()) return 'nats-server is not installed (apt-get install nats-server)';
  return undefined;
}

function script(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('bash', [clusterScript, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Starts a cluster on a free id (10-250), retrying another id if one is taken or was left behind. */
export function startCluster(options: { postgres?: boolean; nodes?: number } = {}): Cluster {
  const extra = [...(options.postgres ? ['--postgres'] : []), '--nodes', String(options.nodes ?? 3)];
  for (let attempt = 0; attempt < 20; attempt++) {
    const id = 10 + Math.floor(Math.random() * 241);
    if (existsSync(`/tmp/shock-cluster-${id}`)) continue;
    const r = script(['up', '--id', String(id), ...extra]);
    if (r.status === 0) return clusterHandle(id, options.postgres === true);
    if (!r.out.includes('already up')) throw new Error(`scripts/cluster up failed:\n${r.out}`);
  }
  throw new Error('scripts/cluster: no free cluster id after 20 tries');
}

function clusterHandle(id: number, postgres: boolean): Cluster {
  const run = (...args: string[]) => {
    const r = script([...args, '--id', String(id)]);
    if (r.status !== 0) throw new Error(`scripts/cluster ${args.join(' ')} failed (${r.status}):\n${r.out}`);
    return r.out;
  };
  const status = () => JSON.parse(run('status', '--json')) as ClusterStatus;
  return {
    id,
    natsUrls: status().natsUrls,
    postgresUrl: postgres ? `postgres://postgres@10.213.${id}.20:5432/postgres` : undefined,
    run,
    status,
    host: (name) => run('host', name).trim(),
    execPrefix: (name) => ['ip', 'netns', 'exec', `shk${id}-${name}`],
    down: () => {
      run('down');
    },
  };
}
