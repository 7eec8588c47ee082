/**
 * Crash recovery: replay committed transactions from the checkpoint to the
 * end of the log, then mark the databases clean.
 *
 * Steps:
 *  1. plan the generations from the checkpoint to <base>.log (log-chain.ts)
 *     and read them one at a time, checking that each follows the one before;
 *  2. track which database each dbid names: the first generation's header,
 *     then ATTACH records;
 *  3. buffer each transaction's PAGE records and redo them when its COMMIT is
 *     read (redo.ts); a transaction without COMMIT at the end of the log never
 *     committed and is dropped;
 *  4. write the redone pages, sync, and write each database header clean.
 *
 * Returns what the instance needs to go on appending to the log.
 */
import * as path from 'node:path';
import { JetError } from '../errors.js';
import { DB_STATE_CLEAN_SHUTDOWN, DB_STATE_DIRTY_SHUTDOWN } from '../format/db-header.js';
import type { LogHeader } from '../format/log-header.js';
import {
  REC_ATTACH, REC_BEGIN, REC_COMMIT, REC_PAGE, REC_TERM, decodeAttach, decodePage, type PageRecord,
} from '../format/log-record.js';
import { cmpLgpos, formatLgpos, type Lgpos } from '../format/lgpos.js';
import type { Checkpoint } from '../format/checkpoint.js';
import { DatabaseFile } from './database-file.js';
import { checkFollows, planChain } from './log-chain.js';
import { archivedPath, currentPath, listLogs, type LogDir } from './log-files.js';
import { readGeneration, readLogHeader } from './log-reader.js';
import { redoPage } from './redo.js';
import type { ResolvedParams } from './params.js';

export interface RecoveredLog {
  logSignature: string;
  /** The newest generation read, and where its valid records end. */
  lastGen: number;
  lastHeader: LogHeader;
  end: number;
  /** True when the newest generation ends with its ROLL record. */
  finished: boolean;
  /** Torn bytes after `end` in <base>.log, to be zeroed before appending. */
  tornBytes: number;
  /** <base>.log is missing because a roll was interrupted. */
  rollInterrupted: boolean;
  /**
   * The log ends inside a transaction (its COMMIT never made it). Recovery
   * dropped it; the instance must write TERM before appending anything, so
   * that a later replay from further back drops it too.
   */
  endsInTransaction: boolean;
  stats: RecoveryStats;
}

export interface RecoveryStats {
  generations: number;
  transactionsRedone: number;
  transactionsDropped: number;
  pagesApplied: number;
  pagesSkipped: number;
  databases: string[];
}

interface RecoveringDb {
  /** Unique per database file in this replay: pages are keyed by it, never by dbid (a restart may reassign ids). */
  uid: number;
  name: string;
  dbSignature: string;
  createdInLog: boolean;
  file?: DatabaseFile;
  dbtime: number;
  pageCount: number;
}

/** Pages held in memory before they are written out during replay. */
const REDO_BATCH_PAGES = 4096;

export async function recover(p: ResolvedParams, chk: Checkpoint): Promise<RecoveredLog> {
  const dbs = new Map<number, RecoveringDb>();
  const retired: RecoveringDb[] = [];
  try {
    return await replay(p, chk, dbs, retired);
  } finally {
    // finishDb closes what it finishes; this closes the files a failure left open.
    for (const db of [...dbs.values(), ...retired]) await db.file?.close().catch(() => undefined);
  }
}

function nextUid(dbs: Map<number, RecoveringDb>, retired: RecoveringDb[]): number {
  let max = 0;
  for (const d of [...dbs.values(), ...retired]) max = Math.max(max, d.uid);
  return max + 1;
}

