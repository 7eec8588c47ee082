/**
 * B+trees of variable-length keys, one per table (and one for the catalog).
 *
 * - Keys sort as unsigned bytes. Values live in leaf cells, or in long-value
 *   pages when large (the caller decides; see table-store.ts).
 * - The root never moves: when it splits, its halves go to two new pages and
 *   the root becomes their parent. Catalog entries therefore never change.
 * - Leaves are linked both ways, for forward and reverse range scans.
 * - Free-page policy instead of merges: a leaf that becomes empty is unlinked
 *   and freed, its parent forgets it, and a branch left with no child at all
 *   is freed in turn. Pages that are merely underfull stay as they are; their
 *   space is reused by later inserts into the same key range.
 *
 * Every change goes through a PageWriter (a transaction), so it is logged,
 * checksummed and atomic like any page change. The common cases — finding a
 * key, putting or removing a cell that leaves the page neither over- nor
 * empty — work on the page bytes in place; splits and frees decode the nodes
 * involved into arrays of cells and encode them whole.
 */
import { JetError } from '../errors.js';
import {
  PAGE_KIND_BRANCH, PAGE_KIND_LEAF, branchCellSize, decodeNode, encodeNode, leafCellAt, leafCellSize,
  locateChild, locateInLeaf, nodeBytes, nodeCapacity, pageKind, putInLeaf, removeFromLeaf,
  type BranchCell, type BranchNode, type LeafCell, type LeafNode, type Node,
} from '../format/table-pages.js';
import type { PageReader, PageWriter } from './page-access.js';

/** Deeper than any real tree: a longer path means a cycle, i.e. corruption. */
const MAX_DEPTH = 40;

interface PathStep {
  pgno: number;
  /** The child taken: 0 = the first child, i = cells[i - 1].child. */
  index: number;
}

function treeCorrupt(root: number, pgno: number, what: string): JetError {
  return new JetError('JET_errDatabaseCorrupted', `tree rooted at page ${root}: page ${pgno} ${what}`);
}

async function readNode(r: PageReader, root: number, pgno: number): Promise<Node> {
  const page = await r.read(pgno);
  try {
    return decodeNode(page);
  } catch (e) {
    throw treeCorrupt(root, pgno, `is not a tree node (${(e as Error).message})`);
  }
}

/** The same node with its own copies of every buffer, safe to keep while pages change. */
function owned<T extends Node>(n: T): T {
  if (n.kind === 'leaf') {
    return { ...n, cells: n.cells.map((c) => ({ ...c, key: Buffer.from(c.key), inline: c.inline && Buffer.from(c.inline) })) };
  }
  return { ...n, cells: n.cells.map((c) => ({ key: Buffer.from(c.key), child: c.child })) };
}

