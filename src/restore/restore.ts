/**
 * Restore (JetRestore): bring a backup set back as a clean instance directory.
 *
 *   1. find the set (<dir>/new, <dir>, <dir>/old) and verify all of it
 *      (verify.ts: manifest, copies, pages, range CRCs, every log record,
 *      the chain); any problem fails the restore before anything is written;
 *   2. choose the last generation to replay (all of them, or `upTo`);
 *   3. take the destination's lock (a live instance there is refused), copy
 *      the databases and generations low..last into it;
 *   4. write the checkpoint at the full backup's start checkpoint and prepare
 *      generation last+1 as <base>tmp.log — on disk exactly an instance whose
 *      roll to that generation was cut off;
 *   5. open the instance there: crash recovery replays every copied
 *      generation (redo by dbtime), marks the databases clean and installs
 *      the new generation; close it cleanly. Instance.open(destDir) then
 *      finds nothing to redo.
 * A failure removes everything the restore wrote (with `overwrite`, the old
 * instance files it deleted after the checks stay deleted).
 */
import * as path from 'node:path';
import { JetError, fromFsError } from '../errors.js';
import type { Manifest } from '../format/backup-manifest.js';
import { copyFileDurable, nodeFileSystem, type FileSystem } from '../io/file-system.js';
import { writeCheckpointFile } from '../engine/checkpoint-file.js';
import { DatabaseFile } from '../engine/database-file.js';
import { Instance } from '../engine/instance.js';
import { InstanceLock, LOCK_NAME } from '../engine/instance-lock.js';
import { registerInstance } from '../engine/instance-registry.js';
import { archivedPath, prepareGeneration, type LogDir } from '../engine/log-files.js';
import { readLogHeader } from '../engine/log-reader.js';
import type { RecoveryStats } from '../engine/recovery.js';
import { findSet, readManifest, removeTree } from '../backup/destination.js';
import { JET_snpRestore, type StatusCallback } from '../backup/options.js';
import type { BackupPool } from '../backup/pool.js';
import { StatusReporter } from '../backup/progress.js';
import { verify } from './verify.js';
import { ProblemList } from './verify-set.js';

export interface RestoreOptions {
  /** JET_snpRestore (8): begin, progress (bytes copied, then replay), complete or fail. */
  status?: StatusCallback;
  createPathIfNotExist?: boolean;
  /** Restore into a directory holding files: instance files there (*.edb, logs, checkpoint) are deleted first. */
  overwrite?: boolean;
  signal?: AbortSignal;
  /** Point in time: replay through this generation, or through the last generation finished at or before this time. */
  upTo?: number | Date;
  pool?: BackupPool;
  io?: FileSystem;
}

export interface RestoreResult {
  setDir: string;
  destDir: string;
  databases: string[];
  /** Generations replayed. */
  generations: { low: number; high: number };
  recovery: RecoveryStats | null;
  /** The instance parameters the restored directory must be opened with. */
  params: { baseName: string; pageSize: number; logFileSize: number };
  bytes: number;
  durationMs: number;
}

/** Instance files of base `base` in a directory: what overwrite deletes. */
function isInstanceFile(name: string, base: string): boolean {
  const n = name.toLowerCase();
  const b = base.toLowerCase();
  return n.endsWith('.edb') || (n.startsWith(b) && (n.endsWith('.log') || n.endsWith('.chk') || n.endsWith('.jsonl')))
    || n === `${b}.chk.tmp` || n === `${b}tmp.log.new`;
}

/** The last generation to replay for `upTo` (see docs/format/backup-manifest.md). */
export function chooseLastGeneration(m: Manifest, upTo: number | Date | undefined): number {
  const full = m.backups[0]!;
  const last = m.logs[m.logs.length - 1]!.generation;
  if (upTo === undefined) return last;
  let gen: number;
  if (upTo instanceof Date) {
    const t = upTo.getTime();
    if (!Number.isFinite(t)) throw new JetError('JET_errInvalidParameter', 'upTo is an invalid Date');
    // Generation g ends when g+1 begins; the last one ends at the latest when its backup finished.
    const ends = (i: number) => (i + 1 < m.logs.length ? m.logs[i + 1]!.timeCreate : m.backups[m.backups.length - 1]!.finishedAt);
    gen = 0;
    for (let i = 0; i < m.logs.length; i++) if (ends(i) <= t) gen = m.logs[i]!.generation;
  } else {
    if (!Number.isInteger(upTo) || upTo < 1) throw new JetError('JET_errInvalidParameter', `upTo must be a generation number or a Date, got ${String(upTo)}`);
    if (upTo > last) throw new JetError('JET_errInvalidParameter', `upTo generation ${upTo} is past the set's last generation ${last}`);
    gen = upTo;
  }
  if (gen < full.genHigh) {
    throw new JetError('JET_errEndingRestoreLogTooLow',
      `the databases of this set are consistent only from the end of generation ${full.genHigh} (${new Date(full.finishedAt).toISOString()} at the latest); cannot restore to an earlier point`);
  }
  return gen;
}

