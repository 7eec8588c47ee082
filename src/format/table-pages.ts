/**
 * Pages of the table layer: B+tree nodes, long-value chunks, free pages and
 * the database meta page. Each is a data page (page.ts): the engine's 24-byte
 * header, whose `flags` field says which kind it is, then the body below.
 * All integers little-endian.
 *
 *   META (page 1)   +24 u32 magic TABLES_MAGIC
 *                   +28 u32 catalogRoot   root page of the catalog tree
 *                   +32 u32 freeHead      first free page, 0 = none
 *                   +36 u32 freeCount
 *
 *   LEAF / BRANCH   +24 u16 cellCount
 *                   +26 u16 cellBytes     bytes the cells take, from +36
 *                   +28 u32 prev          LEAF: left sibling (0 = none); BRANCH: 0
 *                   +32 u32 next          LEAF: right sibling; BRANCH: child 0 (keys below cell 0's key)
 *                   +36 cells, packed in key order:
 *     leaf cell     keyLength u16, kind u8 (0 inline, 1 long), valueLength u32, key,
 *                   inline: value bytes | long: firstPage u32, pageCount u32
 *     branch cell   keyLength u16, child u32, key      child i+1 holds keys >= key i
 *   NODE_HEADER = 24 + 2 + 2 + 4 + 4
 *
 *   LONG            +24 u32 next page of the value (0 = last)
 *                   +28 u32 bytes of the value in this page
 *                   +32 the bytes
 *   FREE            +24 u32 next free page (0 = last)
 *
 * The page header's objid is the root page of the tree a node belongs to.
 * Nodes are always rewritten whole, and the bytes after the last cell are
 * zero, so equal nodes are equal pages.
 */
import { PAGE_HEADER_SIZE } from './page.js';

export const PAGE_KIND_META = 1;
export const PAGE_KIND_LEAF = 2;
export const PAGE_KIND_BRANCH = 3;
export const PAGE_KIND_LONG = 4;
export const PAGE_KIND_FREE = 5;

export const TABLES_MAGIC = 0x53424154; // "TABS" read as little-endian bytes
export const META_PGNO = 1;
export const NODE_HEADER = PAGE_HEADER_SIZE + 2 + 2 + 4 + 4;
export const LONG_HEADER = PAGE_HEADER_SIZE + 4 + 4;
const LEAF_CELL_FIXED = 2 + 1 + 4;
const BRANCH_CELL_FIXED = 2 + 4;
const LONG_REF = 4 + 4;

const OFF_FLAGS = 16;
const OFF_OBJID = 20;

export function pageKind(page: Buffer): number {
  return page.readUInt32LE(OFF_FLAGS);
}

export function setPageKind(page: Buffer, kind: number, objid: number): void {
  page.writeUInt32LE(kind, OFF_FLAGS);
  page.writeUInt32LE(objid, OFF_OBJID);
}

// ---- meta -------------------------------------------------------------------

export interface Meta {
  catalogRoot: number;
  freeHead: number;
  freeCount: number;
}

export function readMeta(page: Buffer): Meta | undefined {
  if (pageKind(page) !== PAGE_KIND_META || page.readUInt32LE(24) !== TABLES_MAGIC) return undefined;
  return { catalogRoot: page.readUInt32LE(28), freeHead: page.readUInt32LE(32), freeCount: page.readUInt32LE(36) };
}

export function writeMeta(page: Buffer, m: Meta): void {
  setPageKind(page, PAGE_KIND_META, 0);
  page.writeUInt32LE(TABLES_MAGIC, 24);
  page.writeUInt32LE(m.catalogRoot, 28);
  page.writeUInt32LE(m.freeHead, 32);
  page.writeUInt32LE(m.freeCount, 36);
}

// ---- nodes ------------------------------------------------------------------

export interface LongRef {
  firstPage: number;
  pageCount: number;
}

