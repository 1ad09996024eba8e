import { openFileLog } from '../../../src/log/index.js';
import { tempDir } from '../../helpers/cli.js';
import { runLogContract } from '../../helpers/log-contract.js';

runLogContract('file log', async (partitions) => {
  const { dir, cleanup } = tempDir('shock-logcontract-');
  return { log: await openFileLog({ dir, partitions, segmentBytesMax: 128 }), cleanup };
});

runLogContract('file log without the journal', async (partitions) => {
  const { dir, cleanup } = tempDir('shock-logcontract-');
  return { log: await openFileLog({ dir, partitions, segmentBytesMax: 128, journal: false }), cleanup };
});
