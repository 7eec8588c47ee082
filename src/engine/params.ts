/**
 * Instance parameters: ESE's names (JET_param*), our defaults, one validator.
 */
import * as path from 'node:path';
import { JetError } from '../errors.js';
import { PAGE_SIZES } from '../format/page.js';
import { nodeFileSystem, type FileSystem } from '../io/file-system.js';

export interface InstanceParams {
  /** Directory of the checkpoint file (JET_paramSystemPath). Default: the instance directory. */
  systemPath?: string;
  /** Directory of the log files (JET_paramLogFilePath). Default: the instance directory. */
  logFilePath?: string;
  /** Three-character prefix of log and checkpoint names (JET_paramBaseName). Default 'edb'. */
  baseName?: string;
  /** Bytes per log generation, 64 KiB .. 32 MiB (JET_paramLogFileSize, in bytes here). Default 1 MiB. */
  logFileSize?: number;
  /** Database page size: 4096, 8192, 16384 or 32768. Default 8192. */
  pageSize?: number;
  /** Delete generations below the checkpoint automatically (JET_paramCircularLog). Default false. */
  circularLog?: boolean;
  /** Create missing directories (JET_paramCreatePathIfNotExist). Default false. */
  createPathIfNotExist?: boolean;
  /** false = logging disabled: no log, no recovery, no backup (JET_paramRecovery "off"). Default true. */
  recovery?: boolean;
  /** Pages the buffer cache holds before it evicts clean pages. Default 4096. */
  cacheSizePages?: number;
  /** Dirty pages that trigger a background checkpoint. Default half the cache. */
  checkpointDirtyPages?: number;
  /**
   * Log bytes after the checkpoint that make a finished generation start a
   * checkpoint (ESE's JET_paramCheckpointDepthMax). Default 20 MiB.
   */
  checkpointDepth?: number;
  /** Delay before a lazy commit's log records are written, ms. Default 5. */
  lazyFlushDelayMs?: number;
  /** The I/O layer (tests inject faults through it). Default node:fs. */
  io?: FileSystem;
  /** Told after each log generation crash recovery replays at open: (generations done, of total, bytes of the one just done). */
  onRecoveryProgress?: (done: number, total: number, bytes: number) => void;
}

export interface ResolvedParams {
  dir: string;
  systemPath: string;
  logFilePath: string;
  baseName: string;
  logFileSize: number;
  pageSize: number;
  circularLog: boolean;
  createPathIfNotExist: boolean;
  recovery: boolean;
  cacheSizePages: number;
  checkpointDirtyPages: number;
  checkpointDepth: number;
  lazyFlushDelayMs: number;
  io: FileSystem;
  onRecoveryProgress: ((done: number, total: number, bytes: number) => void) | undefined;
}

export const MIN_LOG_FILE_SIZE = 64 * 1024;
export const MAX_LOG_FILE_SIZE = 32 * 1024 * 1024;

const KNOWN = new Set([
  'systemPath', 'logFilePath', 'baseName', 'logFileSize', 'pageSize', 'circularLog',
  'createPathIfNotExist', 'recovery', 'cacheSizePages', 'checkpointDirtyPages', 'checkpointDepth', 'lazyFlushDelayMs', 'io', 'onRecoveryProgress',
]);

function bad(msg: string): JetError {
  return new JetError('JET_errInvalidParameter', msg);
}

function intIn(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw bad(`${name} must be an integer from ${lo} to ${hi}, got ${String(v)}`);
  }
  return v;
}

function bool(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw bad(`${name} must be a boolean, got ${typeof v}`);
  return v;
}

function dirParam(name: string, v: unknown, dflt: string): string {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || v.length === 0) throw bad(`${name} must be a non-empty path`);
  return path.resolve(dflt, v);
}

/** Validate and fill in defaults. Pure: touches no files. */
export function resolveParams(dir: unknown, params: InstanceParams = {}): ResolvedParams {
  if (typeof dir !== 'string' || dir.length === 0) throw bad('the instance directory must be a non-empty string');
  if (params === null || typeof params !== 'object') throw bad('params must be an object');
  for (const k of Object.keys(params)) if (!KNOWN.has(k)) throw bad(`unknown parameter '${k}'`);
  const root = path.resolve(dir);
  const baseName = params.baseName ?? 'edb';
  if (typeof baseName !== 'string' || !/^[A-Za-z0-9_]{3}$/.test(baseName)) {
    throw bad(`baseName must be exactly 3 letters, digits or '_', got ${JSON.stringify(baseName)}`);
  }
  const pageSize = params.pageSize ?? 8192;
  if (!(PAGE_SIZES as readonly number[]).includes(pageSize)) {
    throw bad(`pageSize must be one of ${PAGE_SIZES.join(', ')}, got ${String(pageSize)}`);
  }
  const logFileSize = intIn('logFileSize', params.logFileSize ?? 1024 * 1024, MIN_LOG_FILE_SIZE, MAX_LOG_FILE_SIZE);
  if (logFileSize % 4096 !== 0) throw bad(`logFileSize must be a multiple of 4096, got ${logFileSize}`);
  const cacheSizePages = intIn('cacheSizePages', params.cacheSizePages ?? 4096, 64, 1 << 24);
  const checkpointDirtyPages = intIn('checkpointDirtyPages', params.checkpointDirtyPages ?? (cacheSizePages >>> 1), 1, cacheSizePages);
  const io = params.io ?? nodeFileSystem;
  if (typeof io !== 'object' || typeof io.open !== 'function') throw bad('io must be a FileSystem');
  if (params.onRecoveryProgress !== undefined && typeof params.onRecoveryProgress !== 'function') throw bad('onRecoveryProgress must be a function');
  return {
    dir: root,
    systemPath: dirParam('systemPath', params.systemPath, root),
    logFilePath: dirParam('logFilePath', params.logFilePath, root),
    baseName,
    logFileSize,
    pageSize,
    circularLog: bool('circularLog', params.circularLog, false),
    createPathIfNotExist: bool('createPathIfNotExist', params.createPathIfNotExist, false),
    recovery: bool('recovery', params.recovery, true),
    cacheSizePages,
    checkpointDirtyPages,
    checkpointDepth: intIn('checkpointDepth', params.checkpointDepth ?? 20 * 1024 * 1024, 0, 2 ** 40),
    lazyFlushDelayMs: intIn('lazyFlushDelayMs', params.lazyFlushDelayMs ?? 5, 0, 10_000),
    io,
    onRecoveryProgress: params.onRecoveryProgress,
  };
}
