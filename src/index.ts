/** esebackup: the public surface. */
export * from './errors.js';
export { Instance, type LogInfo, type InstanceEvent } from './engine/instance.js';
export type { InstanceState } from './engine/instance-state.js';
export type { InstanceParams } from './engine/params.js';
export { Database } from './engine/database.js';
export type { RangeOptions, Row } from './tables/table-store.js';
export { Transaction, type CommitOptions } from './engine/transaction.js';
export { crc32c, crc32cImplementation } from './checksum/crc32c.js';
