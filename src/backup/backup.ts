/**
 * JetBackup: an online backup of an instance, full or incremental, or (with
 * no path) just the truncation of logs recovery no longer needs.
 *
 * A full backup, step by step (ESE's order, ese-backup.md §2):
 *   1. pin the log from the checkpoint's generation (low): nothing the backup
 *      needs can be deleted while it runs; note the log tip (the mark);
 *   2. prepare the destination (empty directory, or atomic: <dir>/temp);
 *   3. hold new attaches; copy every database's pages on the worker pool,
 *      verifying each (page-copy.ts), while writers go on committing;
 *   4. roll the log: the finished generation (high) holds every change any
 *      copied page can contain, because pages reach disk only after their log;
 *   5. write each copy's header (dirty, bkinfoFullCur = low..high), sync;
 *   6. copy and verify generations low..high (log-copy.ts);
 *   7. commit: the manifest last, synced; atomic: temp/ becomes new/;
 *   8. record the backup in the live headers (bkinfoFullPrev) and delete the
 *      generations below min(checkpoint, high + 1).
 * Restoring = the copied pages + replay of low..high: every page is at least
 * at its checkpoint state when copied, and redo by dbtime brings each one to
 * the end of generation high, whatever moment it was copied at.
 *
 * On any failure before the commit, what was written is removed, no header
 * changes and no log is deleted.
 */
import * as path from 'node:path';
import { JetError, fromFsError } from '../errors.js';
import { BKINFO_NONE, DB_STATE_DIRTY_SHUTDOWN, encodeDbHeader, type BkInfo, type DbHeader } from '../format/db-header.js';
import type { Manifest, ManifestBackup } from '../format/backup-manifest.js';
import type { Lgpos } from '../format/lgpos.js';
import type { Instance } from '../engine/instance.js';
import type { Database } from '../engine/database.js';
import { prepareFull, prepareIncremental, type Destination } from './destination.js';
import { copyLogs, type LogCopyContext } from './log-copy.js';
import {
  JET_bitBackupAtomic, JET_bitBackupIncremental, checkGrbit, resolveBackupOptions,
  type BackupOptions, type BackupResult, type BackupType, type ResolvedBackupOptions, type StatusCallback,
} from './options.js';
import { copyDatabasePages, type SourceDatabase } from './page-copy.js';
import { DEFAULT_RANGE_PAGES } from './plan.js';
import { BackupPool } from './pool.js';
import { RateLimiter, StatusReporter } from './progress.js';

export async function runBackup(
  inst: Instance, dir: string | null, grbit: number, status: StatusCallback | undefined, options: BackupOptions | undefined,
): Promise<BackupResult> {
  if (dir !== null && (typeof dir !== 'string' || dir.length === 0)) {
    throw new JetError('JET_errInvalidParameter', 'the backup path must be a non-empty string, or null to truncate logs only');
  }
  checkGrbit(grbit);
  if (status !== undefined && status !== null && typeof status !== 'function') {
    throw new JetError('JET_errInvalidParameter', 'the status callback must be a function');
  }
  const opts = resolveBackupOptions(options, DEFAULT_RANGE_PAGES);
  assertCanBackUp(inst);
  if (inst.backupActive) throw new JetError('JET_errBackupInProgress', `a backup of instance ${inst.params.dir} is already running`);
  const incremental = (grbit & JET_bitBackupIncremental) !== 0;
  if (incremental && inst.params.circularLog) {
    throw new JetError('JET_errInvalidBackup', `instance ${inst.params.dir} uses circular logging, which keeps no log history for an incremental backup`);
  }
  const type: BackupType = dir === null ? 'truncate' : incremental ? 'incremental' : 'full';
  const target = dir === null ? null : path.resolve(dir);
  inst.backupActive = true;
  const reporter = new StatusReporter(status ?? undefined);
  const t0 = performance.now();
  inst.emitEvent({ type: 'backup-begin', backupType: type, path: target });
  try {
    const result = target === null ? await truncateOnly(inst, reporter)
      : incremental ? await incrementalBackup(inst, target, opts, reporter)
        : await fullBackup(inst, target, (grbit & JET_bitBackupAtomic) !== 0, opts, reporter);
    result.durationMs = performance.now() - t0;
    reporter.complete();
    inst.emitEvent({
      type: 'backup-end', backupType: type, path: result.path, err: 0, bytes: result.bytes,
      generations: result.generations, truncated: result.truncated, durationMs: Math.round(result.durationMs), warnings: result.warnings,
    });
    return result;
  } catch (e) {
    const j = opts.signal?.aborted && !(e instanceof JetError && e.errName !== 'errBackupAbortByCaller')
      ? new JetError('errBackupAbortByCaller', `backup of instance ${inst.params.dir} aborted`, { cause: opts.signal.reason })
      : fromFsError(e, `backing up instance ${inst.params.dir}`);
    reporter.fail(j);
    inst.emitEvent({ type: 'backup-end', backupType: type, path: target, err: j.err, errName: j.errName, message: j.detail });
    throw j;
  } finally {
    inst.backupActive = false;
    await inst.flushEventLog();
  }
}

