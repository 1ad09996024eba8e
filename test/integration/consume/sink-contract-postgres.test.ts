/**
 * The Sink contract (test/helpers/sink-contract.ts) against the PostgreSQL sink on a private PostgreSQL 15 server
 * started for this file; each test gets a fresh schema of its own. Skipped, saying why, without the binaries.
 */
import { openPostgresSink } from '../../../src/consume/index.js';
import { privatePostgres } from '../../helpers/postgres.js';
import { runSinkContract } from '../../helpers/sink-contract.js';

const { skip, server } = privatePostgres();
let schemas = 0;

runSinkContract(
  'postgres',
  async () => {
    const schema = `contract_${++schemas}`;
    const url = server().url;
    return { open: () => openPostgresSink({ url, schema }), cleanup: () => undefined };
  },
  { skip },
);