export interface LeafCell {
  key: Buffer;
  valueLength: number;
  /** The value, when stored in the cell. */
  inline?: Buffer;
  /** Where the value is, when stored in long-value pages. */
  long?: LongRef;
}

export interface BranchCell {
  key: Buffer;
  child: number;
}

export interface LeafNode {
  kind: 'leaf';
  prev: number;
  next: number;
  cells: LeafCell[];
}

export interface BranchNode {
  kind: 'branch';
  /** Child 0: keys below cells[0].key. */
  first: number;
  cells: BranchCell[];
}

export type Node = LeafNode | BranchNode;

export function leafCellSize(c: LeafCell): number {
  return LEAF_CELL_FIXED + c.key.length + (c.long ? LONG_REF : c.valueLength);
}

export function branchCellSize(c: BranchCell): number {
  return BRANCH_CELL_FIXED + c.key.length;
}

export function nodeBytes(n: Node): number {
  let size = 0;
  if (n.kind === 'leaf') for (const c of n.cells) size += leafCellSize(c);
  else for (const c of n.cells) size += branchCellSize(c);
  return size;
}

/** Bytes available for cells in a node page. */
export function nodeCapacity(pageSize: number): number {
  return pageSize - NODE_HEADER;
}

/** Decode a node. The cells' buffers are views of `page`: copy before the page changes. */
export function decodeNode(page: Buffer): Node {
  const kind = pageKind(page);
  const count = page.readUInt16LE(24);
  let at = NODE_HEADER;
  if (kind === PAGE_KIND_LEAF) {
    const cells: LeafCell[] = [];
    for (let i = 0; i < count; i++) {
      const keyLength = page.readUInt16LE(at);
      const long = page[at + 2] === 1;
      const valueLength = page.readUInt32LE(at + 3);
      const key = page.subarray(at + LEAF_CELL_FIXED, at + LEAF_CELL_FIXED + keyLength);
      at += LEAF_CELL_FIXED + keyLength;
      if (long) {
        cells.push({ key, valueLength, long: { firstPage: page.readUInt32LE(at), pageCount: page.readUInt32LE(at + 4) } });
        at += LONG_REF;
      } else {
        cells.push({ key, valueLength, inline: page.subarray(at, at + valueLength) });
        at += valueLength;
      }
    }
    return { kind: 'leaf', prev: page.readUInt32LE(28), next: page.readUInt32LE(32), cells };
  }
  if (kind === PAGE_KIND_BRANCH) {
    const cells: BranchCell[] = [];
    for (let i = 0; i < count; i++) {
      const keyLength = page.readUInt16LE(at);
      cells.push({ child: page.readUInt32LE(at + 2), key: page.subarray(at + BRANCH_CELL_FIXED, at + BRANCH_CELL_FIXED + keyLength) });
      at += BRANCH_CELL_FIXED + keyLength;
    }
    return { kind: 'branch', first: page.readUInt32LE(32), cells };
  }
  throw new RangeError(`page kind ${kind} is not a B+tree node`);
}

/** Serialize a leaf cell at `at`; returns the offset after it. */
function writeLeafCell(buf: Buffer, at: number, c: LeafCell): number {
  buf.writeUInt16LE(c.key.length, at);
  buf[at + 2] = c.long ? 1 : 0;
  buf.writeUInt32LE(c.valueLength, at + 3);
  c.key.copy(buf, at + LEAF_CELL_FIXED);
  at += LEAF_CELL_FIXED + c.key.length;
  if (c.long) {
    buf.writeUInt32LE(c.long.firstPage, at);
    buf.writeUInt32LE(c.long.pageCount, at + 4);
    return at + LONG_REF;
  }
  c.inline!.copy(buf, at);
  return at + c.valueLength;
}

/**
 * Encode `n` into `page` (the whole body is rewritten). The caller has
 * checked that it fits. Cell buffers may be views of `page` itself: they are
 * serialized into a scratch buffer first.
 */