/** The state checks, with the errors JetBackup documents for each state. */
function assertCanBackUp(inst: Instance): void {
  if (inst.state === 'initializing') {
    throw new JetError('JET_errBackupNotAllowedYet', `instance ${inst.params.dir} is still starting up (recovery); back up once it is open`);
  }
  inst.assertUsable();
  if (!inst.log) throw new JetError('JET_errLoggingDisabled', `instance ${inst.params.dir} runs without a log (recovery: false); it cannot be backed up online`);
}

function emptyResult(type: BackupType, p: string | null): BackupResult {
  return {
    type, path: p, databases: [], logs: [], generations: null, truncated: [],
    pagesVerified: 0, pagesUninitialized: 0, pagesReread: 0, bytes: 0, durationMs: 0, warnings: [],
  };
}

async function truncateOnly(inst: Instance, reporter: StatusReporter): Promise<BackupResult> {
  reporter.begin(1);
  const result = emptyResult('truncate', null);
  // Circular logging deletes on its own; there is nothing a backup may add.
  // truncateLogs never deletes at or above the checkpoint's generation (nor a pinned one).
  if (!inst.params.circularLog) result.truncated = await inst.truncateLogs(Number.MAX_SAFE_INTEGER);
  return result;
}

function bkinfo(mark: Lgpos, timeMark: number, genLow: number, genHigh: number): BkInfo {
  return { lgposMark: mark, timeMark, genLow, genHigh };
}

function logCopyContext(inst: Instance, opts: ResolvedBackupOptions, reporter: StatusReporter, rate: RateLimiter, dest: Destination): LogCopyContext {
  return {
    io: inst.params.io, logDir: inst.params.logFilePath, baseName: inst.params.baseName, logSignature: inst.logSignature,
    signal: opts.signal, status: reporter, rate, created: (n) => dest.created.push(n),
  };
}

