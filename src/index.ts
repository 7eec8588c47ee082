/** esebackup: the public surface. */
export * from './errors.js';
export { Instance, type LogInfo, type InstanceEvent } from './engine/instance.js';
export type { InstanceState } from './engine/instance-state.js';
export type { InstanceParams } from './engine/params.js';
export { Database } from './engine/database.js';
export type { RangeOptions, Row } from './tables/table-store.js';
export { Transaction, type CommitOptions } from './engine/transaction.js';
export { crc32c, crc32cImplementation } from './checksum/crc32c.js';
export {
  JET_bitBackupAtomic, JET_bitBackupIncremental, JET_snpBackup, JET_snpRestore, JET_sntBegin, JET_sntComplete, JET_sntFail, JET_sntProgress,
  type BackupOptions, type BackupProgress, type BackupResult, type BackupType, type StatusCallback,
} from './backup/options.js';
export { BackupPool, type PoolOptions } from './backup/pool.js';
export { JetBackup } from './backup/jet-backup.js';
export { restore, type RestoreOptions, type RestoreResult } from './restore/restore.js';
export { JetRestore, JetRestore2 } from './restore/jet-restore.js';
export { verify, type VerifyOptions, type VerifyReport } from './restore/verify.js';
export type { VerifyProblem } from './restore/verify-set.js';
export { restoreDrill, type DrillReport } from './restore/drill.js';
