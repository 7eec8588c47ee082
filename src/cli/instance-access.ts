/**
 * How the CLI reaches an instance directory:
 *  - locked by a live process that serves backups (<dir>/esebackup.sock):
 *    through the socket (src/service/), the holder runs the request in-process;
 *  - locked by a live process without the socket: JET_errFileAccessDenied,
 *    saying the holder must call instance.serveBackups();
 *  - not locked (or a dead holder's stale lock): the CLI opens the instance
 *    itself — Instance.open runs crash recovery when it was not shut down
 *    cleanly — with the parameters its files record (base name, log file
 *    size, page size), attaches every database (a backup copies the attached
 *    ones), and closes it cleanly afterwards.
 */
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import { JetError } from '../errors.js';
import { Instance } from '../engine/instance.js';
import type { Database } from '../engine/database.js';
import { lockHolder } from '../engine/instance-lock.js';
import type { RecoveryStats } from '../engine/recovery.js';
import { nodeFileSystem } from '../io/file-system.js';
import type { BackupOptions, BackupResult, StatusCallback } from '../backup/options.js';
import { requestOverSocket } from '../service/backup-client.js';
import { instanceSummary } from '../service/backup-server.js';
import { SOCKET_NAME, type InstanceSummary } from '../service/protocol.js';
import { DB_STATE_DIRTY_SHUTDOWN } from '../format/db-header.js';
import { detectParams, listInstanceFiles, looksLikeInstance, newestLogHeader, readDbHeaderFile, type InstanceFiles } from './files.js';

/** What a backup through the socket can carry (protocol.ts); the rest applies to instances the CLI opens. */
export type CliBackupOptions = Pick<BackupOptions, 'workers' | 'rateBytesPerSec' | 'pool' | 'signal' | 'retries' | 'retryDelayMs'>;

export interface InstanceAccess {
  readonly dir: string;
  readonly mode: 'local' | 'socket';
  /** The holder's pid (socket), or this process's (local). */
  readonly pid: number;
  /** What crash recovery did when the CLI opened the instance; null when there was nothing to do or through the socket. */
  readonly recovered: RecoveryStats | null;
  backup(target: string, grbit: number, status: StatusCallback, options: CliBackupOptions): Promise<BackupResult>;
  truncate(status: StatusCallback | undefined, signal?: AbortSignal): Promise<BackupResult>;
  summary(): Promise<InstanceSummary>;
  close(): Promise<void>;
}

export interface LocalAccess extends InstanceAccess {
  readonly mode: 'local';
  readonly instance: Instance;
  readonly databases: Database[];
}

