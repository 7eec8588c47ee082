/**
 * One *.edb file: its header (both copies) and its pages, with every read
 * verified. No caching here; page-cache.ts sits above.
 */
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { JetError, fromFsError } from '../errors.js';
import {
  BKINFO_NONE, DB_STATE_JUST_CREATED, chooseDbHeader, decodeDbHeader, encodeDbHeader, type DbHeader, type DbHeaderDecode,
} from '../format/db-header.js';
import { LGPOS_ZERO, type Lgpos } from '../format/lgpos.js';
import { PAGE_SIZES, checkPage, describePageCheck, pageOffset } from '../format/page.js';
import type { FileHandle, FileSystem } from '../io/file-system.js';

/** The file grows by at least this many pages at a time (an extent). */
export const EXTENT_PAGES = 256;

export function newSignature(): string {
  return randomBytes(16).toString('hex');
}

export interface CreateOptions {
  pageSize: number;
  logSignature: string;
  lgposAttach: Lgpos;
  dbSignature?: string;
}

export class DatabaseFile {
  /** The header as last read or written. */
  header: DbHeader;
  /** Pages the file has room for (its size in pages, minus the two header pages). */
  private capacity: number;
  private headerTail: Promise<void> = Promise.resolve();

  private constructor(readonly path: string, private readonly fh: FileHandle, header: DbHeader, capacity: number) {
    this.header = header;
    this.capacity = capacity;
  }

  get pageSize(): number { return this.header.pageSize; }

  /** Data pages the file holds now (its size, less the two header pages); pages never written read as zeros. */
  get pagesOnDisk(): number { return this.capacity; }

  static async create(io: FileSystem, path: string, o: CreateOptions): Promise<DatabaseFile> {
    const now = Date.now();
    const header: DbHeader = {
      pageSize: o.pageSize, seq: 0, dbtime: 0, dbSignature: o.dbSignature ?? newSignature(), logSignature: o.logSignature,
      state: DB_STATE_JUST_CREATED, pageCount: 0, lgposConsistent: LGPOS_ZERO, timeConsistent: 0,
      lgposAttach: o.lgposAttach, timeAttach: now, bkinfoFullPrev: BKINFO_NONE, bkinfoIncPrev: BKINFO_NONE,
      bkinfoFullCur: BKINFO_NONE, genMinRequired: o.lgposAttach.gen, timeCreate: now,
    };
    let fh: FileHandle;
    try {
      fh = await io.open(path, 'wx');
    } catch (e) {
      throw fromFsError(e, `creating database ${path}`);
    }
    const db = new DatabaseFile(path, fh, header, 0);
    try {
      await db.writeHeader(header);
      await io.syncDir(dirname(path)); // the new name must survive a power loss too
    } catch (e) {
      // A file without a durable header is no database: leave nothing behind.
      await fh.close().catch(() => undefined);
      await io.unlink(path).catch(() => undefined);
      throw e;
    }
    return db;
  }

  static async open(io: FileSystem, path: string, mode: 'r' | 'r+' = 'r+'): Promise<DatabaseFile> {
    let fh: FileHandle;
    try {
      fh = await io.open(path, mode);
    } catch (e) {
      throw fromFsError(e, `opening database ${path}`);
    }
    try {
      const choice = await readHeaderCopies(fh);
      if (!choice.ok) throw new JetError('JET_errDatabaseCorrupted', `database ${path}: no valid header (${choice.reason})`);
      const bytes = await fh.size();
      const capacity = Math.max(0, Math.floor(bytes / choice.header.pageSize) - 2);
      return new DatabaseFile(path, fh, choice.header, capacity);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw fromFsError(e, `reading database header of ${path}`);
    }
  }

  /**
   * Write both header copies: shadow (page 1) first and synced, then page 0 and
   * synced. A crash tears at most one; the reader takes the valid newer one.
   */
  writeHeader(h: DbHeader): Promise<void> {
    return this.updateHeader(() => h);
  }

  /**
   * Change the header with `change` applied to the header as it is when this
   * write's turn comes: header writers (checkpoint, attach, backup) queue up,
   * so neither copy can end up older than the other and no field one writer
   * set is lost to another's stale copy.
   */
  updateHeader(change: (h: DbHeader) => DbHeader): Promise<void> {
    const run = this.headerTail.then(() => this.writeHeaderNow(change(this.header)));
    this.headerTail = run.catch(() => undefined);
    return run;
  }