export async function restore(backupDir: string, destDir: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  if (typeof backupDir !== 'string' || backupDir.length === 0 || typeof destDir !== 'string' || destDir.length === 0) {
    throw new JetError('JET_errInvalidParameter', 'restore needs a backup directory and a destination directory');
  }
  const io = options.io ?? nodeFileSystem;
  const reporter = new StatusReporter(options.status, JET_snpRestore);
  const t0 = performance.now();
  // A placeholder in the registry: JetBackup meanwhile says JET_errRestoreInProgress.
  const dest = path.resolve(destDir);
  const unregister = registerInstance({ state: 'restoring', params: { dir: dest } });
  try {
    const setDir = await findSet(io, path.resolve(backupDir));
    if (!setDir) {
      throw new JetError('JET_errPatchFileMissing', `${backupDir} holds no complete backup set (no esebackup.manifest: the backup never finished, or this is not a backup)`);
    }
    const inside = (a: string, b: string) => { const r = path.relative(a, b); return r === '' || (!r.startsWith('..') && !path.isAbsolute(r)); };
    if (inside(setDir, dest) || inside(dest, setDir)) {
      throw new JetError('JET_errInvalidPath', `restore destination ${dest} and the backup set ${setDir} overlap; restore into another directory`);
    }
    const m = await readManifest(io, setDir);
    const last = chooseLastGeneration(m, options.upTo);
    const logs = m.logs.filter((l) => l.generation <= last);
    // Units are bytes: every file copied, then every log byte replayed.
    const logBytes = logs.reduce((n, l) => n + l.bytes, 0);
    reporter.begin(m.databases.reduce((n, d) => n + d.bytes, 0) + 2 * logBytes);
    const report = await verify(setDir, { io, ...(options.pool ? { pool: options.pool } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    if (!report.ok) {
      const problems = new ProblemList();
      problems.items.push(...report.problems);
      throw problems.toError(`backup set ${setDir} failed verification; nothing was restored`);
    }
    reporter.check();
    const result = await restoreInto(io, setDir, m, logs, dest, options, reporter);
    reporter.complete();
    return { ...result, durationMs: performance.now() - t0 };
  } catch (e) {
    const j = options.signal?.aborted && !(e instanceof JetError)
      ? new JetError('errBackupAbortByCaller', `restore into ${dest} aborted`, { cause: e })
      : fromFsError(e, `restoring ${backupDir} into ${dest}`);
    reporter.fail(j);
    throw j;
  } finally {
    unregister();
  }
}

async function prepareDest(io: FileSystem, dest: string, base: string, options: RestoreOptions): Promise<{ made: boolean; lock: InstanceLock }> {
  let made = false;
  if (!(await io.exists(dest))) {
    if (!options.createPathIfNotExist) throw new JetError('JET_errInvalidPath', `restore destination ${dest} does not exist (set createPathIfNotExist to create it)`);
    await io.mkdir(dest, true);
    made = true;
  }
  // A live instance there holds the lock: JET_errFileAccessDenied naming it.
  const lock = await InstanceLock.acquire(io, dest);
  try {
    const present = (await io.readdir(dest)).filter((n) => n !== LOCK_NAME);
    if (present.length > 0) {
      if (!options.overwrite) {
        throw new JetError('JET_errInvalidPath', `restore destination ${dest} is not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', ...' : ''}); pass overwrite to replace the instance files in it`);
      }
      for (const n of present) if (isInstanceFile(n, base)) await io.unlink(path.join(dest, n));
    }
  } catch (e) {
    await lock.release();
    throw e;
  }
  return { made, lock };
}

/**
 * The set was verified before the copy; this catches a set replaced in between
 * (an atomic backup swapping into the same directory): each log must still
 * have its manifest CRC, each database copy the header of this set's full backup.
 */
async function checkCopy(io: FileSystem, m: Manifest, name: string, copy: string, crc: number): Promise<void> {
  const log = m.logs.find((l) => l.name === name);
  if (log) {
    if (crc !== log.crc) throw new JetError('JET_errLogReadVerifyFailure', `log ${name} changed in the backup set while it was being restored`);
    return;
  }
  const f = await DatabaseFile.open(io, copy, 'r');
  const h = f.header;
  await f.close();
  const d = m.databases.find((x) => x.name === name)!;
  const full = m.backups[0]!;
  if (h.dbSignature !== d.dbSignature || h.bkinfoFullCur.genLow !== full.genLow || h.bkinfoFullCur.genHigh !== full.genHigh) {
    throw new JetError('JET_errDatabasePatchFileMismatch', `database ${name} in the backup set was replaced while it was being restored`);
  }
}

async function restoreInto(
  io: FileSystem, setDir: string, m: Manifest, logs: Manifest['logs'], dest: string, options: RestoreOptions, reporter: StatusReporter,
): Promise<Omit<RestoreResult, 'durationMs'>> {
  const { made, lock } = await prepareDest(io, dest, m.baseName, options);
  const written: string[] = [];
  let locked = true;
  try {
    let bytes = 0;
    const dbNames = new Set(m.databases.map((d) => d.name));
    for (const name of [...dbNames, ...logs.map((l) => l.name)]) {
      options.signal?.throwIfAborted();
      reporter.check();
      written.push(name.split('/')[0]!);
      if (path.dirname(name) !== '.') await io.mkdir(path.join(dest, path.dirname(name)), true); // a database in a subdirectory
      const copied = await copyFileDurable(io, path.join(setDir, name), path.join(dest, name));
      await checkCopy(io, m, name, path.join(dest, name), copied.crc);
      bytes += copied.bytes;
      reporter.advance(copied.bytes, dbNames.has(name) ? 'pages' : 'logs', name);
    }
    const d: LogDir = { io, dir: dest, base: m.baseName };
    const lastGen = logs[logs.length - 1]!.generation;
    written.push(`${m.baseName}.chk`, `${m.baseName}tmp.log`);
    await writeCheckpointFile(io, dest, m.baseName, { lgpos: m.checkpoint, logSignature: m.logSignature, time: Date.now() });
    const h = await readLogHeader(io, archivedPath(d, lastGen));
    const fh = await prepareGeneration(d, {
      generation: lastGen + 1, logFileSize: m.logFileSize, pageSize: m.pageSize,
      timeCreate: Math.max(Date.now(), h.timeCreate + 1), timePrevGen: h.timeCreate, logSignature: m.logSignature, attached: [],
    });
    await fh.close();
    options.signal?.throwIfAborted();
    await lock.release();
    locked = false;
    // Replay progress: one report per generation (the log file's size, whatever its records fill).
    const inst = await Instance.open(dest, {
      baseName: m.baseName, pageSize: m.pageSize, logFileSize: m.logFileSize, io,
      onRecoveryProgress: (done, total) => {
        const gen = logs[done - 1];
        if (!gen) return;
        reporter.advance(gen.bytes, 'replay', gen.name, done === total);
      },
    });
    const recovery = inst.recovery;
    await inst.close();
    reporter.advance(0, 'replay', undefined, true);
    return {
      setDir, destDir: dest, databases: m.databases.map((x) => x.name),
      generations: { low: logs[0]!.generation, high: lastGen }, recovery, bytes,
      params: { baseName: m.baseName, pageSize: m.pageSize, logFileSize: m.logFileSize },
    };
  } catch (e) {
    if (made) await removeTree(io, dest).catch(() => undefined);
    else {
      // Everything the restore may have created, including what recovery wrote (new generation, events).
      for (const n of await io.readdir(dest).catch(() => [] as string[])) {
        if (written.includes(n) || isInstanceFile(n, m.baseName)) await removeTree(io, path.join(dest, n)).catch(() => undefined);
      }
    }
    throw e;
  } finally {
    if (locked) await lock.release();
  }
}
