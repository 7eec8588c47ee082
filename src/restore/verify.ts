/**
 * verify(dir): check a backup set or an instance directory at rest, the way
 * `esentutl /k` checks files, and list every problem found.
 *
 * Backup set (a manifest in <dir>/new, <dir> or <dir>/old):
 *   - the manifest is there and whole (CRC);
 *   - each database copy: present, its size, its header (signatures, and
 *     bkinfoFullCur naming this set's full backup), every page's checksum
 *     and number, and each range's CRC32C against the manifest;
 *   - each generation: present, its CRC32C, every record, its number and
 *     signature, and that it follows the one before it (timePrevGen);
 *   - the backups chain: the full starts at the checkpoint's generation, each
 *     incremental starts right after the one before, the last ends at the
 *     last generation.
 * Instance directory (nobody may have it open; verify holds its lock):
 *   every page of every *.edb and every log generation, and the checkpoint.
 */
import * as path from 'node:path';
import { JetError } from '../errors.js';
import { BackupPool } from '../backup/pool.js';
import { findSet, readManifest } from '../backup/destination.js';
import type { Manifest } from '../format/backup-manifest.js';
import { nodeFileSystem, type FileSystem } from '../io/file-system.js';
import { DatabaseFile } from '../engine/database-file.js';
import { InstanceLock } from '../engine/instance-lock.js';
import { readCheckpointFile } from '../engine/checkpoint-file.js';
import { archivedPath, currentPath, listLogs, type LogDir } from '../engine/log-files.js';
import { readLogHeader } from '../engine/log-reader.js';
import { DEFAULT_RANGE_PAGES } from '../backup/plan.js';
import { ProblemList, fileSize, verifyLogs, verifyPages, type LogToCheck, type PageFile, type VerifiedDatabase, type VerifyProblem } from './verify-set.js';

export interface VerifyOptions {
  /** Share a pool (e.g. with backups); else verify makes one and closes it. */
  pool?: BackupPool;
  workers?: number;
  signal?: AbortSignal;
  /** Log base name of an instance directory (default edb). */
  baseName?: string;
  io?: FileSystem;
}

export interface VerifyReport {
  kind: 'backup-set' | 'instance';
  dir: string;
  /** For a backup set: the directory holding it (dir, dir/new or dir/old). */
  setDir: string | null;
  ok: boolean;
  problems: VerifyProblem[];
  databases: VerifiedDatabase[];
  generations: { low: number; high: number } | null;
  bytes: number;
  durationMs: number;
}

export async function verify(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  if (typeof dir !== 'string' || dir.length === 0) throw new JetError('JET_errInvalidParameter', 'verify needs a directory');
  const io = options.io ?? nodeFileSystem;
  const root = path.resolve(dir);
  let names: string[];
  try {
    names = await io.readdir(root);
  } catch (e) {
    throw new JetError('JET_errInvalidPath', `${root} is not a readable directory`, { cause: e });
  }
  const t0 = performance.now();
  const pool = options.pool ?? new BackupPool(options.workers !== undefined ? { workers: options.workers } : {});
  try {
    const setDir = await findSet(io, root);
    const problems = new ProblemList();
    let report: Omit<VerifyReport, 'durationMs' | 'ok' | 'problems'>;
    const base = options.baseName ?? 'edb';
    const isInstance = names.includes(`${base}.chk`) || names.includes(`${base}.log`);
    if (setDir) report = await verifySet(io, pool, root, setDir, problems, options.signal);
    else if (!isInstance && names.some((n) => n.toLowerCase().endsWith('.edb') || n.endsWith('.log'))) {
      // Database copies and numbered generations, but neither a checkpoint nor a current log: a backup set whose manifest is gone.
      problems.add('JET_errPatchFileMissing', path.join(root, 'esebackup.manifest'),
        'missing: this looks like a backup set (database copies and log generations) whose manifest was lost or never written, so it cannot be trusted or restored');
      report = { kind: 'backup-set', dir: root, setDir: root, databases: [], generations: null, bytes: 0 };
    } else if (isInstance) {
      report = await verifyInstance(io, pool, root, options.baseName ?? 'edb', problems, options.signal);
    } else {
      problems.add('JET_errPatchFileMissing', root, 'neither a backup set (no esebackup.manifest in it, new/ or old/) nor an instance directory (no databases or logs)');
      report = { kind: 'backup-set', dir: root, setDir: null, databases: [], generations: null, bytes: 0 };
    }
    return { ...report, ok: problems.items.length === 0, problems: problems.items, durationMs: performance.now() - t0 };
  } finally {
    if (!options.pool) await pool.close();
  }
}

