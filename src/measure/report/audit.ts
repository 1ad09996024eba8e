/**
 * `shock report audit CERT`: the eight auditor's questions of seed 004 ("The Auditor's Questions") answered from a
 * birth certificate — each with the evidence it holds, or "unknown — measure …" naming what would answer it. A
 * question the certificate cannot answer is not a pass: the seed's rule is that a team unable to answer from
 * measurements is interior by definition.
 */
import { latencyValidity, latencyVerdictText, type Certificate } from './certificate.js';

/** One question and its answer. */
export interface AuditAnswer {
  question: string;
  status: 'answered' | 'warning' | 'unknown';
  answer: string;
}

/** The audit of one certificate. */
export interface Audit {
  subject: string;
  createdAt: string;
  answers: AuditAnswer[];
  answeredCount: number;
  unknownCount: number;
}

function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined) return 'unknown';
  if (v === 0) return '0';
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 1 ? v.toFixed(2) : v.toPrecision(digits);
}

function interval(e: { value: number; low: number | null; high: number | null }): string {
  return e.low === null || e.high === null
    ? `${fmt(e.value)} (no interval)`
    : `${fmt(e.value)} [${fmt(e.low)}, ${fmt(e.high)}]`;
}

function q1(c: Certificate): AuditAnswer {
  const question = 'What are your measured α and β from the last load test?';
  if (!c.fit)
    return {
      question,
      status: 'unknown',
      answer: 'unknown — measure: run `shock lab` (the fit failed or was not reached)',
    };
  const noIntervals = c.fit.alpha.low === null;
  return {
    question,
    status: noIntervals ? 'warning' : 'answered',
    answer: `α = ${interval(c.fit.alpha)}, β = ${interval(c.fit.beta)} (90% intervals, ${c.fit.method}, ${c.points.length} points, ${c.createdAt})${
      noIntervals ? '; no intervals: measure at least 5 N points' : ''
    }`,
  };
}

function q2(c: Certificate): AuditAnswer {
  const question = 'What is your N_max, and how many nodes are you currently running?';
  if (!c.fit) return { question, status: 'unknown', answer: 'unknown — measure: run `shock lab` to fit N_max' };
  const nMax = c.fit.nMax ? interval(c.fit.nMax) : 'none (β = 0: an Amdahl ceiling, no peak)';
  const running = c.constraints.operatingN;
  if (running === null) {
    return {
      question,
      status: 'unknown',
      answer: `N_max = ${nMax}, autoscaler ceiling ${fmt(c.fit.autoscalerCeiling)}; running N unknown — record it with --operating-n`,
    };
  }
  const past = c.fit.nMax !== null && running > c.fit.nMax.value;
  return {
    question,
    status: past ? 'warning' : 'answered',
    answer: `N_max = ${nMax}, running ${running}${past ? ': past N_max, every node above it reduces throughput' : ''}`,
  };
}

function q3(c: Certificate): AuditAnswer {
  const question = 'What fraction of writes cross shard boundaries?';
  const f = c.constraints.crossShardFraction;
  if (f === null) {
    return {
      question,
      status: 'unknown',
      answer: 'unknown — measure the cross-shard write rate in production and record it with --cross-shard-fraction',
    };
  }
  return {
    question,
    status: 'answered',
    answer: `${(f * 100).toFixed(1)}% of writes cross shards (recorded constraint)`,
  };
}

