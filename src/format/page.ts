/**
 * Data page format (every page of a *.edb file from page number 1 on).
 *
 *   offset  size  field
 *   +0      4     crc32c   CRC32C of bytes [4, pageSize): the whole page but this field
 *   +4      4     pgno     the page's own number, so a page written to the wrong
 *                          place is caught as surely as a flipped bit
 *   +8      8     dbtime   u64, the database time of the page's last modification
 *   +16     4     flags    PAGE_FLAG_* bits, owned by the layer above (tables)
 *   +20     4     objid    the object (table / tree) the page belongs to, 0 = none
 *   +24     ...   body
 *   PAGE_HEADER_SIZE = 4 + 4 + 8 + 4 + 4
 *
 * All integers little-endian. A page whose bytes are all zero has never been
 * written ("not initialized"); it is not corruption.
 *
 * File placement: page p (p >= 1) lives at byte (p + 1) * pageSize; bytes
 * [0, 2 * pageSize) hold the database header and its shadow (db-header.ts).
 */
import { crc32c } from '../checksum/crc32c.js';

export const PAGE_HEADER_SIZE = 4 + 4 + 8 + 4 + 4;
export const PAGE_SIZES = [4096, 8192, 16384, 32768] as const;

const OFF_CRC = 0;
const OFF_PGNO = 4;
const OFF_DBTIME = 8;
const OFF_FLAGS = 16;
const OFF_OBJID = 20;

export function pageOffset(pgno: number, pageSize: number): number {
  return (pgno + 1) * pageSize;
}

export interface PageHeader {
  pgno: number;
  dbtime: number;
  flags: number;
  objid: number;
}

export function readPageHeader(page: Buffer): PageHeader {
  return {
    pgno: page.readUInt32LE(OFF_PGNO),
    // dbtime is a u64 on disk; 2^53 modifications is beyond any database's life.
    dbtime: Number(page.readBigUInt64LE(OFF_DBTIME)),
    flags: page.readUInt32LE(OFF_FLAGS),
    objid: page.readUInt32LE(OFF_OBJID),
  };
}

export function pageDbtime(page: Buffer): number {
  return Number(page.readBigUInt64LE(OFF_DBTIME));
}

export function setPageDbtime(page: Buffer, dbtime: number): void {
  page.writeBigUInt64LE(BigInt(dbtime), OFF_DBTIME);
}

/** Fill in pgno, dbtime, flags and objid (the body is left as it is). */
export function writePageHeader(page: Buffer, h: PageHeader): void {
  page.writeUInt32LE(h.pgno, OFF_PGNO);
  page.writeBigUInt64LE(BigInt(h.dbtime), OFF_DBTIME);
  page.writeUInt32LE(h.flags, OFF_FLAGS);
  page.writeUInt32LE(h.objid, OFF_OBJID);
}

/** Compute and store the page checksum. Call last, after every other byte is final. */
export function sealPage(page: Buffer): void {
  page.writeUInt32LE(crc32c(page.subarray(OFF_CRC + 4)), OFF_CRC);
}

export type PageCheck =
  | { ok: true; initialized: true }
  | { ok: true; initialized: false }
  | { ok: false; reason: 'checksum'; stored: number; computed: number }
  | { ok: false; reason: 'pgno'; found: number };

function isAllZero(buf: Buffer): boolean {
  // 8 bytes at a time when aligned: a fresh page is all zeros, anything else exits early.
  if (buf.byteOffset % 8 === 0 && buf.length % 8 === 0) {
    const words = new BigUint64Array(buf.buffer, buf.byteOffset, buf.length >>> 3);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0n) return false;
    return true;
  }
  return buf.every((b) => b === 0);
}

/** Verify checksum and page number. Pure: no I/O, no exceptions. */
export function checkPage(page: Buffer, pgno: number): PageCheck {
  const stored = page.readUInt32LE(OFF_CRC);
  if (stored === 0 && page.readUInt32LE(OFF_PGNO) === 0 && isAllZero(page)) {
    return { ok: true, initialized: false };
  }
  const computed = crc32c(page.subarray(OFF_CRC + 4));
  if (computed !== stored) return { ok: false, reason: 'checksum', stored, computed };
  const found = page.readUInt32LE(OFF_PGNO);
  if (found !== pgno) return { ok: false, reason: 'pgno', found };
  return { ok: true, initialized: true };
}

/** A human-readable reason for a failed check, for error messages. */
export function describePageCheck(c: PageCheck): string {
  if (c.ok) return c.initialized ? 'ok' : 'not initialized';
  if (c.reason === 'checksum') {
    return `checksum mismatch (stored ${c.stored.toString(16)}, computed ${c.computed.toString(16)})`;
  }
  return `page number mismatch (the page says it is page ${c.found})`;
}
