/**
 * The attach protocol for one database file: open (or create) it, check it
 * fits the instance, make the ATTACH record durable, then mark the header
 * dirty. In that order, a crash in between leaves a clean database the log
 * knows, never a dirty one it does not.
 */
import { JetError } from '../errors.js';
import { DB_STATE_DIRTY_SHUTDOWN } from '../format/db-header.js';
import type { AttachEntry } from '../format/log-header.js';
import { REC_ATTACH, encodeAttach } from '../format/log-record.js';
import { LGPOS_ZERO } from '../format/lgpos.js';
import type { FileSystem } from '../io/file-system.js';
import { DatabaseFile } from './database-file.js';
import type { LogWriter } from './log-writer.js';

export interface AttachRequest {
  io: FileSystem;
  file: string;
  name: string;
  dbid: number;
  exists: boolean;
  pageSize: number;
  log: LogWriter | null;
  logSignature: string;
  /** The checkpoint's generation: the lowest one recovery of this file needs. */
  genMinRequired: number;
  /** Told the entry while its ATTACH record is in the log but the database is not attached yet (null after). */
  attaching: (e: AttachEntry | null) => void;
}

export async function attachFile(r: AttachRequest): Promise<DatabaseFile> {
  const { io, file, log } = r;
  const f = r.exists
    ? await DatabaseFile.open(io, file)
    : await DatabaseFile.create(io, file, { pageSize: r.pageSize, logSignature: r.logSignature, lgposAttach: log?.tip ?? LGPOS_ZERO });
  try {
    if (f.pageSize !== r.pageSize) {
      throw new JetError('JET_errPageSizeMismatch', `database ${file} has ${f.pageSize}-byte pages; the instance uses ${r.pageSize}`);
    }
    if (f.header.state === DB_STATE_DIRTY_SHUTDOWN) {
      throw new JetError('JET_errDatabaseDirtyShutdown', `database ${file} was not shut down cleanly and this instance's log cannot recover it`);
    }
    let at = LGPOS_ZERO;
    if (log) {
      at = log.tip;
      const { dbid, name } = r;
      r.attaching({ dbid, dbSignature: f.header.dbSignature, name });
      log.append([{ type: REC_ATTACH, payload: encodeAttach({ dbid, create: !r.exists, pageSize: f.pageSize, dbSignature: f.header.dbSignature, name }) }]);
      await log.flush();
    }
    await f.updateHeader((h) => ({
      ...h, state: DB_STATE_DIRTY_SHUTDOWN, logSignature: r.logSignature || h.logSignature,
      lgposAttach: at, timeAttach: Date.now(), genMinRequired: r.genMinRequired,
    }));
    return f;
  } catch (e) {
    await f.close().catch(() => undefined);
    throw e;
  } finally {
    r.attaching(null);
  }
}
