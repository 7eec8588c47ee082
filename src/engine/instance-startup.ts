/**
 * Bringing an instance's log up at open: a brand-new log sequence, or crash
 * recovery followed by reopening (or finishing the roll of) <base>.log.
 */
import * as path from 'node:path';
import { JetError } from '../errors.js';
import { DB_STATE_DIRTY_SHUTDOWN } from '../format/db-header.js';
import { LOG_HEADER_BLOCK, type LogHeader } from '../format/log-header.js';
import type { Checkpoint } from '../format/checkpoint.js';
import type { Lgpos } from '../format/lgpos.js';
import type { FileHandle, FileSystem } from '../io/file-system.js';
import { readCheckpointFile, writeCheckpointFile } from './checkpoint-file.js';
import { DatabaseFile, newSignature } from './database-file.js';
import {
  archivedPath, currentPath, installGeneration, listLogs, prepareGeneration, tmpPath, type LogDir, type LogListing,
} from './log-files.js';
import { readLogHeader } from './log-reader.js';
import type { ResolvedParams } from './params.js';
import { recover, type RecoveryStats } from './recovery.js';

export interface StartedLog {
  logSignature: string;
  gen: number;
  file: FileHandle;
  off: number;
  fileSize: number;
  timeCreate: number;
  checkpoint: Lgpos;
  recovery: RecoveryStats | null;
  /** Write TERM first: the log ends inside a transaction that never committed. */
  needsTerm: boolean;
}

export function logDirOf(p: ResolvedParams): LogDir {
  return { io: p.io, dir: p.logFilePath, base: p.baseName };
}

export async function startLog(p: ResolvedParams): Promise<StartedLog> {
  const d = logDirOf(p);
  let chk = await readCheckpointFile(p.io, p.systemPath, p.baseName);
  const listing = await listLogs(d);
  if (!chk && !listing.hasCurrent && listing.archived.length === 0) return startNewSequence(p, d, listing.hasTmp);
  chk ??= await checkpointAtSequenceStart(d, listing);
  const r = await recover(p, chk);
  let file: FileHandle | undefined;
  try {
    let started: Omit<StartedLog, 'checkpoint' | 'recovery' | 'needsTerm'>;
    if (r.rollInterrupted || r.finished) {
      const h = nextHeader(p, r.logSignature, r.lastHeader);
      file = await prepareGeneration(d, h);
      await installGeneration(d, r.rollInterrupted ? undefined : r.lastGen);
      started = { logSignature: r.logSignature, gen: h.generation, file, off: LOG_HEADER_BLOCK, fileSize: h.logFileSize, timeCreate: h.timeCreate };
    } else {
      file = await p.io.open(currentPath(d), 'r+');
      if (r.tornBytes > 0) {
        // Zero the torn write so that nothing of it can ever be read as a record again.
        await file.write(Buffer.alloc(r.tornBytes), 0, r.tornBytes, r.end);
        await file.datasync();
      }
      started = { logSignature: r.logSignature, gen: r.lastGen, file, off: r.end, fileSize: r.lastHeader.logFileSize, timeCreate: r.lastHeader.timeCreate };
    }
    // Recovery wrote every redone page: the log up to here is no longer needed for crash recovery.
    const checkpoint = { gen: started.gen, off: started.off };
    await writeCheckpointFile(p.io, p.systemPath, p.baseName, { lgpos: checkpoint, logSignature: r.logSignature, time: Date.now() });
    return { ...started, checkpoint, recovery: r.stats, needsTerm: r.endsInTransaction };
  } catch (e) {
    await file?.close().catch(() => undefined);
    throw e;
  }
}

/**
 * No checkpoint, but logs: if generation 1 is still there, nothing was ever
 * truncated and replay from its start is complete (this is also what a crash
 * during the very first open leaves). Otherwise recovery cannot know where to start.
 */
async function checkpointAtSequenceStart(d: LogDir, listing: LogListing): Promise<Checkpoint> {
  const first = listing.archived[0] === 1 ? archivedPath(d, 1)
    : listing.archived.length === 0 && listing.hasCurrent ? currentPath(d) : undefined;
  const header = first ? await readLogHeader(d.io, first) : undefined;
  if (!header || header.generation !== 1) {
    throw new JetError('JET_errCheckpointCorrupt',
      `checkpoint file ${d.base}.chk is missing and log generation 1 is gone, so recovery cannot know where to start (logs in ${d.dir})`);
  }
  return { lgpos: { gen: 1, off: LOG_HEADER_BLOCK }, logSignature: header.logSignature, time: 0 };
}

function nextHeader(p: ResolvedParams, logSignature: string, prev: LogHeader): LogHeader {
  return {
    generation: prev.generation + 1, logFileSize: p.logFileSize, pageSize: p.pageSize,
    timeCreate: Math.max(Date.now(), prev.timeCreate + 1), timePrevGen: prev.timeCreate, logSignature, attached: [],
  };
}

async function startNewSequence(p: ResolvedParams, d: LogDir, hasTmp: boolean): Promise<StartedLog> {
  await assertNoDirtyDatabases(p.io, p.dir);
  if (hasTmp) await p.io.unlink(tmpPath(d));
  const logSignature = newSignature();
  const h: LogHeader = {
    generation: 1, logFileSize: p.logFileSize, pageSize: p.pageSize, timeCreate: Date.now(), timePrevGen: 0, logSignature, attached: [],
  };
  const file = await prepareGeneration(d, h);
  try {
    await installGeneration(d, undefined);
    const checkpoint = { gen: 1, off: LOG_HEADER_BLOCK };
    await writeCheckpointFile(p.io, p.systemPath, p.baseName, { lgpos: checkpoint, logSignature, time: Date.now() });
    return { logSignature, gen: 1, file, off: LOG_HEADER_BLOCK, fileSize: h.logFileSize, timeCreate: h.timeCreate, checkpoint, recovery: null, needsTerm: false };
  } catch (e) {
    await file.close().catch(() => undefined);
    throw e;
  }
}

/**
 * Without any log, a database left dirty cannot be recovered: say so rather
 * than start a new log sequence over it.
 */
export async function assertNoDirtyDatabases(io: FileSystem, dir: string): Promise<void> {
  for (const name of await io.readdir(dir)) {
    if (!name.toLowerCase().endsWith('.edb')) continue;
    let f: DatabaseFile;
    try {
      f = await DatabaseFile.open(io, path.join(dir, name), 'r');
    } catch {
      continue; // not one of ours; openDatabase will say what is wrong with it if asked
    }
    const dirty = f.header.state === DB_STATE_DIRTY_SHUTDOWN;
    await f.close();
    if (dirty) {
      throw new JetError('JET_errDatabaseDirtyShutdown',
        `database ${path.join(dir, name)} was not shut down cleanly and the log files it needs are gone`);
    }
  }
}

/** The directory exists (or is created when the parameters allow it). */
export async function ensureDir(p: ResolvedParams, dir: string): Promise<void> {
  if (await p.io.exists(dir)) {
    try {
      await p.io.readdir(dir);
    } catch (e) {
      throw new JetError('JET_errInvalidPath', `${dir} is not a readable directory`, { cause: e });
    }
    return;
  }
  if (!p.createPathIfNotExist) {
    throw new JetError('JET_errInvalidPath', `directory ${dir} does not exist (set createPathIfNotExist to create it)`);
  }
  await p.io.mkdir(dir, true);
}
