/**
 * The table API: put / get / delete / range / tables, on B+trees.
 *
 * Writes run in a page-level transaction (one writer at a time, logged,
 * atomic). Reads outside a transaction run against a snapshot, so a range
 * scan sees one committed state from its first row to its last while
 * writers go on.
 */
import { JetError } from '../errors.js';
import type { Database } from '../engine/database.js';
import type { CommitOptions, Transaction } from '../engine/transaction.js';
import { leafCellSize, nodeCapacity, type LeafCell } from '../format/table-pages.js';
import { insert, lookup, remove, scan, type ScanBounds } from './btree.js';
import { findOrCreateTable, findTable, listTables } from './catalog.js';
import { checkTables, type TreeCheckReport } from './check-tree.js';
import { freeLongValue, readLongValue, writeLongValue } from './long-value.js';
import { snapshotReader, TxPages, type PageReader } from './page-access.js';

export const MAX_KEY_BYTES = 1024;
export const MAX_VALUE_BYTES = 64 * 1024 * 1024;
export const MAX_TABLE_NAME_BYTES = 64;
/** A long-value reference in a cell: firstPage u32 + pageCount u32. */
const LONG_REF_BYTES = 8;

export type Bytes = string | Uint8Array;

export interface RangeOptions {
  gt?: Bytes;
  gte?: Bytes;
  lt?: Bytes;
  lte?: Bytes;
  reverse?: boolean;
  /** At most this many rows. */
  limit?: number;
}

export interface Row {
  key: Buffer;
  value: Buffer;
}

/** A lone surrogate has no UTF-8 form: two different strings would become the same bytes. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function bytes(what: string, v: unknown): Buffer {
  if (typeof v === 'string') {
    if (LONE_SURROGATE.test(v)) throw new JetError('JET_errInvalidParameter', `${what} is a string with a lone surrogate (not valid Unicode)`);
    return Buffer.from(v, 'utf8');
  }
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new JetError('JET_errInvalidParameter', `${what} must be a string or a Uint8Array, got ${v === null ? 'null' : typeof v}`);
}

export function toKey(k: unknown): Buffer {
  const b = Buffer.from(bytes('a key', k)); // a copy: the caller may change its buffer while the operation runs
  if (b.length === 0) throw new JetError('JET_errInvalidParameter', 'a key must not be empty');
  if (b.length > MAX_KEY_BYTES) throw new JetError('JET_errKeyTooBig', `a key of ${b.length} bytes is over the limit of ${MAX_KEY_BYTES}`);
  return b;
}

export function toValue(v: unknown): Buffer {
  const b = bytes('a value', v);
  if (b.length > MAX_VALUE_BYTES) {
    throw new JetError('JET_errColumnTooBig', `a value of ${b.length} bytes is over the limit of ${MAX_VALUE_BYTES}`);
  }
  return b;
}

export function toTableName(n: unknown): Buffer {
  if (typeof n !== 'string') throw new JetError('JET_errInvalidName', `a table name must be a string, got ${typeof n}`);
  const b = Buffer.from(n, 'utf8');
  if (b.length === 0 || b.length > MAX_TABLE_NAME_BYTES || n.includes('\0') || LONE_SURROGATE.test(n)) {
    throw new JetError('JET_errInvalidName', `table name ${JSON.stringify(n)} must be 1 to ${MAX_TABLE_NAME_BYTES} bytes of valid Unicode without NUL`);
  }
  return b;
}

function toBounds(o: RangeOptions): ScanBounds & { limit: number } {
  if (o === null || typeof o !== 'object') throw new JetError('JET_errInvalidParameter', 'range options must be an object');
  const limit = o.limit ?? Infinity;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) {
    throw new JetError('JET_errInvalidParameter', `limit must be a whole number, got ${String(o.limit)}`);
  }
  const b = (k: Bytes | undefined) => (k === undefined ? undefined : bytes('a range bound', k));
  return { gt: b(o.gt), gte: b(o.gte), lt: b(o.lt), lte: b(o.lte), reverse: o.reverse === true, limit };
}

async function valueOf(r: PageReader, c: LeafCell): Promise<Buffer> {
  return c.long ? readLongValue(r, c.long, c.valueLength) : Buffer.from(c.inline!);
}

/** Reads shared by transactions and snapshots. */
async function getIn(r: PageReader, db: Database, table: Buffer, key: Buffer): Promise<Buffer | undefined> {
  const root = await findTable(r, db, table);
  if (root === undefined) return undefined;
  const c = await lookup(r, root, key);
  return c ? valueOf(r, c) : undefined;
}

async function* rangeIn(r: PageReader, db: Database, table: Buffer, o: ScanBounds & { limit: number }): AsyncGenerator<Row> {
  if (o.limit === 0) return;
  const root = await findTable(r, db, table);
  if (root === undefined) return;
  let n = 0;
  for await (const c of scan(r, root, o)) {
    yield { key: Buffer.from(c.key), value: await valueOf(r, c) };
    if (++n >= o.limit) return;
  }
}

/** The table operations of one transaction on one database. */
export class TableTransaction {
  private readonly pages: TxPages;
  /** Table roots found or created in this transaction (roots never move). */
  private readonly roots = new Map<string, number>();
  /** Operations of one transaction run one at a time, in call order. */
  private tail: Promise<unknown> = Promise.resolve();

