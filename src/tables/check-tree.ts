/**
 * Structural check of a database's tables: every tree's keys in order and
 * within their parents' bounds, leaves linked both ways in key order, every
 * node tagged with its tree, every long value whole, the free list sound, and
 * no page used twice. Reads through a PageReader (a snapshot), so it can run
 * on a live database. Returns the problems found, not just the first.
 */
import {
  META_PGNO, PAGE_KIND_FREE, decodeNode, longCapacity, pageKind, readFreeNext, readMeta, type LeafNode,
} from '../format/table-pages.js';
import type { Database } from '../engine/database.js';
import { readLongValue } from './long-value.js';
import type { PageReader } from './page-access.js';
import { scan } from './btree.js';

export interface TreeCheckReport {
  tables: { name: string; root: number; rows: number; depth: number; pages: number }[];
  freePages: number;
  pagesInUse: number;
  problems: string[];
}

export async function checkTables(r: PageReader, db: Database, pageCount: number): Promise<TreeCheckReport> {
  const report: TreeCheckReport = { tables: [], freePages: 0, pagesInUse: 0, problems: [] };
  const seen = new Map<number, string>();
  const claim = (pgno: number, owner: string): boolean => {
    if (pgno < 1 || pgno > pageCount) {
      report.problems.push(`${owner}: page ${pgno} is outside the database (1..${pageCount})`);
      return false;
    }
    const other = seen.get(pgno);
    if (other !== undefined) {
      report.problems.push(`page ${pgno} is used by both ${other} and ${owner}`);
      return false;
    }
    seen.set(pgno, owner);
    return true;
  };
  if (pageCount === 0) return report;
  const meta = readMeta(await r.read(META_PGNO));
  if (!meta) {
    report.problems.push(`page ${META_PGNO} is not a table meta page`);
    return report;
  }
  claim(META_PGNO, 'the meta page');
  await checkTree(r, meta.catalogRoot, 'the catalog', claim, report.problems);
  for await (const c of scan(r, meta.catalogRoot, {})) {
    const name = c.key.toString('utf8');
    if (!c.inline || c.inline.length !== 4) {
      report.problems.push(`catalog entry ${JSON.stringify(name)} is not a page number`);
      continue;
    }
    const root = c.inline.readUInt32LE(0);
    const t = await checkTree(r, root, `table ${JSON.stringify(name)}`, claim, report.problems);
    report.tables.push({ name, root, ...t });
  }
  // The free list: every page on it is a FREE page, and the count matches.
  let pgno = meta.freeHead;
  while (pgno !== 0 && report.freePages <= pageCount) {
    if (!claim(pgno, 'the free list')) break;
    const page = await r.read(pgno);
    if (pageKind(page) !== PAGE_KIND_FREE) {
      report.problems.push(`free-list page ${pgno} is not a free page`);
      break;
    }
    report.freePages++;
    pgno = readFreeNext(page);
  }
  if (report.freePages !== meta.freeCount) {
    report.problems.push(`the meta page counts ${meta.freeCount} free pages, the free list holds ${report.freePages}`);
  }
  report.pagesInUse = seen.size;
  if (seen.size !== pageCount) report.problems.push(`${pageCount - seen.size} pages are neither in a tree nor free (leaked)`);
  return report;
}

async function checkTree(
  r: PageReader, root: number, owner: string, claim: (pgno: number, owner: string) => boolean, problems: string[],
): Promise<{ rows: number; depth: number; pages: number }> {
  const leaves: { pgno: number; node: LeafNode }[] = [];
  let pages = 0;
  let depth = 0;
  let rows = 0;
  const visit = async (pgno: number, lo: Buffer | undefined, hi: Buffer | undefined, level: number): Promise<void> => {
    if (!claim(pgno, owner)) return;
    pages++;
    const page = await r.read(pgno);
    let node;
    try {
      node = decodeNode(page);
    } catch (e) {
      problems.push(`${owner}: page ${pgno} is not a tree node (${(e as Error).message})`);
      return;
    }
    if (page.readUInt32LE(20) !== root) problems.push(`${owner}: page ${pgno} is tagged with tree ${page.readUInt32LE(20)}`);
    const keys = node.cells.map((c) => c.key);
    for (let i = 0; i < keys.length; i++) {
      if (i > 0 && Buffer.compare(keys[i - 1]!, keys[i]!) >= 0) problems.push(`${owner}: page ${pgno} keys out of order at cell ${i}`);
      if (lo && Buffer.compare(keys[i]!, lo) < 0) problems.push(`${owner}: page ${pgno} cell ${i} is below its parent's bound`);
      if (hi && Buffer.compare(keys[i]!, hi) >= 0) problems.push(`${owner}: page ${pgno} cell ${i} is at or above its parent's bound`);
    }
    if (node.kind === 'leaf') {
      depth = Math.max(depth, level);
      leaves.push({ pgno, node });
      rows += node.cells.length;
      for (const c of node.cells) {
        if (!c.long) continue;
        let p = c.long.firstPage;
        for (let i = 0; i < c.long.pageCount && p !== 0; i++) {
          if (!claim(p, `${owner} long value`)) break;
          pages++;
          p = (await r.read(p)).readUInt32LE(24);
        }
        try {
          const v = await readLongValue(r, c.long, c.valueLength);
          if (Math.ceil(v.length / longCapacity(r.pageSize)) !== c.long.pageCount) problems.push(`${owner}: long value page count is off`);
        } catch (e) {
          problems.push(`${owner}: ${(e as Error).message}`);
        }
      }
      return;
    }
    for (let i = 0; i <= node.cells.length; i++) {
      const child = i === 0 ? node.first : node.cells[i - 1]!.child;
      await visit(child, i === 0 ? lo : node.cells[i - 1]!.key, i < node.cells.length ? node.cells[i]!.key : hi, level + 1);
    }
  };
  await visit(root, undefined, undefined, 1);
  // Leaves in key order must be linked to each other, both ways.
  for (let i = 0; i < leaves.length; i++) {
    const want = { prev: i > 0 ? leaves[i - 1]!.pgno : 0, next: i + 1 < leaves.length ? leaves[i + 1]!.pgno : 0 };
    const n = leaves[i]!.node;
    if (n.prev !== want.prev || n.next !== want.next) {
      problems.push(`${owner}: leaf ${leaves[i]!.pgno} links prev ${n.prev} next ${n.next}, expected ${want.prev} and ${want.next}`);
    }
  }
  return { rows, depth, pages };
}
