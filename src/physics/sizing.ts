/**
 * Partition and cell sizing from the A2 paper ("Designing High-Throughput Distributed Systems at Scale", §4.3 and
 * §6.2): partitions = ceil(target / consumer throughput), over-provisioned (2× recommended) for headroom; a cell's
 * capacity is the minimum of its network, database and consumer ceilings, and a cell is sized to 60–70% of it.
 */
import { shockError } from '../base/index.js';

function domain(message: string): never {
  throw shockError('SHOCK_PHYSICS_DOMAIN', message);
}

function positive(name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) domain(`${name} must be > 0, got ${v}`);
}

export interface PartitionPlan {
  /** ceil(target / per-consumer throughput). */
  readonly required: number;
  /** ceil(required × over-provisioning factor). */
  readonly deployed: number;
  readonly overProvision: number;
  /** Target load over deployed capacity. */
  readonly utilisation: number;
  /** Deployed capacity over target: the spike the partitions absorb. */
  readonly headroom: number;
}

/** Partitions for a target rate (A2 §4.3): 1.2M RPS at 200k per consumer → 6 required, 12 deployed at 2×, 50%. */
export function planPartitions(targetPerSec: number, consumerPerSec: number, overProvision = 2): PartitionPlan {
  positive('the target rate', targetPerSec);
  positive('the per-consumer throughput', consumerPerSec);
  if (!(Number.isFinite(overProvision) && overProvision >= 1))
    domain(`over-provisioning must be >= 1, got ${overProvision}`);
  const required = Math.ceil(targetPerSec / consumerPerSec - 1e-12);
  const deployed = Math.ceil(required * overProvision - 1e-12);
  const capacity = deployed * consumerPerSec;
  return { required, deployed, overProvision, utilisation: targetPerSec / capacity, headroom: capacity / targetPerSec };
}

export interface CellInputs {
  /** Network bandwidth of the cell, bytes per second (10 Gbps = 1.25e9). */
  readonly networkBytesPerSec?: number;
  /** Mean event size on the wire, bytes (for the network ceiling). */
  readonly eventBytes?: number;
  /** Database (sink) writes per second it sustains (IOPS). */
  readonly databaseWritesPerSec?: number;
  /** Consumers and the events per second each handles. */
  readonly consumers?: number;
  readonly consumerPerSec?: number;
  /** Fraction of capacity to plan for (default 0.65, inside the paper's 60–70%). */
  readonly utilisationTarget?: number;
}

export interface CellPlan {
  /** Each ceiling in events per second. */
  readonly ceilings: { readonly name: 'network' | 'database' | 'consumers'; readonly eventsPerSec: number }[];
  /** min of the ceilings. */
  readonly capacity: number;
  readonly bottleneck: 'network' | 'database' | 'consumers';
  readonly utilisationTarget: number;
  /** capacity × utilisation target: the load to size a cell for. */
  readonly plannedPerSec: number;
  /** The paper's 60–70% range, for reference. */
  readonly plannedRange: readonly [number, number];
}

/**
 * Cell capacity = min(network, database, consumers) (A2 §6.2). 10 Gbps at 1 KB events = 1.25M/s, 100k IOPS, 6 × 200k
 * consumers = 1.2M/s → 100k/s, bottleneck the database; plan for 60–70k/s.
 */
export function planCell(inputs: CellInputs): CellPlan {
  const ceilings: CellPlan['ceilings'] = [];
  if (inputs.networkBytesPerSec !== undefined || inputs.eventBytes !== undefined) {
    positive('network bandwidth (bytes/s)', inputs.networkBytesPerSec ?? NaN);
    positive('event size (bytes)', inputs.eventBytes ?? NaN);
    ceilings.push({ name: 'network', eventsPerSec: inputs.networkBytesPerSec! / inputs.eventBytes! });
  }
  if (inputs.databaseWritesPerSec !== undefined) {
    positive('database writes/s', inputs.databaseWritesPerSec);
    ceilings.push({ name: 'database', eventsPerSec: inputs.databaseWritesPerSec });
  }
  if (inputs.consumers !== undefined || inputs.consumerPerSec !== undefined) {
    positive('consumers', inputs.consumers ?? NaN);
    positive('per-consumer throughput', inputs.consumerPerSec ?? NaN);
    ceilings.push({ name: 'consumers', eventsPerSec: inputs.consumers! * inputs.consumerPerSec! });
  }
  if (ceilings.length === 0)
    domain('give at least one ceiling: network (bandwidth and event size), database, or consumers');
  const target = inputs.utilisationTarget ?? 0.65;
  if (!(target > 0 && target <= 1)) domain(`the utilisation target must be in (0, 1], got ${target}`);
  const binding = ceilings.reduce((a, b) => (b.eventsPerSec < a.eventsPerSec ? b : a));
  return {
    ceilings,
    capacity: binding.eventsPerSec,
    bottleneck: binding.name,
    utilisationTarget: target,
    plannedPerSec: binding.eventsPerSec * target,
    plannedRange: [binding.eventsPerSec * 0.6, binding.eventsPerSec * 0.7],
  };
}

/** Cells needed for a target rate when each is planned at `plannedPerSec`. */
export function cellsFor(targetPerSec: number, plannedPerSec: number): number {
  positive('the target rate', targetPerSec);
  positive('the planned per-cell rate', plannedPerSec);
  return Math.ceil(targetPerSec / plannedPerSec - 1e-12);
}
