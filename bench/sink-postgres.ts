/**
 * The PostgreSQL sink's write rate, in result rows/s, anchored in the same run against raw `pg` inserts of the same
 * rows.
 *
 * What runs, on the same server, each side in its own schema with the same tables (created by the sink's DDL):
 * 1. anchor — one `pg.Client`: `BEGIN`, one multi-row `INSERT INTO results … VALUES ($1…$6), … ON CONFLICT DO
 *    NOTHING` of the batch's 500 rows (3,000 parameters), `COMMIT`. No fencing, no high-water mark.
 * 2. sink — `PostgresSink.write` of the same-shaped batch: `BEGIN`, the fencing `UPDATE owners … WHERE epoch = $`,
 *    one `INSERT … SELECT FROM unnest($arrays) ON CONFLICT DO NOTHING`, `COMMIT`.
 * Both commit with `synchronous_commit = on` (the WAL is flushed at each commit, fsync on). The two sides alternate
 * in rounds so that drift of a shared machine hits both alike; every batch has fresh event ids (no conflicts).
 * Rows are what the built-in handler stores (~100-byte JSON results).
 *
 * The server: a private PostgreSQL 15 started for the run (test/helpers/postgres.ts: initdb into a temporary
 * directory, loopback, fsync on), or the one at SHOCK_BENCH_POSTGRES_URL (the schemas `bench_anchor` and
 * `bench_sink` are dropped and re-created there).
 *
 * Run: node --import tsx bench/sink-postgres.ts [BATCHES_PER_SIDE]   (default 200 batches of 500 rows; ~1 minute)
 */
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import { openPostgresSink, type SinkBatch, type SinkResultRow } from '../src/consume/index.js';
import { startPostgres, type PostgresServer } from '../test/helpers/postgres.js';

const batchRows = 500;
const batchesPerSide = Number(process.argv[2] ?? 200);
const rounds = 10;

function rows(side: string, batch: number): SinkResultRow[] {
  return Array.from({ length: batchRows }, (_, i) => {
    const offset = batch * batchRows + i;
    return {
      tenant: 'acme',
      eventId: `01J${side}${String(offset).padStart(12, '0')}`,
      partition: 0,
      offset,
      resultJson: JSON.stringify({
        type: ['click', 'view', 'purchase'][i % 3],
        tenant: 'acme',
        key: `user-${i % 97}`,
        payloadFields: 3,
      }),
    };
  });
}

/** `($1, $2, …, $7), ($8, …)` for `n` rows of 7 columns. */
function valuesList(n: number): string {
  return Array.from(
    { length: n },
    (_, r) => `(${Array.from({ length: 7 }, (_, c) => `$${r * 7 + c + 1}`).join(', ')})`,
  ).join(', ');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  let server: PostgresServer | undefined;
  const url = process.env.SHOCK_BENCH_POSTGRES_URL ?? (server = await startPostgres()).url;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query('DROP SCHEMA IF EXISTS bench_anchor CASCADE; DROP SCHEMA IF EXISTS bench_sink CASCADE');
    const sink = await openPostgresSink({ url, schema: 'bench_sink' });
    await (await openPostgresSink({ url, schema: 'bench_anchor' })).close(); // the same tables for the anchor
    const anchor = new pg.Client({ connectionString: url, options: '-c synchronous_commit=on' });
    await anchor.connect();
    const insert = {
      name: 'bench_anchor_insert',
      text: `INSERT INTO bench_anchor.results (consumer_group, event_id, log_partition, log_offset, result_json,
               processed_at_ms, tenant) VALUES ${valuesList(batchRows)} ON CONFLICT DO NOTHING`,
    };
    const { epoch } = await sink.claim('bench', 0);
    const time = { anchor: [] as number[], sink: [] as number[] };
    let insertedAnchor = 0;
    let insertedSink = 0;
    const perRound = Math.ceil(batchesPerSide / rounds);
    for (let round = 0, batch = 0; batch < batchesPerSide; round++) {
      const end = Math.min(batchesPerSide, batch + perRound);
      // Alternate which side goes first each round.
      for (const side of round % 2 === 0 ? (['anchor', 'sink'] as const) : (['sink', 'anchor'] as const)) {
        for (let b = batch; b < end; b++) {
          const r = rows(side === 'anchor' ? 'A' : 'S', b);
          const t0 = performance.now();
          if (side === 'anchor') {
            const values: unknown[] = new Array(batchRows * 7);
            const now = Date.now();
            for (let i = 0; i < batchRows; i++) {
              const x = r[i];
              const k = i * 7;
              values[k] = 'bench';
              values[k + 1] = x.eventId;
              values[k + 2] = x.partition;
              values[k + 3] = x.offset;
              values[k + 4] = x.resultJson;
              values[k + 5] = now;
              values[k + 6] = x.tenant;
            }
            await anchor.query('BEGIN');
            insertedAnchor += (await anchor.query({ ...insert, values })).rowCount ?? 0;
            await anchor.query('COMMIT');
          } else {
            const batchOf: SinkBatch = {
              group: 'bench',
              partition: 0,
              epoch,
              results: r,
              deadLetters: [],
              offsetNext: (b + 1) * batchRows,
            };
            insertedSink += (await sink.write(batchOf)).inserted;
          }
          time[side].push(performance.now() - t0);
        }
      }
      batch = end;
    }
    await anchor.end();
    await sink.close();
    const total = batchesPerSide * batchRows;
    if (insertedAnchor !== total || insertedSink !== total) {
      throw new Error(`expected ${total} rows each, anchor ${insertedAnchor}, sink ${insertedSink}`);
    }
    const rate = (ms: number[]) => (ms.length * batchRows * 1000) / ms.reduce((a, b) => a + b, 0);
    const anchorRate = rate(time.anchor);
    const sinkRate = rate(time.sink);
    const version = (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v;
    console.log(
      `PostgreSQL sink vs raw multi-row INSERT, ${batchesPerSide} batches × ${batchRows} rows per side, ` +
        `PostgreSQL ${version}, ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, ` +
        `load ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
    );
    console.log(
      `  anchor: raw pg BEGIN + INSERT … VALUES (500 rows) + COMMIT   ${Math.round(anchorRate).toLocaleString('en')} rows/s   median batch ${median(time.anchor).toFixed(2)} ms`,
    );
    console.log(
      `  sink:   PostgresSink.write (fence + unnest INSERT)            ${Math.round(sinkRate).toLocaleString('en')} rows/s   median batch ${median(time.sink).toFixed(2)} ms`,
    );
    console.log(`  ratio sink / anchor: ${(sinkRate / anchorRate).toFixed(2)}`);
  } finally {
    await admin.end();
    await server?.stop();
  }
}

await main();