async function fullBackup(inst: Instance, dir: string, atomic: boolean, opts: ResolvedBackupOptions, reporter: StatusReporter): Promise<BackupResult> {
  const p = inst.params;
  const startedAt = Date.now();
  const pin = inst.pinFromCheckpoint();
  const low = pin.checkpoint.gen;
  const mark = inst.log!.tip;
  const rate = new RateLimiter(opts.rateBytesPerSec);
  const ownPool = opts.pool ? undefined : new BackupPool({ workers: opts.workers });
  let dest: Destination | undefined;
  try {
    dest = await prepareFull(p.io, dir, atomic, p.createPathIfNotExist);
    const d = dest;
    // New attaches wait: a database attached mid-copy would be in the log but not in the backup.
    const releaseAttaches = await inst.holdAttaches();
    let sources: (SourceDatabase & { db: Database; header: DbHeader })[];
    let copied: Awaited<ReturnType<typeof copyDatabasePages>>;
    let high: number;
    try {
      inst.assertUsable();
      sources = inst.databases().map((db) => ({
        db, header: db.file.header, name: db.name, src: db.file.path, pageSize: db.file.pageSize, pages: db.file.pagesOnDisk,
      }));
      const pageBytes = sources.reduce((n, s) => n + s.pages * s.pageSize, 0);
      reporter.begin(pageBytes + (inst.log!.currentGeneration - low + 1) * p.logFileSize);
      copied = await copyDatabasePages({
        io: p.io, pool: opts.pool ?? ownPool!, rangePages: opts.rangePages, retries: opts.retries, retryDelayMs: opts.retryDelayMs,
        signal: opts.signal, status: reporter, rate, assertUsable: () => inst.assertUsable(), created: (n) => d.created.push(n),
      }, sources, d.setDir);
      high = await inst.rollLog();
    } finally {
      releaseAttaches();
    }
    const info = bkinfo(mark, startedAt, low, high);
    for (const s of sources) {
      await writeCopyHeader(p.io, path.join(d.setDir, s.name), { ...s.header, state: DB_STATE_DIRTY_SHUTDOWN, genMinRequired: low, bkinfoFullCur: info });
      inst.emitEvent({ type: 'backup-file', kind: 'database', name: s.name, bytes: s.pages * s.pageSize + 2 * s.pageSize });
    }
    reporter.setTotal(copied.totals.bytes + (high - low + 1) * p.logFileSize);
    const logs = await copyLogs(logCopyContext(inst, opts, reporter, rate, d), low, high, d.setDir);
    for (const l of logs) inst.emitEvent({ type: 'backup-file', kind: 'log', name: l.name, bytes: l.bytes });
    opts.signal?.throwIfAborted();
    reporter.check();
    const backup: ManifestBackup = { type: 'full', startedAt, finishedAt: Date.now(), genLow: low, genHigh: high, mark };
    const manifest: Manifest = {
      logSignature: inst.logSignature, baseName: p.baseName, pageSize: p.pageSize, logFileSize: p.logFileSize, instanceDir: p.dir,
      checkpoint: pin.checkpoint,
      databases: copied.copies.map((c, i) => ({
        name: c.name, dbSignature: sources[i]!.header.dbSignature, pages: c.pages, bytes: c.bytes, rangePages: opts.rangePages, rangeCrcs: c.rangeCrcs,
      })),
      logs, backups: [backup],
    };
    await p.io.syncDir(d.setDir);
    inst.assertUsable(); // a close() that began meanwhile ends the backup here, before it can look complete
    const finalDir = await d.commit(manifest);
    dest = undefined; // committed: nothing to undo any more
    pin.release();
    const { truncated, warnings } = await afterCommit(inst, high, () => Promise.all(
      sources.map((s) => s.db.file.updateHeader((h) => ({ ...h, bkinfoFullPrev: info, bkinfoIncPrev: BKINFO_NONE })))));
    const logBytes = logs.reduce((n, l) => n + l.bytes, 0);
    return {
      ...emptyResult('full', finalDir),
      databases: manifest.databases.map((m) => ({ name: m.name, pages: m.pages, bytes: m.bytes, rangeCrcs: m.rangeCrcs })),
      logs: logs.map(({ generation, name, bytes, crc }) => ({ generation, name, bytes, crc })),
      generations: { low, high }, truncated, warnings,
      pagesVerified: copied.totals.pagesVerified, pagesUninitialized: copied.totals.pagesUninitialized, pagesReread: copied.totals.pagesReread,
      bytes: copied.totals.bytes + logBytes,
    };
  } catch (e) {
    await dest?.abort();
    throw e;
  } finally {
    pin.release();
    await ownPool?.close();
  }
}

/**
 * After the commit the set is complete: record the backup in the live headers,
 * then delete the generations below min(checkpoint, high + 1). A failure here
 * (the instance closing, a disk error) cannot make the set incomplete, so it
 * becomes a warning, and a header not updated keeps the logs too.
 */
async function afterCommit(inst: Instance, high: number, updateHeaders: () => Promise<unknown>): Promise<{ truncated: number[]; warnings: string[] }> {
  const warnings: string[] = [];
  try {
    await updateHeaders();
  } catch (e) {
    warnings.push(`the backup is complete, but recording it in the database headers failed: ${(e as Error).message}`);
    return { truncated: [], warnings };
  }
  try {
    return { truncated: await inst.truncateLogs(high + 1), warnings };
  } catch (e) {
    warnings.push(`the backup is complete, but deleting old log generations failed: ${(e as Error).message}`);
    return { truncated: [], warnings };
  }
}

/**
 * The copy's own header, both copies: it says which logs bring it to a consistent
 * state. Its fdatasync covers the whole file, so it also makes the pages the
 * workers wrote durable.
 */