async function verifySet(io: FileSystem, pool: BackupPool, root: string, setDir: string, problems: ProblemList, signal?: AbortSignal) {
  const base = { kind: 'backup-set' as const, dir: root, setDir };
  let m: Manifest;
  try {
    m = await readManifest(io, setDir);
  } catch (e) {
    const j = e as JetError;
    problems.add(j.errName ?? 'JET_errPatchFileMissing', path.join(setDir, 'esebackup.manifest'), j.detail ?? String(e));
    return { ...base, databases: [], generations: null, bytes: 0 };
  }
  await checkSetDatabases(io, setDir, m, problems);
  const files: PageFile[] = m.databases.map((d) => ({
    file: path.join(setDir, d.name), pageSize: m.pageSize, pages: d.pages, rangeCrcs: d.rangeCrcs, rangePages: d.rangePages,
  }));
  const logs: LogToCheck[] = m.logs.map((l) => ({ generation: l.generation, file: path.join(setDir, l.name), current: false, crc: l.crc }));
  const [databases] = await Promise.all([verifyPages(pool, files, problems, signal), verifyLogs(io, logs, m.logSignature, problems)]);
  checkChain(setDir, m, problems);
  const bytes = m.databases.reduce((n, d) => n + d.bytes, 0) + m.logs.reduce((n, l) => n + l.bytes, 0);
  const generations = m.logs.length > 0 ? { low: m.logs[0]!.generation, high: m.logs[m.logs.length - 1]!.generation } : null;
  return { ...base, databases, generations, bytes };
}

/** Each copy is there, of the size written, with a header that belongs to this set. */
async function checkSetDatabases(io: FileSystem, setDir: string, m: Manifest, problems: ProblemList): Promise<void> {
  const full = m.backups[0]!;
  for (const d of m.databases) {
    const file = path.join(setDir, d.name);
    const size = await fileSize(io, file, problems, 'JET_errFileNotFound');
    if (size === undefined) continue;
    if (size !== d.bytes) problems.add('JET_errReadVerifyFailure', file, `is ${size} bytes; the backup wrote ${d.bytes}`);
    let f: DatabaseFile;
    try {
      f = await DatabaseFile.open(io, file, 'r');
    } catch (e) {
      const j = e as JetError;
      problems.add(j.errName ?? 'JET_errDatabaseCorrupted', file, j.detail ?? String(e));
      continue;
    }
    const h = f.header;
    await f.close();
    if (h.dbSignature !== d.dbSignature) problems.add('JET_errBadDbSignature', file, 'is another database than the one this set backed up (database signature differs)');
    else if (h.bkinfoFullCur.genLow === 0) problems.add('JET_errRestoreOfNonBackupDatabase', file, 'is not a backup copy (its header records no backup)');
    else if (h.logSignature !== m.logSignature || h.bkinfoFullCur.genLow !== full.genLow || h.bkinfoFullCur.genHigh !== full.genHigh) {
      problems.add('JET_errDatabasePatchFileMismatch', file,
        `was copied by another backup (generations ${h.bkinfoFullCur.genLow}..${h.bkinfoFullCur.genHigh}) than this set's full backup (${full.genLow}..${full.genHigh})`);
    }
    if (h.pageSize !== m.pageSize) problems.add('JET_errPageSizeMismatch', file, `has ${h.pageSize}-byte pages; the set says ${m.pageSize}`);
  }
}