  private async writeHeaderNow(h: DbHeader): Promise<void> {
    const next = { ...h, seq: this.header.seq + 1 };
    const page = encodeDbHeader(next);
    try {
      await this.fh.write(page, 0, page.length, next.pageSize);
      await this.fh.datasync();
      await this.fh.write(page, 0, page.length, 0);
      await this.fh.datasync();
    } catch (e) {
      throw fromFsError(e, `writing database header of ${this.path}`);
    }
    this.header = next;
  }

  /**
   * Read and verify page `pgno`. A page past the end of the file, or all
   * zeros, comes back zero-filled with initialized = false. Anything that
   * fails its checksum or names another page number is JET_errReadVerifyFailure.
   */
  async readPage(pgno: number, into?: Buffer): Promise<{ page: Buffer; initialized: boolean }> {
    const page = into ?? Buffer.allocUnsafe(this.pageSize);
    await this.readRaw(pgno, page);
    const check = checkPage(page, pgno);
    if (!check.ok) {
      throw new JetError('JET_errReadVerifyFailure', `database ${this.path} page ${pgno}: ${describePageCheck(check)}`);
    }
    return { page, initialized: check.initialized };
  }

  /** Read page bytes without verifying them (zero-filled past the end of the file). */
  async readRaw(pgno: number, into: Buffer): Promise<void> {
    if (!Number.isInteger(pgno) || pgno < 1) throw new JetError('JET_errInvalidParameter', `bad page number ${pgno}`);
    let n: number;
    try {
      n = await this.fh.read(into, 0, this.pageSize, pageOffset(pgno, this.pageSize));
    } catch (e) {
      throw fromFsError(e, `reading database ${this.path} page ${pgno}`);
    }
    if (n < this.pageSize) into.fill(0, n, this.pageSize);
  }

  /** Write sealed pages, sorted by page number. The file grows in extents, never one page at a time. */
  async writePages(pages: { pgno: number; page: Buffer }[]): Promise<void> {
    let highest = 0;
    for (const p of pages) highest = Math.max(highest, p.pgno);
    try {
      if (highest > this.capacity) {
        const grow = Math.max(EXTENT_PAGES, Math.ceil(this.capacity / 8));
        const capacity = Math.max(highest, this.capacity + grow);
        await this.fh.truncate(pageOffset(capacity + 1, this.pageSize));
        this.capacity = capacity;
      }
      // Runs of consecutive page numbers go out in one vectored write each.
      for (let i = 0; i < pages.length;) {
        let j = i + 1;
        while (j < pages.length && pages[j]!.pgno === pages[j - 1]!.pgno + 1) j++;
        await this.fh.writev(pages.slice(i, j).map((p) => p.page), pageOffset(pages[i]!.pgno, this.pageSize));
        i = j;
      }
    } catch (e) {
      throw fromFsError(e, `writing database ${this.path}`);
    }
  }

  async sync(): Promise<void> {
    try {
      await this.fh.datasync();
    } catch (e) {
      throw fromFsError(e, `syncing database ${this.path}`);
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/**
 * Read both header copies and take the valid one with the higher seq
 * (chooseDbHeader). The shadow sits one page in, and the page size is in the
 * header itself: when page 0 is unreadable, look for the shadow at every
 * legal page size.
 */
async function readHeaderCopies(fh: FileHandle): Promise<DbHeaderDecode> {
  const largest = PAGE_SIZES[PAGE_SIZES.length - 1]!;
  const head = Buffer.alloc(2 * largest);
  await fh.read(head, 0, head.length, 0);
  const primary = head.subarray(0, largest);
  const p = decodeDbHeader(primary);
  const shadowAt = (size: number) => head.subarray(size, 2 * size);
  let size = p.ok ? p.header.pageSize : PAGE_SIZES[0];
  if (!p.ok) {
    for (const s of PAGE_SIZES) {
      const d = decodeDbHeader(shadowAt(s));
      if (d.ok && d.header.pageSize === s) size = s;
    }
  }
  return chooseDbHeader(primary, shadowAt(size));
}
