/**
 * JetBackup's vocabulary: grbits, status-callback numbers, the options a
 * backup takes and what it returns. ESE's numbers (jethdr.w), so code written
 * against ESE reads the same here.
 */
import { JetError } from '../errors.js';
import type { BackupPool } from './pool.js';

export const JET_bitBackupIncremental = 0x1;
export const JET_bitBackupAtomic = 0x4;

export const JET_snpBackup = 9;
export const JET_snpRestore = 8;

export const JET_sntProgress = 0;
export const JET_sntFail = 3;
export const JET_sntBegin = 5;
export const JET_sntComplete = 6;

/** ESE's JET_SNPROG is three ULONGs. */
export const SNPROG_SIZE = 12;

export type BackupType = 'full' | 'incremental' | 'truncate';
export type BackupPhase = 'pages' | 'logs' | 'commit' | 'replay';

/** What the status callback gets: ESE's JET_SNPROG, plus where the backup is. */
export interface BackupProgress {
  cbStruct: number;
  /** Units done and total; a unit is one byte copied (pages, then logs), so cunitDone never goes down. */
  cunitDone: number;
  cunitTotal: number;
  phase?: BackupPhase;
  /** The file being copied (database or log name), when there is one. */
  file?: string;
  pagesDone?: number;
  pagesTotal?: number;
  bytesDone?: number;
  bytesTotal?: number;
  pagesReread?: number;
  /** With JET_sntFail: the error. */
  err?: number;
  errName?: string;
}

export type StatusCallback = (snp: number, snt: number, progress?: BackupProgress) => void;

export interface BackupOptions {
  /** Stops the backup promptly; it then cleans up like any failure (errBackupAbortByCaller). */
  signal?: AbortSignal;
  /** Share a pool between backups (the bulk CLI does); else the backup makes and closes its own. */
  pool?: BackupPool;
  /** Worker threads of a pool the backup makes itself. */
  workers?: number;
  /** Pages per worker task. */
  rangePages?: number;
  /** Re-reads of a page that fails verification (ESE: 16). */
  retries?: number;
  /** Back-off before re-read i is (i + 1) x this (ESE: 100 ms). */
  retryDelayMs?: number;
  /** Limit the copy to about this many bytes per second (pages and logs); 0 = no limit. */
  rateBytesPerSec?: number;
}

export interface ResolvedBackupOptions {
  signal: AbortSignal | undefined;
  pool: BackupPool | undefined;
  workers: number;
  rangePages: number;
  retries: number;
  retryDelayMs: number;
  rateBytesPerSec: number;
}

export interface BackedUpDatabase {
  name: string;
  pages: number;
  bytes: number;
  /** CRC32C of each range of `rangePages` pages, in order. */
  rangeCrcs: number[];
}

export interface BackedUpLog {
  generation: number;
  name: string;
  bytes: number;
  crc: number;
}

export interface BackupResult {
  type: BackupType;
  /** Where the backup set is (for atomic backups, the `new` directory); null for a truncation. */
  path: string | null;
  databases: BackedUpDatabase[];
  logs: BackedUpLog[];
  /** Generations copied, inclusive; null when none were. */
  generations: { low: number; high: number } | null;
  /** Generations deleted from the instance after the backup. */
  truncated: number[];
  pagesVerified: number;
  pagesUninitialized: number;
  pagesReread: number;
  bytes: number;
  durationMs: number;
  /**
   * Steps after the commit that failed: recording the backup in the database
   * headers, deleting old logs. The set is complete and restorable either way;
   * a header not updated makes the next incremental refuse or copy more logs,
   * a truncation not done keeps logs longer. Also in the backup-end event.
   */
  warnings: string[];
}

export const DEFAULT_RETRIES = 16;
export const DEFAULT_RETRY_DELAY_MS = 100;
export const DEFAULT_WORKERS = 2;

const KNOWN = new Set(['signal', 'pool', 'workers', 'rangePages', 'retries', 'retryDelayMs', 'rateBytesPerSec']);

function bad(msg: string): JetError {
  return new JetError('JET_errInvalidParameter', msg);
}

function intOption(o: BackupOptions, name: keyof BackupOptions, dflt: number, lo: number, hi: number): number {
  const v = o[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw bad(`backup option ${name} must be an integer from ${lo} to ${hi}, got ${String(v)}`);
  return v;
}

/** Check the grbit: only Incremental and Atomic, never both. */
export function checkGrbit(grbit: unknown): number {
  // JET_GRBIT is a 32-bit unsigned long: anything wider has unknown bits (and & would silently drop them).
  if (typeof grbit !== 'number' || !Number.isInteger(grbit) || grbit < 0 || grbit > 0xffffffff) {
    throw new JetError('JET_errInvalidGrbit', `grbit must be a 32-bit unsigned integer, got ${String(grbit)}`);
  }
  const unknown = (grbit & ~(JET_bitBackupIncremental | JET_bitBackupAtomic)) >>> 0;
  if (unknown !== 0) throw new JetError('JET_errInvalidGrbit', `unknown backup grbit 0x${unknown.toString(16)}`);
  if ((grbit & JET_bitBackupIncremental) && (grbit & JET_bitBackupAtomic)) {
    throw new JetError('JET_errInvalidGrbit', 'JET_bitBackupAtomic makes a full backup; it cannot be combined with JET_bitBackupIncremental');
  }
  return grbit;
}

export function resolveBackupOptions(options: unknown, defaultRangePages: number): ResolvedBackupOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') throw bad('backup options must be an object');
  const o = options as BackupOptions;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw bad(`unknown backup option '${k}'`);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw bad('backup option signal must be an AbortSignal');
  if (o.pool !== undefined && (typeof o.pool !== 'object' || typeof o.pool.copyRange !== 'function')) throw bad('backup option pool must be a BackupPool');
  return {
    signal: o.signal,
    pool: o.pool,
    workers: intOption(o, 'workers', DEFAULT_WORKERS, 1, 256),
    rangePages: intOption(o, 'rangePages', defaultRangePages, 1, 1 << 16),
    retries: intOption(o, 'retries', DEFAULT_RETRIES, 0, 1000),
    retryDelayMs: intOption(o, 'retryDelayMs', DEFAULT_RETRY_DELAY_MS, 0, 60_000),
    rateBytesPerSec: intOption(o, 'rateBytesPerSec', 0, 0, Number.MAX_SAFE_INTEGER),
  };
}