function aborted(signal: AbortSignal | undefined, dir: string): Promise<never> | null {
  if (!signal) return null;
  return new Promise<never>((_, reject) => {
    const fail = () => reject(new JetError('errBackupAbortByCaller', `backup of instance ${dir} interrupted; the connection is dropped, which aborts it in the holder`));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

/** A request that gives up (and lets the process exit, closing the connection) when `signal` aborts. */
function raced<T>(p: Promise<T>, signal: AbortSignal | undefined, dir: string): Promise<T> {
  const a = aborted(signal, dir);
  return a ? Promise.race([p, a]) : p;
}

function socketAccess(dir: string, socketPath: string, pid: number): InstanceAccess {
  return {
    dir, mode: 'socket', pid, recovered: null,
    backup(target, grbit, status, o) {
      const options: { workers?: number; rateBytesPerSec?: number } = {};
      if (o.workers !== undefined) options.workers = o.workers;
      if (o.rateBytesPerSec !== undefined) options.rateBytesPerSec = o.rateBytesPerSec;
      return raced(requestOverSocket<BackupResult>(socketPath, { op: 'backup', path: path.resolve(target), grbit, options }, status), o.signal, dir);
    },
    truncate(status, signal) {
      return raced(requestOverSocket<BackupResult>(socketPath, { op: 'truncate' }, status), signal, dir);
    },
    summary() {
      return requestOverSocket<InstanceSummary>(socketPath, { op: 'info' });
    },
    async close() {},
  };
}

async function isSocket(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isSocket();
  } catch {
    return false;
  }
}

/** Databases to attach: every top-level *.edb, and those the newest log header names (databases in subdirectories). */
async function databasesToAttach(f: InstanceFiles): Promise<string[]> {
  const names = new Set(f.databases);
  const h = await newestLogHeader(f);
  for (const a of h?.attached ?? []) {
    if (await stat(path.join(f.dir, a.name)).then((s) => s.isFile(), () => false)) names.add(a.name);
  }
  return [...names];
}

/** True when a database header says it was not shut down cleanly. */
async function anyDirty(dir: string, names: string[]): Promise<boolean> {
  for (const n of names) {
    const h = await readDbHeaderFile(path.join(dir, n)).catch(() => undefined);
    if (h?.header.state === DB_STATE_DIRTY_SHUTDOWN) return true;
  }
  return false;
}

/** Open `dir` for the CLI; `purpose` ("back up", "dump", ...) goes into the refusal messages. */
export async function accessInstance(dir: string, purpose: string, options: { allowSocket?: boolean } = {}): Promise<InstanceAccess> {
  const abs = path.resolve(dir);
  const files = await listInstanceFiles(abs);
  const holder = await lockHolder(nodeFileSystem, abs);
  if (holder?.live) {
    const who = holder.pid !== null ? `process ${holder.pid} on ${holder.host} since ${holder.time}` : 'another process';
    const sock = path.join(abs, SOCKET_NAME);
    if (options.allowSocket !== false && holder.pid !== null && (await isSocket(sock))) return socketAccess(abs, sock, holder.pid);
    if (options.allowSocket === false) {
      throw new JetError('JET_errFileAccessDenied', `instance ${abs} is open in ${who}; to ${purpose} it, close the instance first`);
    }
    throw new JetError('JET_errFileAccessDenied',
      `instance ${abs} is open in ${who}, which does not serve backups (no ${SOCKET_NAME}): to let esebackup ${purpose} it while it runs, the holder must call instance.serveBackups(); or close the instance`);
  }
  return openLocal(files, purpose);
}

/** Open the instance in this process (recovering it if needed) and attach every database. */
export async function openLocal(files: InstanceFiles, purpose: string): Promise<LocalAccess> {
  const abs = files.dir;
  if (files.hasManifest) {
    // Opening it would run recovery on the copies and change the set.
    throw new JetError('JET_errInvalidPath', `${abs} is a backup set (it holds esebackup.manifest), not an instance directory; restore it first`);
  }
  if (!looksLikeInstance(files)) {
    throw new JetError('JET_errInvalidPath', `${abs} is not an instance directory (no ${files.baseName}.log, ${files.baseName}.chk, log generations or databases)`);
  }
  if (!files.hasCurrent && !files.hasCheckpoint && files.archived.length === 0) {
    throw new JetError('JET_errMissingLogFile',
      `${abs} holds databases but no log (${files.baseName}.log) and no checkpoint: it is not a logged instance, and esebackup will not start a new log sequence there to ${purpose} it`);
  }
  const params = await detectParams(files);
  const names = await databasesToAttach(files);
  const dirty = await anyDirty(files.dir, names);
  const inst = await Instance.open(abs, params);
  // Recovery runs at every open of a logged instance; it is news only when the instance was not shut down cleanly.
  const r = inst.recovery;
  const recovered = r && (dirty || r.transactionsRedone > 0 || r.transactionsDropped > 0 || r.pagesApplied > 0) ? r : null;
  const databases: Database[] = [];
  try {
    for (const n of names) databases.push(await inst.openDatabase(n));
  } catch (e) {
    await inst.close().catch(() => undefined);
    throw e;
  }
  return {
    dir: abs, mode: 'local', pid: process.pid, recovered, instance: inst, databases,
    backup: (target, grbit, status, o) => inst.backup(path.resolve(target), grbit, status, o),
    truncate: (status, signal) => inst.backup(null, 0, status, signal ? { signal } : {}),
    summary: () => instanceSummary(inst),
    close: () => inst.close(),
  };
}
