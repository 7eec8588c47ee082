/**
 * The catalog: which tables a database holds, and where each tree's root is.
 *
 * Page 1 of a database with tables is the META page; it names the catalog's
 * root, itself a B+tree whose keys are table names (UTF-8) and whose values
 * are 4-byte root page numbers. A database the table layer has never written
 * to has no pages at all, and no tables.
 */
import { META_PGNO, pageKind, writeMeta, type Meta } from '../format/table-pages.js';
import { initTree, insert, lookup, scan } from './btree.js';
import { corrupt, metaOf, type PageReader, type TxPages } from './page-access.js';
import type { Database } from '../engine/database.js';


/** The meta page, or undefined when the database has no tables yet. */
async function readMetaIfAny(r: PageReader, db: Database): Promise<Meta | undefined> {
  const page = await r.read(META_PGNO);
  // Never written (a database the table layer has not touched): kind 0. A
  // written page of kind 0 would have failed its checksum when read.
  if (pageKind(page) === 0) return undefined;
  return metaOf(db, page);
}

/** Create the meta page and an empty catalog in a database without pages. */
async function initialize(w: TxPages): Promise<Meta> {
  if (w.tx.pageCount(w.db) !== 0) return metaOf(w.db, await w.read(META_PGNO));
  const meta = await w.tx.newPage(w.db);
  const catalog = await w.tx.newPage(w.db);
  if (meta.pgno !== META_PGNO) throw corrupt(w.db, 'the meta page is not page 1');
  initTree(catalog.page, catalog.pgno);
  const m: Meta = { catalogRoot: catalog.pgno, freeHead: 0, freeCount: 0 };
  writeMeta(meta.page, m);
  return m;
}

function rootOf(db: Database, value: Buffer | undefined): number {
  if (!value || value.length !== 4) throw corrupt(db, 'a catalog entry is not a page number');
  return value.readUInt32LE(0);
}

/** The root page of table `name`, or undefined. */
export async function findTable(r: PageReader, db: Database, name: Buffer): Promise<number | undefined> {
  const m = await readMetaIfAny(r, db);
  if (!m) return undefined;
  const cell = await lookup(r, m.catalogRoot, name);
  return cell ? rootOf(db, cell.inline) : undefined;
}

/** The root page of table `name`, created (with the catalog if need be) when missing. */
export async function findOrCreateTable(w: TxPages, name: Buffer): Promise<number> {
  const m = await initialize(w);
  const cell = await lookup(w, m.catalogRoot, name);
  if (cell) return rootOf(w.db, cell.inline);
  const root = await w.alloc();
  initTree(root.page, root.pgno);
  const value = Buffer.alloc(4);
  value.writeUInt32LE(root.pgno, 0);
  await insert(w, m.catalogRoot, { key: Buffer.from(name), valueLength: 4, inline: value });
  return root.pgno;
}

/** Every table name, in byte order. */
export async function listTables(r: PageReader, db: Database): Promise<string[]> {
  const m = await readMetaIfAny(r, db);
  if (!m) return [];
  const names: string[] = [];
  for await (const c of scan(r, m.catalogRoot, {})) names.push(c.key.toString('utf8'));
  return names;
}
