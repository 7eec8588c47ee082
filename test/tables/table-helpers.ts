/**
 * Helpers for the table-layer tests: an in-memory model of the table API
 * (keys compared as unsigned bytes), whole-table dumps, and a page-by-page
 * checksum sweep of a closed database file.
 */
import { expect } from 'chai';
import * as path from 'node:path';
import type { Database } from '../../src/engine/database.js';
import { DatabaseFile } from '../../src/engine/database-file.js';
import { nodeFileSystem } from '../../src/io/file-system.js';
import { PAGE_KIND_BRANCH, PAGE_KIND_FREE, PAGE_KIND_LEAF, PAGE_KIND_LONG, PAGE_KIND_META, pageKind } from '../../src/format/table-pages.js';
import type { RangeOptions, Row } from '../../src/tables/table-store.js';

export type Bytes = string | Uint8Array;

export function buf(b: Bytes): Buffer {
  return typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b);
}

/** Keys as printable text for assertion messages: utf8 when printable, else hex. */
export function show(k: Buffer): string {
  return /^[\x20-\x7e]*$/.test(k.toString('latin1')) && k.length <= 40 ? JSON.stringify(k.toString('latin1')) : `0x${k.toString('hex').slice(0, 40)}${k.length > 20 ? `..(${k.length} bytes)` : ''}`;
}

/** One table of the model: hex(key) -> value. */
export type ModelTable = Map<string, Buffer>;

/** The model of a whole database: tables in existence, each a map of rows. */
export class Model {
  readonly tables = new Map<string, ModelTable>();

  clone(): Model {
    const m = new Model();
    for (const [name, t] of this.tables) m.tables.set(name, new Map(t));
    return m;
  }

  put(table: string, key: Bytes, value: Bytes): void {
    let t = this.tables.get(table);
    if (!t) this.tables.set(table, (t = new Map()));
    t.set(buf(key).toString('hex'), buf(value));
  }

  get(table: string, key: Bytes): Buffer | undefined {
    return this.tables.get(table)?.get(buf(key).toString('hex'));
  }

  delete(table: string, key: Bytes): boolean {
    return this.tables.get(table)?.delete(buf(key).toString('hex')) ?? false;
  }

  /** Table names in byte order of their UTF-8 encoding (tables stay once created). */
  names(): string[] {
    return [...this.tables.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  }

  range(table: string, o: RangeOptions = {}): Row[] {
    return modelRange(this.tables.get(table) ?? new Map(), o);
  }
}

/** What a range over `t` must return. */
export function modelRange(t: ModelTable, o: RangeOptions): Row[] {
  const gt = o.gt === undefined ? undefined : buf(o.gt);
  const gte = o.gte === undefined ? undefined : buf(o.gte);
  const lt = o.lt === undefined ? undefined : buf(o.lt);
  const lte = o.lte === undefined ? undefined : buf(o.lte);
  const rows: Row[] = [];
  for (const [h, value] of t) {
    const key = Buffer.from(h, 'hex');
    if (gt && Buffer.compare(key, gt) <= 0) continue;
    if (gte && Buffer.compare(key, gte) < 0) continue;
    if (lt && Buffer.compare(key, lt) >= 0) continue;
    if (lte && Buffer.compare(key, lte) > 0) continue;
    rows.push({ key, value });
  }
  rows.sort((a, b) => Buffer.compare(a.key, b.key));
  if (o.reverse) rows.reverse();
  return o.limit === undefined ? rows : rows.slice(0, o.limit);
}

/** Collect a range iteration. */
export async function collect(it: AsyncIterable<Row>): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const r of it) rows.push(r);
  return rows;
}

/** Keys of rows, as hex strings (for deep-equal comparisons with small diffs). */
export function hexKeys(rows: Row[]): string[] {
  return rows.map((r) => r.key.toString('hex'));
}

/** Assert two row lists are equal: keys in order, then each value byte for byte. */
export function expectRows(actual: Row[], expected: Row[], what: string): void {
  expect(hexKeys(actual), `${what}: keys`).to.deep.equal(hexKeys(expected));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!.value;
    const e = expected[i]!.value;
    if (!a.equals(e)) {
      expect.fail(`${what}: value of key ${show(expected[i]!.key)} differs (${a.length} bytes, expected ${e.length})`);
    }
  }
}

/** The whole database equals the model: table list, each table forward and reverse, and a clean structural check. */
export async function expectDatabaseEquals(db: Database, model: Model, what: string): Promise<void> {
  expect(await db.tables(), `${what}: tables()`).to.deep.equal(model.names());
  for (const name of model.names()) {
    expectRows(await collect(db.range(name)), model.range(name), `${what}: table ${name} forward`);
    expectRows(await collect(db.range(name, { reverse: true })), model.range(name, { reverse: true }), `${what}: table ${name} reverse`);
  }
  const report = await db.checkTables();
  expect(report.problems, `${what}: checkTables problems`).to.deep.equal([]);
  expect(report.tables.map((t) => t.name), `${what}: checkTables tables`).to.deep.equal(model.names());
  for (const t of report.tables) {
    expect(t.rows, `${what}: checkTables rows of ${t.name}`).to.equal(model.tables.get(t.name)!.size);
  }
}

/**
 * Open a closed database file directly and read (checksum-verify) every
 * page 1..pageCount; each must be initialized and of a table-page kind.
 * Resolves to the page kinds, indexed by page number.
 */
export async function verifyEveryPage(dir: string, name = 'main.edb'): Promise<number[]> {
  const f = await DatabaseFile.open(nodeFileSystem, path.join(dir, name), 'r');
  try {
    const kinds: number[] = [0];
    const known = [PAGE_KIND_META, PAGE_KIND_LEAF, PAGE_KIND_BRANCH, PAGE_KIND_LONG, PAGE_KIND_FREE];
    for (let pgno = 1; pgno <= f.header.pageCount; pgno++) {
      const { page, initialized } = await f.readPage(pgno);
      expect(initialized, `page ${pgno} is initialized`).to.equal(true);
      expect(known, `page ${pgno} kind`).to.include(pageKind(page));
      kinds.push(pageKind(page));
    }
    return kinds;
  } finally {
    await f.close();
  }
}