  /** The first error an operation failed with half way: the transaction can only roll back. */
  failed: unknown = undefined;

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.tail.then(() => {
      if (this.failed !== undefined) throw new JetError('JET_errInvalidParameter', 'an earlier operation of this transaction failed: it can only roll back', { cause: this.failed });
      return f().catch((e) => { this.failed ??= e; throw e; });
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves when every operation called so far has finished. */
  idle(): Promise<void> { return this.tail.then(() => undefined); }

  constructor(tx: Transaction, private readonly db: Database) {
    this.pages = new TxPages(tx, db);
  }

  /** Insert or replace. */
  async put(table: string, key: Bytes, value: Bytes): Promise<void> {
    const [t, k, v] = [toTableName(table), toKey(key), toValue(value)];
    return this.serial(() => this.putNow(table, t, k, v));
  }

  private async putNow(table: string, t: Buffer, k: Buffer, v: Buffer): Promise<void> {
    const w = this.pages;
    const root = await this.rootOf(table, t);
    // Inline when the cell is small, or when the value is no bigger than the
    // reference to a long value would be.
    const inlineCell: LeafCell = { key: k, valueLength: v.length, inline: v };
    const cell = leafCellSize(inlineCell) <= nodeCapacity(w.pageSize) >>> 2 || v.length <= LONG_REF_BYTES
      ? inlineCell
      : { key: k, valueLength: v.length, long: await writeLongValue(w, v, root) };
    const old = await insert(w, root, cell);
    if (old?.long) await freeLongValue(w, old.long);
  }

  private async rootOf(name: string, t: Buffer): Promise<number> {
    let root = this.roots.get(name);
    if (root === undefined) this.roots.set(name, (root = await findOrCreateTable(this.pages, t)));
    return root;
  }

  /** The value, seeing this transaction's own writes. */
  async get(table: string, key: Bytes): Promise<Buffer | undefined> {
    const [t, k] = [toTableName(table), toKey(key)];
    return this.serial(() => getIn(this.pages, this.db, t, k));
  }

  /** Delete; resolves to whether the key existed. */
  async delete(table: string, key: Bytes): Promise<boolean> {
    const [t, k] = [toTableName(table), toKey(key)];
    return this.serial(async () => {
      const root = await findTable(this.pages, this.db, t);
      if (root === undefined) return false;
      const old = await remove(this.pages, root, k);
      if (old?.long) await freeLongValue(this.pages, old.long);
      return old !== undefined;
    });
  }

  /** Rows in key order, seeing this transaction's writes. Changing the table while iterating is not supported. */
  range(table: string, options: RangeOptions = {}): AsyncGenerator<Row> {
    return rangeIn(this.pages, this.db, toTableName(table), toBounds(options));
  }

  tables(): Promise<string[]> {
    return listTables(this.pages, this.db);
  }
}

/** What the table API needs from the instance. */
export interface TableHost {
  transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: CommitOptions): Promise<T>;
  openSnapshot(): { seq: number; close: () => void };
}

/** Run `fn` with table operations in one transaction: atomic, and durable when it resolves. */
export async function tableTransaction<T>(host: TableHost, db: Database, fn: (tx: TableTransaction) => Promise<T>, options?: CommitOptions): Promise<T> {
  db.assertOpen();
  if (typeof fn !== 'function') throw new JetError('JET_errInvalidParameter', 'transaction needs a function');
  return host.transaction(async (tx) => {
    const ttx = new TableTransaction(tx, db);
    let result: T;
    try {
      result = await fn(ttx);
    } finally {
      await ttx.idle(); // an operation still running must not straddle the commit
    }
    if (ttx.failed !== undefined) throw ttx.failed; // half-done changes must not commit
    return result;
  }, options);
}

/** A read against a fresh snapshot. */
export async function snapshotGet(host: TableHost, db: Database, table: string, key: Bytes): Promise<Buffer | undefined> {
  const [t, k] = [toTableName(table), toKey(key)];
  db.assertOpen();
  const snap = host.openSnapshot();
  try {
    return await getIn(snapshotReader(db, snap.seq), db, t, k);
  } finally {
    snap.close();
  }
}

/** Rows against one snapshot, held until the iteration ends (finish it, or break out of the loop). */
export async function* snapshotRange(host: TableHost, db: Database, table: string, options: RangeOptions = {}): AsyncGenerator<Row> {
  const [t, o] = [toTableName(table), toBounds(options)];
  db.assertOpen();
  const snap = host.openSnapshot();
  try {
    yield* rangeIn(snapshotReader(db, snap.seq), db, t, o);
  } finally {
    snap.close();
  }
}

/** Check every tree of the database against one snapshot (check-tree.ts). */
export async function snapshotCheck(host: TableHost, db: Database): Promise<TreeCheckReport> {
  db.assertOpen();
  const snap = host.openSnapshot();
  try {
    return await checkTables(snapshotReader(db, snap.seq), db, db.pageCount);
  } finally {
    snap.close();
  }
}

export async function snapshotTables(host: TableHost, db: Database): Promise<string[]> {
  db.assertOpen();
  const snap = host.openSnapshot();
  try {
    return await listTables(snapshotReader(db, snap.seq), db);
  } finally {
    snap.close();
  }
}
