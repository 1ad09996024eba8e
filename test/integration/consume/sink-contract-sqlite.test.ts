/** The Sink contract (test/helpers/sink-contract.ts) against the embedded SQLite sink: one fresh file per test. */
import { join } from 'node:path';
import { openSqliteSink } from '../../../src/consume/index.js';
import { tempDir } from '../../helpers/cli.js';
import { runSinkContract } from '../../helpers/sink-contract.js';

runSinkContract('sqlite', async () => {
  const tmp = tempDir('shock-sinkcontract-');
  const path = join(tmp.dir, 'sink.db');
  return { open: async () => openSqliteSink({ path }), cleanup: tmp.cleanup };
});
