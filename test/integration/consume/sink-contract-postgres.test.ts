/**
 * The Sink contract (test/helpers/sink-contract.ts) against the PostgreSQL sink on a private PostgreSQL 15 server
 * started for this file; each test gets a fresh schema of its own. Skipped, saying why, without the binaries.
 */
import { after, before } from 'node:test';
import { openPostgresSink } from '../../../src/consume/index.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../../helpers/postgres.js';
import { runSinkContract } from '../../helpers/sink-contract.js';

const skip = postgresSkipReason();
let server: PostgresServer | undefined;
let schemas = 0;

before(async () => {
  if (skip === undefined) server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

runSinkContract(
  'postgres',
  async () => {
    const schema = `contract_${++schemas}`;
    const url = server!.url;
    return { open: () => openPostgresSink({ url, schema }), cleanup: () => undefined };
  },
  { skip },
);