async function replay(p: ResolvedParams, chk: Checkpoint, dbs: Map<number, RecoveringDb>, retired: RecoveringDb[]): Promise<RecoveredLog> {
  const d: LogDir = { io: p.io, dir: p.logFilePath, base: p.baseName };
  const listing = await listLogs(d);
  let currentGen: number | undefined;
  if (listing.hasCurrent) currentGen = (await readLogHeader(p.io, currentPath(d))).generation;
  const plan = planChain(listing, chk.lgpos.gen, currentGen);
  const pending = new Map<string, { db: RecoveringDb; pgno: number; page: Buffer }>();
  const stats: RecoveryStats = { generations: 0, transactionsRedone: 0, transactionsDropped: 0, pagesApplied: 0, pagesSkipped: 0, databases: [] };
  let txn: { pages: PageRecord[]; redo: boolean } | null = null;
  let prev: LogHeader | undefined;
  let last: Awaited<ReturnType<typeof readGeneration>> | undefined;

  for (const gen of plan.gens) {
    const file = gen === plan.currentGen ? currentPath(d) : archivedPath(d, gen);
    const g = await readGeneration(p.io, file, gen === plan.currentGen);
    if (g.header.generation !== gen) {
      throw new JetError('JET_errInvalidLogSequence', `log ${file} holds generation ${g.header.generation}, not ${gen}`);
    }
    if (prev) checkFollows(prev, g.header, file);
    else {
      if (g.header.logSignature !== chk.logSignature) {
        throw new JetError('JET_errBadLogSignature', `log ${file} does not belong to the checkpoint's log sequence`);
      }
      for (const a of g.header.attached) dbs.set(a.dbid, { uid: dbs.size + 1, name: a.name, dbSignature: a.dbSignature, createdInLog: false, dbtime: 0, pageCount: 0 });
    }
    stats.generations++;
    for (const r of g.records) {
      const at: Lgpos = { gen, off: r.off };
      // Before the checkpoint nothing is redone (it is on disk already) and
      // the generation may begin inside a transaction of the previous one:
      // there, only attachments and transaction bounds are followed, leniently.
      const before = cmpLgpos(at, chk.lgpos) < 0;
      switch (r.type) {
        case REC_ATTACH: {
          const a = decoded(() => decodeAttach(r.payload), file, r.off);
          const known = dbs.get(a.dbid);
          if (known?.dbSignature === a.dbSignature) break; // attached again after a restart: same database
          // The id now names another database (a restart attached them in another order): the
          // database it named is finished at the end; the one attached now may be known already.
          if (known) {
            dbs.delete(a.dbid);
            if (![...dbs.values()].includes(known)) retired.push(known);
          }
          const again = [...dbs.values(), ...retired].find((d) => d.dbSignature === a.dbSignature);
          if (again) {
            const i = retired.indexOf(again);
            if (i >= 0) retired.splice(i, 1);
            dbs.set(a.dbid, again);
          } else {
            dbs.set(a.dbid, { uid: nextUid(dbs, retired), name: a.name, dbSignature: a.dbSignature, createdInLog: a.create, dbtime: 0, pageCount: 0 });
          }
          break;
        }
        case REC_BEGIN:
          if (txn && !before) throw corrupt(file, r.off, 'BEGIN inside a transaction');
          txn = { pages: [], redo: !before };
          break;
        case REC_PAGE:
          if (!txn) {
            if (before) break;
            throw corrupt(file, r.off, 'PAGE record outside a transaction');
          }
          if (txn.redo) txn.pages.push(decoded(() => decodePage(r.payload), file, r.off));
          break;
        case REC_COMMIT:
          if (!txn) {
            if (before) break;
            throw corrupt(file, r.off, 'COMMIT outside a transaction');
          }
          if (txn.redo) {
            const fetched = await prefetch(p, chk.logSignature, dbs, pending, txn.pages);
            for (const rec of txn.pages) await redo(p, chk.logSignature, dbs, pending, rec, stats, fetched);
            stats.transactionsRedone++;
            if (pending.size >= REDO_BATCH_PAGES) await writePending(pending);
          }
          txn = null;
          break;
        case REC_TERM:
          // Written after a crash left a transaction without COMMIT (and at
          // clean shutdown): whatever is open here never committed.
          if (txn) stats.transactionsDropped++;
          txn = null;
          break;
        default:
          break; // ROLL carries nothing to redo
      }
    }
    prev = g.header;
    last = g;
    p.onRecoveryProgress?.(stats.generations, plan.gens.length, g.end);
  }
  if (txn) stats.transactionsDropped++;
  await writePending(pending);
  const end: Lgpos = { gen: last!.header.generation, off: last!.end };
  if (cmpLgpos(chk.lgpos, end) > 0) {
    // The checkpoint only ever moves up to durable log: the log lost its tail.
    throw new JetError('JET_errCheckpointCorrupt',
      `the checkpoint is at ${formatLgpos(chk.lgpos)}, past the end of the log at ${formatLgpos(end)}`);
  }
  for (const db of new Set([...retired, ...dbs.values()])) await finishDb(p, db, end, stats);
  return {
    logSignature: chk.logSignature, lastGen: end.gen, lastHeader: last!.header, end: end.off,
    finished: last!.finished, tornBytes: last!.tornBytes, rollInterrupted: plan.rollInterrupted, endsInTransaction: txn !== null, stats,
  };
}

/** A payload that passed its checksum but does not decode was written wrong: corruption all the same. */
function decoded<T>(decode: () => T, file: string, off: number): T {
  try {
    return decode();
  } catch (e) {
    throw corrupt(file, off, `malformed payload (${(e as Error).message})`);
  }
}

function corrupt(file: string, off: number, what: string): JetError {
  return new JetError('JET_errLogFileCorrupt', `log ${file} offset ${off}: ${what}`);
}

