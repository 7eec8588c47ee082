/**
 * How the table layer reaches pages: through a transaction (to change them)
 * or through a snapshot (to read them while commits go on). The B+tree code
 * is written against these two interfaces only.
 */
import { JetError } from '../errors.js';
import type { Database } from '../engine/database.js';
import type { Transaction } from '../engine/transaction.js';
import { PAGE_HEADER_SIZE } from '../format/page.js';
import { META_PGNO, readFreeNext, readMeta, writeFreePage, writeMeta, type Meta } from '../format/table-pages.js';

export interface PageReader {
  readonly pageSize: number;
  /** The page's bytes. Do not modify them. */
  read(pgno: number): Promise<Buffer>;
}

export interface PageWriter extends PageReader {
  /** A private copy to change in place (see Transaction.writePage). */
  write(pgno: number): Promise<Buffer>;
  /** A page for new use, body zeroed: a free page if there is one, else a new one at the end. */
  alloc(): Promise<{ pgno: number; page: Buffer }>;
  /** Give a page back: it goes on the free list. */
  free(pgno: number): Promise<void>;
}

/** Read as of a snapshot sequence number (Instance.openSnapshot). */
export function snapshotReader(db: Database, seq: number): PageReader {
  return { pageSize: db.pageSize, read: async (pgno) => (await db.readPage(pgno, seq)).page };
}

export function corrupt(db: Database, what: string): JetError {
  return new JetError('JET_errDatabaseCorrupted', `database ${db.name}: ${what}`);
}

/** Read the meta page; corruption if it is not one. */
export function metaOf(db: Database, page: Buffer): Meta {
  const m = readMeta(page);
  if (!m) throw corrupt(db, `page ${META_PGNO} is not a table meta page`);
  return m;
}

/** Pages through a transaction, with the free list kept in the meta page. */
export class TxPages implements PageWriter {
  constructor(readonly tx: Transaction, readonly db: Database) {}

  get pageSize(): number { return this.db.pageSize; }

  read(pgno: number): Promise<Buffer> { return this.tx.readPage(this.db, pgno); }

  write(pgno: number): Promise<Buffer> { return this.tx.writePage(this.db, pgno); }

  async alloc(): Promise<{ pgno: number; page: Buffer }> {
    const metaPage = await this.write(META_PGNO);
    const m = metaOf(this.db, metaPage);
    if (m.freeHead === 0) return this.tx.newPage(this.db);
    const pgno = m.freeHead;
    const page = await this.write(pgno);
    let next: number;
    try {
      next = readFreeNext(page);
    } catch {
      throw corrupt(this.db, `page ${pgno} is on the free list but is not a free page`);
    }
    page.fill(0, PAGE_HEADER_SIZE);
    writeMeta(metaPage, { ...m, freeHead: next, freeCount: m.freeCount - 1 });
    return { pgno, page };
  }

  async free(pgno: number): Promise<void> {
    const metaPage = await this.write(META_PGNO);
    const m = metaOf(this.db, metaPage);
    writeFreePage(await this.write(pgno), m.freeHead);
    writeMeta(metaPage, { ...m, freeHead: pgno, freeCount: m.freeCount + 1 });
  }
}
