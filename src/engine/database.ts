/**
 * A database attached to a running instance: its file plus the in-memory
 * counters the engine hands out (dbtime, page count).
 *
 * Two levels of access:
 *  - tables (put / get / delete / range / transaction / tables), the API
 *    applications use, built on B+trees in src/tables/;
 *  - pages (readPage, and Instance.beginTransaction for changes), the level
 *    the table layer and the backup are built on.
 */
import * as path from 'node:path';
import { JetError } from '../errors.js';
import type { DatabaseFile } from './database-file.js';
import type { Image } from './page-cache.js';
import type { CommitOptions } from './transaction.js';
import {
  snapshotCheck, snapshotGet, snapshotRange, snapshotTables, tableTransaction, toKey, toTableName, toValue,
  type Bytes, type RangeOptions, type Row, type TableHost, type TableTransaction,
} from '../tables/table-store.js';
import type { TreeCheckReport } from '../tables/check-tree.js';

/** What a Database needs from its instance. */
export interface PageSource extends TableHost {
  readCommitted(db: Database, pgno: number, asOf?: number): Promise<Image>;
  assertUsable(): void;
}

export class Database {
  /** Highest dbtime handed out; every committed page change takes the next one. */
  dbtime: number;
  /** Highest page number in use (committed). */
  pageCount: number;
  /** False once the instance has closed it. */
  open = true;
  /**
   * Bumped before and after the checkpoint writes pages of this file. A cache
   * miss that read from disk while it changed may hold a stale image and reads again.
   */
  writeEpoch = 0;

  constructor(
    /** File name relative to the instance directory, e.g. 'main.edb'. */
    readonly name: string,
    /** Small integer naming the database inside log records. */
    readonly dbid: number,
    readonly file: DatabaseFile,
    private readonly source: PageSource,
  ) {
    this.dbtime = file.header.dbtime;
    this.pageCount = file.header.pageCount;
  }

  get pageSize(): number { return this.file.pageSize; }
  get path(): string { return this.file.path; }
  get signature(): string { return this.file.header.dbSignature; }

  assertOpen(): void {
    this.source.assertUsable();
    if (!this.open) throw new JetError('JET_errInvalidParameter', `database ${this.name} is closed`);
  }

  /**
   * The committed image of page `pgno` (1 ..), the newest or as of snapshot
   * `asOf` (Instance.openSnapshot().seq). Pages past the end, or never
   * written, come back zero-filled with initialized = false. The buffer is
   * shared with the cache: do not modify it.
   */
  async readPage(pgno: number, asOf?: number): Promise<{ page: Buffer; initialized: boolean }> {
    this.assertOpen();
    if (!Number.isInteger(pgno) || pgno < 1 || pgno > 0xffffffff) {
      throw new JetError('JET_errInvalidParameter', `database ${this.name}: bad page number ${String(pgno)}`);
    }
    if (asOf !== undefined && (!Number.isInteger(asOf) || asOf < 0)) {
      throw new JetError('JET_errInvalidParameter', `database ${this.name}: bad snapshot ${String(asOf)}`);
    }
    const f = await this.source.readCommitted(this, pgno, asOf);
    return { page: f.page, initialized: f.initialized };
  }

  // ---- tables -----------------------------------------------------------------

  /** Insert or replace, in a transaction of its own (durable unless `durable: false`). */
  async put(table: string, key: Bytes, value: Bytes, options?: CommitOptions): Promise<void> {
    // Checked and copied now: the caller may reuse its buffers as soon as put
    // returns its promise (the name is a string, which cannot change).
    toTableName(table);
    const [k, v] = [toKey(key), Buffer.from(toValue(value))];
    await tableTransaction(this.source, this, (tx) => tx.put(table, k, v), options);
  }

  /** The committed value, or undefined. */
  get(table: string, key: Bytes): Promise<Buffer | undefined> {
    return snapshotGet(this.source, this, table, key);
  }

  /** Delete, in a transaction of its own; resolves to whether the key existed. */
  async delete(table: string, key: Bytes, options?: CommitOptions): Promise<boolean> {
    toTableName(table);
    const k = toKey(key);
    return tableTransaction(this.source, this, (tx) => tx.delete(table, k), options);
  }

  /**
   * Run `fn` atomically: it commits when `fn` resolves (durably, unless
   * `durable: false`) and rolls back when it throws. One writer at a time.
   */
  transaction<T>(fn: (tx: TableTransaction) => Promise<T>, options?: CommitOptions): Promise<T> {
    return tableTransaction(this.source, this, fn, options);
  }

  /** Rows in key order (or reverse) within the bounds, from one snapshot. */
  range(table: string, options?: RangeOptions): AsyncGenerator<Row> {
    return snapshotRange(this.source, this, table, options);
  }

  /** Table names, in byte order. */
  tables(): Promise<string[]> {
    return snapshotTables(this.source, this);
  }

  /** Walk every table's B+tree checking its structure; lists every problem found. */
  checkTables(): Promise<TreeCheckReport> {
    return snapshotCheck(this.source, this);
  }
}

/** Database names are plain relative paths inside the instance directory. */
export function checkDbName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 255) {
    throw new JetError('JET_errInvalidParameter', 'a database name must be a string of 1 to 255 characters');
  }
  const norm = path.posix.normalize(name.replace(/\\/g, '/'));
  if (path.isAbsolute(name) || norm !== name || norm.startsWith('../') || name.includes('\0')) {
    throw new JetError('JET_errInvalidParameter', `database name ${JSON.stringify(name)} must be a plain relative path inside the instance directory`);
  }
}