async function openForRedo(p: ResolvedParams, db: RecoveringDb, logSignature: string): Promise<DatabaseFile> {
  if (db.file) return db.file;
  const file = path.join(p.dir, db.name);
  let f: DatabaseFile;
  if (!(await p.io.exists(file))) {
    if (!db.createdInLog) throw new JetError('JET_errFileNotFound', `database ${file}, which the log changes, is missing`);
    // Created after the checkpoint and lost: the log holds every page of it.
    f = await DatabaseFile.create(p.io, file, { pageSize: p.pageSize, logSignature, lgposAttach: { gen: 0, off: 0 }, dbSignature: db.dbSignature });
  } else {
    f = await DatabaseFile.open(p.io, file);
  }
  if (f.header.dbSignature !== db.dbSignature) {
    await f.close();
    throw new JetError('JET_errBadDbSignature', `database ${file} is not the database the log was written for`);
  }
  db.file = f;
  db.dbtime = f.header.dbtime;
  db.pageCount = f.header.pageCount;
  return f;
}

/** Pages read in parallel at most (libuv reads them on its thread pool). */
const PREFETCH_PARALLEL = 32;

/**
 * Read the pages a committed transaction changes, in parallel, before redoing
 * its records one by one: replay waits for one batch of reads per
 * transaction instead of one read per page. Pages already pending are not read.
 */
async function prefetch(
  p: ResolvedParams, logSignature: string, dbs: Map<number, RecoveringDb>, pending: Map<string, { page: Buffer }>, recs: PageRecord[],
): Promise<Map<string, Buffer>> {
  const wanted = new Map<string, { file: DatabaseFile; pgno: number }>();
  for (const rec of recs) {
    const db = dbs.get(rec.dbid);
    if (!db) continue; // an unknown dbid fails in redo(), with its message
    const key = `${db.uid}:${rec.pgno}`;
    if (pending.has(key) || wanted.has(key)) continue;
    wanted.set(key, { file: await openForRedo(p, db, logSignature), pgno: rec.pgno });
  }
  const fetched = new Map<string, Buffer>();
  const list = [...wanted];
  for (let i = 0; i < list.length; i += PREFETCH_PARALLEL) {
    await Promise.all(list.slice(i, i + PREFETCH_PARALLEL).map(async ([key, w]) => {
      fetched.set(key, (await w.file.readPage(w.pgno)).page);
    }));
  }
  return fetched;
}

async function redo(
  p: ResolvedParams, logSignature: string, dbs: Map<number, RecoveringDb>, pending: Map<string, { db: RecoveringDb; pgno: number; page: Buffer }>,
  rec: PageRecord, stats: RecoveryStats, fetched: Map<string, Buffer>,
): Promise<void> {
  const db = dbs.get(rec.dbid);
  if (!db) throw new JetError('JET_errLogFileCorrupt', `a log record changes database id ${rec.dbid}, which is not attached`);
  const file = await openForRedo(p, db, logSignature);
  const key = `${db.uid}:${rec.pgno}`;
  let page = pending.get(key)?.page ?? fetched.get(key);
  if (!page) page = (await file.readPage(rec.pgno)).page;
  if (redoPage(page, rec, `database ${file.path}`) === 'applied') {
    pending.set(key, { db, pgno: rec.pgno, page });
    stats.pagesApplied++;
  } else {
    stats.pagesSkipped++;
  }
  db.dbtime = Math.max(db.dbtime, rec.dbtimeAfter);
  db.pageCount = Math.max(db.pageCount, rec.pgno);
}

async function writePending(pending: Map<string, { db: RecoveringDb; pgno: number; page: Buffer }>): Promise<void> {
  const byDb = new Map<RecoveringDb, { pgno: number; page: Buffer }[]>();
  for (const x of pending.values()) {
    const list = byDb.get(x.db) ?? [];
    list.push({ pgno: x.pgno, page: x.page });
    byDb.set(x.db, list);
  }
  for (const [db, pages] of byDb) {
    pages.sort((a, b) => a.pgno - b.pgno);
    await db.file!.writePages(pages);
    await db.file!.sync();
  }
  pending.clear();
}

/** Mark a database clean at the end of the log, if it is there and was left dirty or changed. */
async function finishDb(p: ResolvedParams, db: RecoveringDb, end: Lgpos, stats: RecoveryStats): Promise<void> {
  if (!db.file) {
    const file = path.join(p.dir, db.name);
    if (!(await p.io.exists(file))) return; // attached once, gone since, and nothing to redo
    let f: DatabaseFile;
    try {
      f = await DatabaseFile.open(p.io, file);
    } catch {
      return; // nothing to redo in it; openDatabase reports what is wrong with it
    }
    if (f.header.dbSignature !== db.dbSignature || f.header.state !== DB_STATE_DIRTY_SHUTDOWN) {
      await f.close();
      return;
    }
    db.file = f;
    db.dbtime = f.header.dbtime;
    db.pageCount = f.header.pageCount;
  }
  const h = db.file.header;
  await db.file.writeHeader({
    ...h, state: DB_STATE_CLEAN_SHUTDOWN, dbtime: Math.max(h.dbtime, db.dbtime), pageCount: Math.max(h.pageCount, db.pageCount),
    lgposConsistent: end, timeConsistent: Date.now(),
  });
  await db.file.close();
  db.file = undefined;
  stats.databases.push(db.name);
}
