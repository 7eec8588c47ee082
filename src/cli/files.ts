/**
 * Read-only looks at the files of an instance directory, for the CLI: which
 * base name it uses, its databases and log generations, the headers of each,
 * and the instance parameters they imply (log file size, page size). Nothing
 * here takes the instance lock or writes.
 */
import { open, readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { JetError, fromFsError } from '../errors.js';
import { CHK_MAGIC } from '../format/checkpoint.js';
import { DB_MAGIC, chooseDbHeader, decodeDbHeader, type DbHeader } from '../format/db-header.js';
import { LOG_MAGIC, type LogHeader } from '../format/log-header.js';
import { checkpointName, currentLogName, parseArchivedLogName, tmpLogName } from '../format/log-names.js';
import { PAGE_SIZES } from '../format/page.js';
import { MANIFEST_NAME } from '../format/backup-manifest.js';
import { nodeFileSystem } from '../io/file-system.js';
import { archivedPath, type LogDir } from '../engine/log-files.js';
import { readLogHeader } from '../engine/log-reader.js';

export const DEFAULT_BASE = 'edb';

/** The 3-character base name of the instance files in a listing: from the checkpoint, else the logs, else edb. */
export function detectBaseName(names: string[]): string {
  const by = (re: RegExp) => names.map((n) => re.exec(n)?.[1]).find((b): b is string => b !== undefined);
  return by(/^([A-Za-z0-9_]{3})\.chk$/) ?? by(/^([A-Za-z0-9_]{3})\.log$/) ?? by(/^([A-Za-z0-9_]{3})[0-9A-F]{8}\.log$/) ?? DEFAULT_BASE;
}

export interface InstanceFiles {
  dir: string;
  baseName: string;
  /** Top-level *.edb names, sorted. */
  databases: string[];
  /** Finished generations present, ascending. */
  archived: number[];
  hasCurrent: boolean;
  hasCheckpoint: boolean;
  hasManifest: boolean;
  names: string[];
}

export async function listInstanceFiles(dir: string): Promise<InstanceFiles> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new JetError('JET_errInvalidPath', `${dir} is not a directory`, { cause: e });
    throw fromFsError(e, `listing ${dir}`);
  }
  const baseName = detectBaseName(names);
  const archived = names.map((n) => parseArchivedLogName(baseName, n)).filter((g): g is number => g !== undefined).sort((a, b) => a - b);
  return {
    dir, baseName, names, archived,
    databases: names.filter((n) => n.toLowerCase().endsWith('.edb')).sort(),
    hasCurrent: names.includes(currentLogName(baseName)),
    hasCheckpoint: names.includes(checkpointName(baseName)),
    hasManifest: names.includes(MANIFEST_NAME),
  };
}

/** True when the listing looks like an instance directory (a log, a checkpoint or a database). */
export function looksLikeInstance(f: InstanceFiles): boolean {
  return f.hasCurrent || f.hasCheckpoint || f.archived.length > 0 || f.databases.length > 0;
}

/** The first `bytes` bytes of a file (fewer when it is shorter). */
export async function readHead(file: string, bytes: number): Promise<Buffer> {
  try {
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await fh.read(buf, 0, bytes, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw fromFsError(e, `reading ${file}`);
  }
}

export type FileKind = 'database' | 'log' | 'checkpoint' | 'manifest' | 'unknown';

/** What a file is, by its magic number (a manifest by its first line). */
export async function fileKind(file: string): Promise<FileKind> {
  const head = await readHead(file, 32);
  if (head.subarray(0, 18).toString('latin1') === 'esebackup-manifest') return 'manifest';
  if (head.length < 8) return 'unknown';
  const magic = head.readUInt32LE(4);
  return magic === DB_MAGIC ? 'database' : magic === LOG_MAGIC ? 'log' : magic === CHK_MAGIC ? 'checkpoint' : 'unknown';
}

/** A database file's header (the better of its two copies) and size, read without opening the database. */
export async function readDbHeaderFile(file: string): Promise<{ header: DbHeader; bytes: number }> {
  const max = PAGE_SIZES[PAGE_SIZES.length - 1]!;
  const buf = await readHead(file, 2 * max);
  const bytes = (await stat(file)).size;
  // The primary copy says where the shadow is; when it is unreadable, try every page size.
  const first = decodeDbHeader(buf);
  const sizes = first.ok ? [first.header.pageSize] : [...PAGE_SIZES];
  let reason = first.ok ? '' : first.reason;
  for (const ps of sizes) {
    const d = chooseDbHeader(buf.subarray(0, ps), buf.subarray(ps, 2 * ps));
    if (d.ok) return { header: d.header, bytes };
    reason = d.reason;
  }
  throw new JetError('JET_errDatabaseCorrupted', `database ${file}: no valid header (${reason})`);
}

export function logDirOf(f: InstanceFiles): LogDir {
  return { io: nodeFileSystem, dir: f.dir, base: f.baseName };
}

/** The header of the newest readable log file (current, else tmp, else the highest finished generation), or undefined. */
export async function newestLogHeader(f: InstanceFiles): Promise<LogHeader | undefined> {
  const candidates = [
    ...(f.hasCurrent ? [path.join(f.dir, currentLogName(f.baseName))] : []),
    ...(f.names.includes(tmpLogName(f.baseName)) ? [path.join(f.dir, tmpLogName(f.baseName))] : []),
    ...[...f.archived].reverse().map((g) => archivedPath(logDirOf(f), g)),
  ];
  for (const file of candidates) {
    try {
      return await readLogHeader(nodeFileSystem, file);
    } catch {
      // a torn or corrupt one: try the next (recovery will report it properly)
    }
  }
  return undefined;
}

/**
 * The parameters an existing instance must be opened with: its base name,
 * and the log file size and page size its logs (else its databases) record.
 */
export async function detectParams(f: InstanceFiles): Promise<{ baseName: string; logFileSize?: number; pageSize?: number }> {
  const h = await newestLogHeader(f);
  if (h) return { baseName: f.baseName, logFileSize: h.logFileSize, pageSize: h.pageSize };
  for (const name of f.databases) {
    try {
      return { baseName: f.baseName, pageSize: (await readDbHeaderFile(path.join(f.dir, name))).header.pageSize };
    } catch {
      // unreadable: attaching it will say why
    }
  }
  return { baseName: f.baseName };
}
