/** The log area's public face: the `Log` interface, record framing and the embedded file log. */
export * from './log.js';
export { crc32c } from './crc32c.js';
export { RECORD_HEADER_BYTES, RECORD_MAGIC, decodeRecord, encodeRecords, recordBytes } from './record.js';
export { openFileLog, readRetention, type FileLog, type FileLogStats, type RetentionRecord } from './file/file-log.js';
export { openFileLogReader, type FileLogReaderOptions } from './file/reader.js';
export { SharedOffsets } from './file/shared-state.js';
export type { FileLogOptions, FileRetentionConfig, LogEvent } from './file/options.js';
export { fileRetentionOptions, fileRetentionProblems } from './file/options.js';
export {
  RETENTION_POLICIES,
  RETENTION_POLICY_DEFAULT,
  logFullError,
  retentionPolicyProblems,
  type LogFullState,
  type RetentionPolicy,
} from './retention-policy.js';
export { segmentsToRemove, unconsumedBytes, type RetentionInput, type RetentionSegment } from './file/retention.js';
export type { PartitionStats } from './file/partition.js';
export type { JournalStats } from './file/journal.js';
export {
  describeLog,
  inspectDataDir,
  inspectLog,
  isDataDir,
  readLogDir,
  type DataDirReport,
  type GenerationLagRow,
  type GenerationReport,
  type GroupReport,
  type LogReport,
  type PartitionReport,
  type SegmentProblem,
  type SegmentReport,
} from './file/inspect.js';
export {
  openJetStreamLog,
  openJetStreamLogReader,
  type JetStreamLog,
  type JetStreamPartitionInfo,
} from './jetstream/jetstream-log.js';
export type { JetStreamLogOptions } from './jetstream/options.js';
export {
  assignPartitions,
  type GroupMember,
  type GroupMemberCallbacks,
  type LeaseView,
  type MembershipStats,
  type RevokeReason,
} from './leases.js';
export { joinJetStreamGroup, type JetStreamGroupOptions } from './jetstream/group.js';
export { defaultMemberId } from './jetstream/leases.js';
export { parseDurationMs, retentionProblems } from './jetstream/options.js';
export {
  inspectJetStreamLog,
  type JetStreamGroupReport,
  type JetStreamLogReport,
  type JetStreamProblem,
  type JetStreamTarget,
} from './jetstream/inspect.js';
export {
  activeGeneration,
  beginReshard,
  checkManifest,
  drainingGenerations,
  generationDir,
  generationPartitionsMax,
  initialManifest,
  parentsOf,
  recordSealedEnd,
  retireGeneration,
  type Generation,
  type GenerationManifest,
  type GenerationState,
} from './generations.js';
export { MANIFEST_NAME, readManifest, removeGenerationDir, writeManifest } from './file/generations.js';