export function encodeNode(page: Buffer, n: Node, objid: number): void {
  const body = Buffer.alloc(page.length - NODE_HEADER);
  let at = 0;
  if (n.kind === 'leaf') {
    for (const c of n.cells) at = writeLeafCell(body, at, c);
  } else {
    for (const c of n.cells) {
      body.writeUInt16LE(c.key.length, at);
      body.writeUInt32LE(c.child, at + 2);
      c.key.copy(body, at + BRANCH_CELL_FIXED);
      at += BRANCH_CELL_FIXED + c.key.length;
    }
  }
  setPageKind(page, n.kind === 'leaf' ? PAGE_KIND_LEAF : PAGE_KIND_BRANCH, objid);
  page.writeUInt16LE(n.cells.length, 24);
  page.writeUInt16LE(at, 26);
  page.writeUInt32LE(n.kind === 'leaf' ? n.prev : 0, 28);
  page.writeUInt32LE(n.kind === 'leaf' ? n.next : n.first, 32);
  body.copy(page, NODE_HEADER);
  offsetsOf.delete(page);
}

// ---- reading and changing one cell in place ----------------------------------
// Hot paths (get, and put/delete that do not split or empty a page) work on
// the page bytes directly: no decoding of the other cells, no allocation.

function leafCellEnd(page: Buffer, at: number): number {
  const keyLength = page.readUInt16LE(at);
  return at + LEAF_CELL_FIXED + keyLength + (page[at + 2] === 1 ? LONG_REF : page.readUInt32LE(at + 3));
}

// Cell offsets of a node page, computed once per page buffer: binary search
// needs them and cells are packed. Every function here that changes a node
// page forgets its entry; committed cache images never change, so their
// offsets serve every reader.
const offsetsOf = new WeakMap<Buffer, Uint16Array>();

function cellOffsets(page: Buffer): Uint16Array {
  let o = offsetsOf.get(page);
  if (o) return o;
  const count = page.readUInt16LE(24);
  const leaf = pageKind(page) === PAGE_KIND_LEAF;
  o = new Uint16Array(count + 1);
  let at = NODE_HEADER;
  for (let i = 0; i < count; i++) {
    o[i] = at;
    at = leaf ? leafCellEnd(page, at) : at + BRANCH_CELL_FIXED + page.readUInt16LE(at);
  }
  o[count] = at;
  offsetsOf.set(page, o);
  return o;
}

/** Compare `key` with the key of the cell at `at` (cell header `fixed` bytes). */
function compareCellKey(key: Buffer, page: Buffer, at: number, fixed: number): number {
  const start = at + fixed;
  return key.compare(page, start, start + page.readUInt16LE(at));
}

export interface LeafPosition {
  /** Index of the first cell with key >= the key searched. */
  index: number;
  /** Its byte offset (or the end of the cells). */
  at: number;
  /** The end of that cell when it holds the key searched, else = at. */
  end: number;
  found: boolean;
}

/** Where `key` is, or would go, in a leaf page. */
export function locateInLeaf(page: Buffer, key: Buffer): LeafPosition {
  const o = cellOffsets(page);
  let lo = 0;
  let hi = o.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareCellKey(key, page, o[mid]!, LEAF_CELL_FIXED) > 0) lo = mid + 1;
    else hi = mid;
  }
  const at = o[lo]!;
  const found = lo < o.length - 1 && compareCellKey(key, page, at, LEAF_CELL_FIXED) === 0;
  return { index: lo, at, end: found ? o[lo + 1]! : at, found };
}

/** The child of a branch page that holds `key`, and its index (0 = the first child). */
export function locateChild(page: Buffer, key: Buffer): { child: number; index: number } {
  const o = cellOffsets(page);
  // Count the cells whose key is <= key.
  let lo = 0;
  let hi = o.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareCellKey(key, page, o[mid]!, BRANCH_CELL_FIXED) >= 0) lo = mid + 1;
    else hi = mid;
  }
  return { child: lo === 0 ? page.readUInt32LE(32) : page.readUInt32LE(o[lo - 1]! + 2), index: lo };
}