/** Number of cells whose key is <= key: the index of the child that holds `key`. */
function childIndex(n: BranchNode, key: Buffer): number {
  let lo = 0;
  let hi = n.cells.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(n.cells[mid]!.key, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function childAt(n: BranchNode, index: number): number {
  return index === 0 ? n.first : n.cells[index - 1]!.child;
}

/** Index of the first cell with key >= key, and whether it is equal. */
function leafSearch(n: LeafNode, key: Buffer): { index: number; found: boolean } {
  let lo = 0;
  let hi = n.cells.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(n.cells[mid]!.key, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return { index: lo, found: lo < n.cells.length && n.cells[lo]!.key.equals(key) };
}

/** Walk from the root to the leaf for `key` (or the leftmost / rightmost leaf), decoding every node. */
async function descend(r: PageReader, root: number, key: Buffer | 'first' | 'last'): Promise<LeafNode> {
  let pgno = root;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const node = await readNode(r, root, pgno);
    if (node.kind === 'leaf') return node;
    const index = key === 'first' ? 0 : key === 'last' ? node.cells.length : childIndex(node, key);
    pgno = childAt(node, index);
    if (pgno === 0) throw treeCorrupt(root, pgno, 'has a null child');
  }
  throw treeCorrupt(root, pgno, `is deeper than ${MAX_DEPTH} levels`);
}

/** Walk to the leaf for `key` on the page bytes, remembering the path. */
async function findLeaf(r: PageReader, root: number, key: Buffer): Promise<{ path: PathStep[]; pgno: number }> {
  const path: PathStep[] = [];
  let pgno = root;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const page = await r.read(pgno);
    const kind = pageKind(page);
    if (kind === PAGE_KIND_LEAF) return { path, pgno };
    if (kind !== PAGE_KIND_BRANCH) throw treeCorrupt(root, pgno, `is not a tree node (page kind ${kind})`);
    const { child, index } = locateChild(page, key);
    if (child === 0) throw treeCorrupt(root, pgno, 'has a null child');
    path.push({ pgno, index });
    pgno = child;
  }
  throw treeCorrupt(root, pgno, `is deeper than ${MAX_DEPTH} levels`);
}

/** The cell for `key`, or undefined. Its buffers are views of a page: copy them. */
export async function lookup(r: PageReader, root: number, key: Buffer): Promise<LeafCell | undefined> {
  const { pgno } = await findLeaf(r, root, key);
  const page = await r.read(pgno);
  const pos = locateInLeaf(page, key);
  return pos.found ? leafCellAt(page, pos.at) : undefined;
}

/** Make an empty tree whose root is page `pgno` (already allocated, writable). */
export function initTree(page: Buffer, pgno: number): void {
  encodeNode(page, { kind: 'leaf', prev: 0, next: 0, cells: [] }, pgno);
}

function ownedCell(c: LeafCell): LeafCell {
  return { ...c, key: Buffer.from(c.key), inline: c.inline && Buffer.from(c.inline) };
}

/** Insert or replace; resolves to the cell replaced, if any (its buffers are owned). */
export async function insert(w: PageWriter, root: number, cell: LeafCell): Promise<LeafCell | undefined> {
  const { path, pgno } = await findLeaf(w, root, cell.key);
  const page = await w.write(pgno);
  const pos = locateInLeaf(page, cell.key);
  const old = pos.found ? ownedCell(leafCellAt(page, pos.at)) : undefined;
  if (putInLeaf(page, pos, cell)) return old;
  const leaf = owned(decodeNode(page) as LeafNode);
  leaf.cells.splice(pos.index, pos.found ? 1 : 0, cell);
  // Appending past the last key of the last leaf (ascending loads): keep the
  // old page full and start the new one with just this cell.
  const append = !pos.found && pos.index === leaf.cells.length - 1 && leaf.next === 0;
  await splitLeaf(w, root, path, pgno, leaf, append);
  return old;
}

/** Split cells so both halves fit: the left half takes about half the bytes. */
function splitPoint<C>(cells: C[], size: (c: C) => number): number {
  let total = 0;
  for (const c of cells) total += size(c);
  let left = 0;
  let i = 0;
  while (i < cells.length - 1 && (i === 0 || left + size(cells[i]!) <= total / 2)) left += size(cells[i++]!);
  return i;
}

async function splitLeaf(w: PageWriter, root: number, path: PathStep[], pgno: number, leaf: LeafNode, append: boolean): Promise<void> {
  const m = append ? leaf.cells.length - 1 : splitPoint(leaf.cells, leafCellSize);
  const left = leaf.cells.slice(0, m);
  const right = leaf.cells.slice(m);
  if (pgno === root) {
    const l = await w.alloc();
    const r = await w.alloc();
    encodeNode(l.page, { kind: 'leaf', prev: 0, next: r.pgno, cells: left }, root);
    encodeNode(r.page, { kind: 'leaf', prev: l.pgno, next: 0, cells: right }, root);
    encodeNode(await w.write(root), { kind: 'branch', first: l.pgno, cells: [{ key: right[0]!.key, child: r.pgno }] }, root);
    return;
  }
  const r = await w.alloc();
  encodeNode(r.page, { kind: 'leaf', prev: pgno, next: leaf.next, cells: right }, root);
  if (leaf.next !== 0) setLeafPrev(await w.write(leaf.next), r.pgno);
  encodeNode(await w.write(pgno), { kind: 'leaf', prev: leaf.prev, next: r.pgno, cells: left }, root);
  await insertIntoParent(w, root, path, { key: right[0]!.key, child: r.pgno }, append);
}

/** The branch node of a path step, decoded with its own buffers. */
async function branchAt(w: PageWriter, root: number, step: PathStep): Promise<BranchNode> {
  const node = owned(await readNode(w, root, step.pgno));
  if (node.kind !== 'branch') throw treeCorrupt(root, step.pgno, 'changed from a branch to a leaf');
  return node;
}

// The sibling links sit at fixed offsets (format/table-pages.ts): patch them in place.
function setLeafPrev(page: Buffer, prev: number): void { page.writeUInt32LE(prev, 28); }
function setLeafNext(page: Buffer, next: number): void { page.writeUInt32LE(next, 32); }

async function insertIntoParent(w: PageWriter, root: number, path: PathStep[], cell: BranchCell, ascending: boolean): Promise<void> {
  const step = path.pop()!;
  const node = await branchAt(w, root, step);
  node.cells.splice(step.index, 0, cell);
  if (nodeBytes(node) <= nodeCapacity(w.pageSize)) {
    encodeNode(await w.write(step.pgno), node, root);
    return;
  }
  // The middle cell moves up; its child becomes the right half's first child.
  // Appending at the end (ascending loads) moves up the new cell itself.
  const append = ascending && step.index === node.cells.length - 1;
  const m = append ? node.cells.length - 1 : Math.min(splitPoint(node.cells, branchCellSize), node.cells.length - 1);
  const mid = node.cells[m]!;
  const left: BranchNode = { kind: 'branch', first: node.first, cells: node.cells.slice(0, m) };
  const right: BranchNode = { kind: 'branch', first: mid.child, cells: node.cells.slice(m + 1) };
  if (step.pgno === root) {
    const l = await w.alloc();
    const r = await w.alloc();
    encodeNode(l.page, left, root);
    encodeNode(r.page, right, root);
    encodeNode(await w.write(root), { kind: 'branch', first: l.pgno, cells: [{ key: mid.key, child: r.pgno }] }, root);
    return;
  }
  const r = await w.alloc();
  encodeNode(r.page, right, root);
  encodeNode(await w.write(step.pgno), left, root);
  await insertIntoParent(w, root, path, { key: mid.key, child: r.pgno }, append);
}

/** Delete `key`; resolves to the cell removed (buffers owned), or undefined. */
export async function remove(w: PageWriter, root: number, key: Buffer): Promise<LeafCell | undefined> {
  const { path, pgno } = await findLeaf(w, root, key);
  const committed = await w.read(pgno);
  const pos = locateInLeaf(committed, key);
  if (!pos.found) return undefined;
  const page = await w.write(pgno);
  const old = ownedCell(leafCellAt(page, pos.at));
  if (page.readUInt16LE(24) > 1 || pgno === root) {
    removeFromLeaf(page, pos);
    return old;
  }
  // The leaf's last cell: unlink the leaf and free it.
  const leaf = decodeNode(page) as LeafNode;
  if (leaf.prev !== 0) setLeafNext(await w.write(leaf.prev), leaf.next);
  if (leaf.next !== 0) setLeafPrev(await w.write(leaf.next), leaf.prev);
  await w.free(pgno);
  await removeChild(w, root, path);
  return old;
}

/** The child at the end of `path` is gone: drop it from its parent. */
async function removeChild(w: PageWriter, root: number, path: PathStep[]): Promise<void> {
  const step = path.pop()!;
  const node = await branchAt(w, root, step);
  if (step.index > 0) {
    node.cells.splice(step.index - 1, 1);
  } else if (node.cells.length > 0) {
    node.first = node.cells[0]!.child;
    node.cells.shift();
  } else if (step.pgno === root) {
    initTree(await w.write(root), root); // the last leaf is gone: the tree is empty
    return;
  } else {
    await w.free(step.pgno);
    await removeChild(w, root, path);
    return;
  }
  encodeNode(await w.write(step.pgno), node, root);
}

/** Every page of a tree, root last (for dropping a tree). */
export async function* treePages(r: PageReader, root: number, pgno = root, depth = 0): AsyncGenerator<{ pgno: number; node: Node }> {
  if (depth > MAX_DEPTH) throw treeCorrupt(root, pgno, `is deeper than ${MAX_DEPTH} levels`);
  const node = await readNode(r, root, pgno);
  if (node.kind === 'branch') {
    for (let i = 0; i <= node.cells.length; i++) yield* treePages(r, root, childAt(node, i), depth + 1);
  }
  yield { pgno, node };
}

export interface ScanBounds {
  gt?: Buffer;
  gte?: Buffer;
  lt?: Buffer;
  lte?: Buffer;
  reverse?: boolean;
}

/**
 * Cells in key order (or reverse) within the bounds. Buffers are views of
 * pages: with a snapshot reader they stay valid; copy them before changing pages.
 */
export async function* scan(r: PageReader, root: number, b: ScanBounds): AsyncGenerator<LeafCell> {
  const below = (k: Buffer) => (b.lt !== undefined && Buffer.compare(k, b.lt) >= 0) || (b.lte !== undefined && Buffer.compare(k, b.lte) > 0);
  const above = (k: Buffer) => (b.gt !== undefined && Buffer.compare(k, b.gt) <= 0) || (b.gte !== undefined && Buffer.compare(k, b.gte) < 0);
  if (!b.reverse) {
    const start = b.gte ?? b.gt;
    let leaf = await descend(r, root, start ?? 'first');
    let i = start ? leafSearch(leaf, start).index : 0;
    for (;;) {
      for (; i < leaf.cells.length; i++) {
        const c = leaf.cells[i]!;
        if (below(c.key)) return;
        if (!above(c.key)) yield c;
      }
      if (leaf.next === 0) return;
      leaf = await readLeaf(r, root, leaf.next);
      i = 0;
    }
  }
  const start = b.lte ?? b.lt;
  let leaf = await descend(r, root, start ?? 'last');
  let i = start ? leafSearch(leaf, start).index : leaf.cells.length;
  if (start && i < leaf.cells.length && b.lte !== undefined && leaf.cells[i]!.key.equals(b.lte)) i++;
  for (;;) {
    for (i--; i >= 0; i--) {
      const c = leaf.cells[i]!;
      if (above(c.key)) return;
      if (!below(c.key)) yield c;
    }
    if (leaf.prev === 0) return;
    leaf = await readLeaf(r, root, leaf.prev);
    i = leaf.cells.length;
  }
}

async function readLeaf(r: PageReader, root: number, pgno: number): Promise<LeafNode> {
  const n = await readNode(r, root, pgno);
  if (n.kind !== 'leaf') throw treeCorrupt(root, pgno, 'is linked as a leaf but is a branch');
  return n;
}