function q4(c: Certificate): AuditAnswer {
  const question = 'At 80% target load, how does your P99 compare with your P99 at 20% load?';
  const at80 = c.latency.find((l) => Math.abs(l.loadFraction - 0.8) < 0.05);
  const at20 = c.latency.find((l) => Math.abs(l.loadFraction - 0.2) < 0.05);
  if (!at80)
    return {
      question,
      status: 'unknown',
      answer: 'unknown — measure: the latency run did not complete (re-run `shock lab`)',
    };
  const base = `p99 at 80% = ${fmt(at80.latencyUsP99 / 1000)} ms (open loop, CO-free, ${at80.requests} requests at N = ${at80.n})`;
  const invalid = [at80, at20].filter((l) => l !== undefined && latencyValidity(l) === 'invalid');
  if (invalid.length > 0)
    return {
      question,
      status: 'unknown',
      answer: `unknown — measure again: ${invalid.map((l) => `the ${(l!.loadFraction * 100).toFixed(0)}% latency run is ${latencyVerdictText(l!)}`).join('; ')} (${base}, measured under a load that was not applied)`,
    };
  if (!at20)
    return { question, status: 'warning', answer: `${base}; p99 at 20% unknown — measure it with the 20% latency run` };
  const ratio = at80.latencyUsP99 / Math.max(1, at20.latencyUsP99);
  return {
    question,
    status: 'answered',
    answer: `${base}; p99 at 20% = ${fmt(at20.latencyUsP99 / 1000)} ms; ratio ${ratio.toFixed(2)}. Both runs are open loop, so a small ratio is not a coordinated-omission artefact`,
  };
}

function q5(): AuditAnswer {
  return {
    question: 'Which consistency level does each API endpoint actually require vs. what the database provides?',
    status: 'unknown',
    answer:
      'unknown — measure: list each endpoint with the guarantee its callers depend on; a load test cannot answer this',
  };
}

function q6(): AuditAnswer {
  return {
    question: "What is your leader's CPU utilization relative to your followers at peak load?",
    status: 'unknown',
    answer:
      'unknown — measure per-node CPU at the capacity run’s peak; a leader above 70% with followers below 30% means α dominates',
  };
}

function q7(c: Certificate): AuditAnswer {
  const question = "What is your hottest shard's throughput as a multiple of your average shard's?";
  const keys = c.constraints.keys;
  return {
    question,
    status: 'unknown',
    answer: `unknown — measure per-shard throughput under production keys; this certificate was measured with ${keys} keys${
      keys === 'uniform' ? ' (uniform-synthetic baseline; hot-key correction unknown)' : ''
    }`,
  };
}

function q8(c: Certificate): AuditAnswer {
  const question = 'Is your baseline throughput measured with synchronous or asynchronous WAL flushes?';
  const floor = c.floors.storageFsyncPerSec;
  const floorText =
    floor === null
      ? 'storage fsync floor unknown — measure it with `shock probe`'
      : `storage fsync floor ${fmt(floor)} syncs/s`;
  if (c.constraints.fsync === 'unknown')
    return {
      question,
      status: 'unknown',
      answer: `unknown — record the durability setting with --fsync on|off; ${floorText}`,
    };
  if (c.constraints.fsync === 'off') {
    return {
      question,
      status: 'warning',
      answer: `asynchronous (fsync off): γ is a vanity figure until re-measured with fsync on; ${floorText}`,
    };
  }
  return { question, status: 'answered', answer: `synchronous (fsync on); ${floorText}` };
}

/** Answers the auditor's questions from a certificate. */
export function auditCertificate(c: Certificate): Audit {
  const answers = [q1(c), q2(c), q3(c), q4(c), q5(), q6(), q7(c), q8(c)];
  return {
    subject: c.subject.name,
    createdAt: c.createdAt,
    answers,
    answeredCount: answers.filter((a) => a.status === 'answered').length,
    unknownCount: answers.filter((a) => a.status === 'unknown').length,
  };
}

/** The audit as terminal text. */
export function formatAudit(a: Audit): string {
  const lines = [`audit: ${a.subject} (${a.createdAt})`, ''];
  a.answers.forEach((x, i) => {
    lines.push(`${i + 1}. ${x.question}`, `   [${x.status}] ${x.answer}`);
  });
  lines.push('', `${a.answeredCount} answered from measurements, ${a.unknownCount} unknown.`);
  return lines.join('\n');
}
