/**
 * Page-level transactions: the layer the B+tree builds on.
 *
 * A transaction copies each page it changes (copy-on-write) and keeps the
 * copies private until commit. Commit turns every changed page into a PAGE
 * log record (the byte ranges that differ, plus dbtime before and after),
 * appends BEGIN .. COMMIT in one synchronous step, installs the new images in
 * the cache, and — for a durable commit — waits for the log flush, which
 * concurrent committers share (group commit). Rollback just drops the copies.
 *
 * One writer at a time: Instance.beginTransaction queues callers in FIFO
 * order; the writer slot is released as soon as the records are appended and
 * the pages installed, before the flush, so the next writer works while the
 * log is being synced.
 *
 * Readers (Database.readPage) see a commit as soon as it is installed, which
 * can be a moment before it is durable. A crash in that moment loses the
 * commit, but its commit() had not returned. Readers that walk several pages
 * read as of a snapshot (Instance.openSnapshot) and see no later commit.
 */
import { JetError } from '../errors.js';
import type { Lgpos } from '../format/lgpos.js';
import {
  REC_BEGIN, REC_COMMIT, REC_PAGE, encodeCommit, encodePage, encodeTxid, type PageRange,
} from '../format/log-record.js';
import { pageDbtime, sealPage, setPageDbtime } from '../format/page.js';
import type { Database } from './database.js';
import type { RecordToAppend } from './log-writer.js';
import type { Image } from './page-cache.js';
import { frameKey } from './page-cache.js';
import { diffPages } from './page-diff.js';

/** What a transaction needs from its instance. */
export interface TxHost {
  assertUsable(): void;
  readCommitted(db: Database, pgno: number): Promise<Image>;
  /** The sequence number of the next commit (orders commits for snapshots). */
  nextCommitSeq(): number;
  /** Append the records (when logging is on); returns where they start and end, or null without logging. */
  appendRecords(records: RecordToAppend[]): { begin: Lgpos; end: Lgpos } | null;
  /** Install a committed image in the cache; `base` is the image the transaction started from. */
  install(db: Database, pgno: number, page: Buffer, begin: Lgpos | null, seq: number, base: Image): void;
  /** Wait for durability (durable) or schedule it (lazy), and apply back-pressure. */
  afterCommit(end: Lgpos | null, durable: boolean): Promise<void>;
  releaseWriter(): void;
  nextTxid(): number;
}

interface Working {
  db: Database;
  pgno: number;
  /** The committed image the copy started from. */
  base: Image;
  /** The private copy the caller changes. */
  work: Buffer;
}

const zeroPages = new Map<number, Buffer>();

/** A shared all-zero page, used only as a read-only base image. */
function zeroPage(size: number): Buffer {
  let z = zeroPages.get(size);
  if (!z) zeroPages.set(size, (z = Buffer.alloc(size)));
  return z;
}

export interface CommitOptions {
  /** Wait until the commit is on disk (default true). false = lazy: durable soon, for bulk loads. */
  durable?: boolean;
}

export class Transaction {
  private readonly pages = new Map<number, Working>();
  /** New page counts per database (allocations this transaction made). */
  private readonly grown = new Map<Database, number>();
  private done = false;

  constructor(private readonly host: TxHost) {}

  get active(): boolean { return !this.done; }

  private assertActive(): void {
    if (this.done) throw new JetError('JET_errInvalidParameter', 'the transaction has already committed or rolled back');
    this.host.assertUsable();
  }

  /** The page as this transaction sees it: its own changes, else committed state. Do not modify it. */
  async readPage(db: Database, pgno: number): Promise<Buffer> {
    this.assertActive();
    db.assertOpen();
    const w = this.pages.get(frameKey(db.dbid, pgno));
    if (w) return w.work;
    return (await this.host.readCommitted(db, pgno)).page;
  }

  /**
   * A private copy of the page to change in place. Of the page header
   * (format/page.ts) only flags and objid are the caller's: the checksum, page
   * number and dbtime are set at commit.
   */
  async writePage(db: Database, pgno: number): Promise<Buffer> {
    this.assertActive();
    db.assertOpen();
    if (!Number.isInteger(pgno) || pgno < 1 || pgno > this.pageCount(db)) {
      throw new JetError('JET_errInvalidParameter', `database ${db.name}: page ${pgno} is not allocated (page count ${this.pageCount(db)})`);
    }
    const k = frameKey(db.dbid, pgno);
    const w = this.pages.get(k);
    if (w) return w.work;
    // A page past the committed page count was never written: it is zeros,
    // and reading it from disk would only cost time.
    const base = pgno > db.pageCount ? { page: zeroPage(db.pageSize), initialized: false, seq: 0 } : await this.host.readCommitted(db, pgno);
    const fresh: Working = { db, pgno, base, work: Buffer.from(base.page) };
    this.pages.set(k, fresh);
    return fresh.work;
  }