async function writeCopyHeader(io: Instance['params']['io'], file: string, h: DbHeader): Promise<void> {
  const page = encodeDbHeader(h);
  try {
    const fh = await io.open(file, 'r+');
    try {
      await fh.write(page, 0, page.length, 0);
      await fh.write(page, 0, page.length, h.pageSize);
      await fh.datasync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw fromFsError(e, `writing the header of backup copy ${file}`);
  }
}

async function incrementalBackup(inst: Instance, dir: string, opts: ResolvedBackupOptions, reporter: StatusReporter): Promise<BackupResult> {
  // Attaches wait until the roll: a database attached meanwhile would be in the copied log but in no full backup.
  const releaseAttaches = await inst.holdAttaches();
  try {
    return await incrementalWithAttachesHeld(inst, dir, opts, reporter, releaseAttaches);
  } finally {
    releaseAttaches();
  }
}

async function incrementalWithAttachesHeld(
  inst: Instance, dir: string, opts: ResolvedBackupOptions, reporter: StatusReporter, releaseAttaches: () => void,
): Promise<BackupResult> {
  const p = inst.params;
  const startedAt = Date.now();
  inst.assertUsable();
  const dbs = inst.databases();
  for (const db of dbs) {
    if (db.file.header.bkinfoFullPrev.genLow === 0) {
      throw new JetError('JET_errMissingFullBackup', `database ${db.name} has no full backup yet; take a full backup before an incremental one`);
    }
  }
  const { dest, manifest } = await prepareIncremental(p.io, dir);
  if (manifest.logSignature !== inst.logSignature) {
    throw new JetError('JET_errBadLogSignature',
      `the backup set in ${dest.setDir} belongs to another log sequence than instance ${p.dir}; take a full backup into an empty directory`);
  }
  for (const db of dbs) {
    if (!manifest.databases.some((m) => m.name === db.name && m.dbSignature === db.signature)) {
      throw new JetError('JET_errMissingFullBackup', `database ${db.name} is not in the full backup in ${dest.setDir}; take a new full backup`);
    }
  }
  const last = manifest.logs[manifest.logs.length - 1]!;
  const low = last.generation + 1;
  const release = inst.pinLogs(low);
  const rate = new RateLimiter(opts.rateBytesPerSec);
  let committed = false;
  try {
    const info = await inst.getLogInfo();
    if (info.lowestGeneration > low) {
      throw new JetError('JET_errMissingFileToBackup',
        `log generation ${low}, the next one the backup set in ${dest.setDir} needs, was deleted from ${p.logFilePath} (log truncation); take a full backup`);
    }
    if (low > info.currentGeneration) {
      throw new JetError('JET_errInvalidLogSequence',
        `the backup set in ${dest.setDir} already ends at generation ${last.generation}, beyond this instance's log (generation ${info.currentGeneration}); take a full backup`);
    }
    const mark = inst.log!.tip;
    reporter.begin((info.currentGeneration - low + 1) * p.logFileSize);
    const high = await inst.rollLog();
    releaseAttaches();
    const ctx = { ...logCopyContext(inst, opts, reporter, rate, dest), previous: { generation: last.generation, timeCreate: last.timeCreate } };
    const logs = await copyLogs(ctx, low, high, dest.setDir);
    for (const l of logs) inst.emitEvent({ type: 'backup-file', kind: 'log', name: l.name, bytes: l.bytes });
    opts.signal?.throwIfAborted();
    reporter.check();
    await p.io.syncDir(dest.setDir);
    inst.assertUsable();
    const backup: ManifestBackup = { type: 'incremental', startedAt, finishedAt: Date.now(), genLow: low, genHigh: high, mark };
    const finalDir = await dest.commit({ ...manifest, logs: [...manifest.logs, ...logs], backups: [...manifest.backups, backup] });
    committed = true;
    const bk = bkinfo(mark, startedAt, low, high);
    release();
    const { truncated, warnings } = await afterCommit(inst, high, () => Promise.all(dbs.map((db) => db.file.updateHeader((h) => ({ ...h, bkinfoIncPrev: bk })))));
    return {
      ...emptyResult('incremental', finalDir),
      logs: logs.map(({ generation, name, bytes, crc }) => ({ generation, name, bytes, crc })),
      generations: { low, high }, truncated, warnings, bytes: logs.reduce((n, l) => n + l.bytes, 0),
    };
  } catch (e) {
    if (!committed) await dest.abort();
    throw e;
  } finally {
    release();
  }
}