/** The full starts at the checkpoint, incrementals follow each other, the last one ends at the last generation. */
function checkChain(setDir: string, m: Manifest, problems: ProblemList): void {
  const manifest = path.join(setDir, 'esebackup.manifest');
  const first = m.logs[0]?.generation;
  const last = m.logs[m.logs.length - 1]?.generation;
  if (first !== m.checkpoint.gen || m.backups[0]!.genLow !== m.checkpoint.gen) {
    problems.add('JET_errMissingRestoreLogFiles', manifest, `replay must start at generation ${m.checkpoint.gen}, but the set starts at ${first ?? 'nothing'}`);
  }
  for (let i = 1; i < m.backups.length; i++) {
    const [prev, b] = [m.backups[i - 1]!, m.backups[i]!];
    if (b.type !== 'incremental' || b.genLow !== prev.genHigh + 1) {
      problems.add('JET_errGivenLogFileIsNotContiguous', manifest, `backup ${i + 1} (${b.type}, generations ${b.genLow}..${b.genHigh}) does not follow the one before (..${prev.genHigh})`);
    }
  }
  const lastBackup = m.backups[m.backups.length - 1]!;
  if (last !== lastBackup.genHigh) {
    problems.add('JET_errMissingRestoreLogFiles', manifest, `the last backup ends at generation ${lastBackup.genHigh}, the set's logs at ${last ?? 'nothing'}`);
  }
}

async function verifyInstance(io: FileSystem, pool: BackupPool, root: string, baseName: string, problems: ProblemList, signal?: AbortSignal) {
  // Holding the lock keeps anyone from opening the instance while we read it; a live holder is refused.
  const lock = await InstanceLock.acquire(io, root);
  try {
    const files: PageFile[] = [];
    for (const n of (await io.readdir(root)).filter((x) => x.toLowerCase().endsWith('.edb')).sort()) {
      const file = path.join(root, n);
      try {
        const f = await DatabaseFile.open(io, file, 'r');
        files.push({ file, pageSize: f.pageSize, pages: f.pagesOnDisk, rangePages: DEFAULT_RANGE_PAGES });
        await f.close();
      } catch (e) {
        const j = e as JetError;
        problems.add(j.errName ?? 'JET_errDatabaseCorrupted', file, j.detail ?? String(e));
      }
    }
    const d: LogDir = { io, dir: root, base: baseName };
    const listing = await listLogs(d);
    const logs: LogToCheck[] = listing.archived.map((g) => ({ generation: g, file: archivedPath(d, g), current: false }));
    if (listing.hasCurrent) {
      try {
        const h = await readLogHeader(io, currentPath(d));
        logs.push({ generation: h.generation, file: currentPath(d), current: true });
      } catch (e) {
        problems.add('JET_errLogFileCorrupt', currentPath(d), (e as JetError).detail ?? String(e));
      }
    }
    let logSignature: string | undefined;
    try {
      logSignature = (await readCheckpointFile(io, root, baseName))?.logSignature;
    } catch (e) {
      problems.add('JET_errCheckpointCorrupt', path.join(root, `${baseName}.chk`), (e as JetError).detail ?? String(e));
    }
    const [databases] = await Promise.all([verifyPages(pool, files, problems, signal), verifyLogs(io, logs, logSignature, problems)]);
    const bytes = files.reduce((n, f) => n + (f.pages + 2) * f.pageSize, 0);
    const generations = logs.length > 0 ? { low: logs[0]!.generation, high: logs[logs.length - 1]!.generation } : null;
    return { kind: 'instance' as const, dir: root, setDir: null, databases, generations, bytes };
  } finally {
    await lock.release();
  }
}