/** Decode the leaf cell at byte offset `at` (buffers are views of `page`). */
export function leafCellAt(page: Buffer, at: number): LeafCell {
  const keyLength = page.readUInt16LE(at);
  const valueLength = page.readUInt32LE(at + 3);
  const key = page.subarray(at + LEAF_CELL_FIXED, at + LEAF_CELL_FIXED + keyLength);
  const v = at + LEAF_CELL_FIXED + keyLength;
  if (page[at + 2] === 1) return { key, valueLength, long: { firstPage: page.readUInt32LE(v), pageCount: page.readUInt32LE(v + 4) } };
  return { key, valueLength, inline: page.subarray(v, v + valueLength) };
}

/** Cells bytes used in a node page. */
export function cellBytes(page: Buffer): number {
  return page.readUInt16LE(26);
}

/**
 * Put `cell` at `pos` in a leaf page in place (replacing the cell there when
 * pos.found). Returns false, changing nothing, when it does not fit.
 */
export function putInLeaf(page: Buffer, pos: LeafPosition, cell: LeafCell): boolean {
  const size = leafCellSize(cell);
  const used = cellBytes(page);
  const newUsed = used - (pos.end - pos.at) + size;
  if (newUsed > page.length - NODE_HEADER) return false;
  const tail = NODE_HEADER + used;
  page.copy(page, pos.at + size, pos.end, tail); // move the cells after it
  writeLeafCell(page, pos.at, cell);
  if (newUsed < used) page.fill(0, NODE_HEADER + newUsed, tail);
  page.writeUInt16LE(page.readUInt16LE(24) + (pos.found ? 0 : 1), 24);
  page.writeUInt16LE(newUsed, 26);
  offsetsOf.delete(page);
  return true;
}

/** Remove the cell at `pos` (found) from a leaf page in place. */
export function removeFromLeaf(page: Buffer, pos: LeafPosition): void {
  const used = cellBytes(page);
  const tail = NODE_HEADER + used;
  page.copy(page, pos.at, pos.end, tail);
  const newUsed = used - (pos.end - pos.at);
  page.fill(0, NODE_HEADER + newUsed, tail);
  page.writeUInt16LE(page.readUInt16LE(24) - 1, 24);
  page.writeUInt16LE(newUsed, 26);
  offsetsOf.delete(page);
}

// ---- long values and free pages ----------------------------------------------

export function longCapacity(pageSize: number): number {
  return pageSize - LONG_HEADER;
}

export function writeLongChunk(page: Buffer, next: number, bytes: Uint8Array, objid: number): void {
  offsetsOf.delete(page);
  setPageKind(page, PAGE_KIND_LONG, objid);
  page.writeUInt32LE(next, 24);
  page.writeUInt32LE(bytes.length, 28);
  page.set(bytes, LONG_HEADER);
  page.fill(0, LONG_HEADER + bytes.length);
}

export function readLongChunk(page: Buffer): { next: number; bytes: Buffer } {
  if (pageKind(page) !== PAGE_KIND_LONG) throw new RangeError(`page kind ${pageKind(page)} is not a long-value page`);
  const length = page.readUInt32LE(28);
  return { next: page.readUInt32LE(24), bytes: page.subarray(LONG_HEADER, LONG_HEADER + length) };
}

export function writeFreePage(page: Buffer, next: number): void {
  offsetsOf.delete(page);
  page.fill(0, PAGE_HEADER_SIZE);
  setPageKind(page, PAGE_KIND_FREE, 0);
  page.writeUInt32LE(next, 24);
}

export function readFreeNext(page: Buffer): number {
  if (pageKind(page) !== PAGE_KIND_FREE) throw new RangeError(`page kind ${pageKind(page)} is not a free page`);
  return page.readUInt32LE(24);
}