  /** Extend the database by one page; returns its number and a zeroed private copy. */
  async newPage(db: Database): Promise<{ pgno: number; page: Buffer }> {
    this.assertActive();
    db.assertOpen();
    const pgno = this.pageCount(db) + 1;
    if (pgno > 0xffffffff) throw new JetError('JET_errDiskFull', `database ${db.name} has no page numbers left`);
    this.grown.set(db, pgno);
    return { pgno, page: await this.writePage(db, pgno) };
  }

  /** Pages in use, counting this transaction's allocations. */
  pageCount(db: Database): number {
    return this.grown.get(db) ?? db.pageCount;
  }

  async commit(options: CommitOptions = {}): Promise<void> {
    try {
      this.assertActive();
    } catch (e) {
      this.rollback(); // e.g. the instance is terminating: give the writer slot back
      throw e;
    }
    const durable = options?.durable ?? true;
    if (typeof durable !== 'boolean') {
      this.rollback();
      throw new JetError('JET_errInvalidParameter', `durable must be a boolean, got ${typeof durable}`);
    }
    this.done = true;
    let end: Lgpos | null;
    try {
      end = this.publish();
    } finally {
      this.host.releaseWriter();
    }
    await this.host.afterCommit(end, durable);
  }

  rollback(): void {
    if (this.done) return;
    this.done = true;
    this.pages.clear();
    this.host.releaseWriter();
  }

  /** Log and install the changes. Synchronous, so no other commit interleaves. */
  private publish(): Lgpos | null {
    const changed: { w: Working; ranges: PageRange[]; dbtimeBefore: number }[] = [];
    for (const w of this.pages.values()) {
      w.work.writeUInt32LE(w.pgno, 4);
      const dbtimeBefore = pageDbtime(w.base.page);
      setPageDbtime(w.work, dbtimeBefore);
      const diff = diffPages(w.base.page, w.work, 4);
      if (diff.length === 0) continue;
      changed.push({ w, dbtimeBefore, ranges: diff.map((r) => ({ offset: r.offset, bytes: w.work.subarray(r.offset, r.offset + r.length) })) });
    }
    if (changed.length === 0) return null;
    const txid = this.host.nextTxid();
    const records: RecordToAppend[] = [{ type: REC_BEGIN, payload: encodeTxid(txid) }];
    const next = new Map<Database, number>();
    for (const c of changed) {
      const dbtimeAfter = (next.get(c.w.db) ?? c.w.db.dbtime) + 1;
      if (dbtimeAfter <= c.dbtimeBefore) {
        // Redo would skip this change as already applied: the database's dbtime
        // lags a page's, which only a bug or a foreign file can cause.
        throw new JetError('JET_errDatabaseCorrupted',
          `database ${c.w.db.name} page ${c.w.pgno}: dbtime ${c.dbtimeBefore} is ahead of the database's ${dbtimeAfter - 1}`);
      }
      next.set(c.w.db, dbtimeAfter);
      records.push({ type: REC_PAGE, payload: encodePage({ dbid: c.w.db.dbid, pgno: c.w.pgno, dbtimeBefore: c.dbtimeBefore, dbtimeAfter, ranges: c.ranges }) });
      setPageDbtime(c.w.work, dbtimeAfter);
      sealPage(c.w.work);
    }
    records.push({ type: REC_COMMIT, payload: encodeCommit(txid, Date.now()) });
    // Append first: if it throws (log failed), nothing is installed.
    const pos = this.host.appendRecords(records);
    for (const [db, dbtime] of next) db.dbtime = dbtime;
    for (const [db, count] of this.grown) db.pageCount = Math.max(db.pageCount, count);
    const seq = this.host.nextCommitSeq();
    for (const c of changed) this.host.install(c.w.db, c.w.pgno, c.w.work, pos ? pos.begin : null, seq, c.w.base);
    return pos ? pos.end : null;
  }
}

