/**
 * Log records: what follows the header block in every log generation.
 *
 *   record  := crc32c(4) length(4) type(1) reserved(3) payload(length) zero-padding
 *   padding brings the record to a multiple of RECORD_ALIGN bytes.
 *   RECORD_HEADER_SIZE = 4 + 4 + 1 + 3
 *
 *   crc32c = CRC32C(generation as 4 LE bytes ++ bytes [4, 12 + length)), i.e. the
 *   CRC of the record's length, type, reserved and payload, continued from the
 *   CRC of the generation number: a record is valid only in the generation it
 *   was written in, so a stale or misplaced record can never pass for a live one.
 *
 * Payloads (all integers little-endian):
 *   BEGIN    txid u64
 *   PAGE     dbid u16, rangeCount u16, pgno u32, dbtimeBefore u64, dbtimeAfter u64,
 *            rangeCount x { offset u16, length-1 u16, bytes(length) }
 *   COMMIT   txid u64, time f64
 *   ATTACH   dbid u16, flags u16 (ATTACH_CREATE), pageSize u32, dbSignature 16, name UTF-8
 *   ROLL     nextGeneration u32     the last record of every finished generation
 *   TERM     (empty)                a clean shutdown; also written first after recovery
 *                                   dropped a transaction a crash cut off, which it closes
 *
 * A transaction is BEGIN, its PAGE records, COMMIT, appended in one step by the
 * single writer, so no other record comes between them — except that a full
 * generation may end (ROLL) inside one and the rest continue in the next
 * generation. A checkpoint never falls inside a transaction. Recovery redoes PAGE records only
 * of transactions whose COMMIT it reads. A PAGE record carries the page's
 * dbtime before and after, so redo can tell whether the page already holds it.
 */
import { crc32c } from '../checksum/crc32c.js';
import { SIGNATURE_SIZE } from './db-header.js';

export const RECORD_HEADER_SIZE = 4 + 4 + 1 + 3;
export const RECORD_ALIGN = 8;

export const REC_BEGIN = 1;
export const REC_PAGE = 2;
export const REC_COMMIT = 3;
export const REC_ATTACH = 4;
export const REC_ROLL = 5;
export const REC_TERM = 6;
const MAX_TYPE = REC_TERM;

export const ATTACH_CREATE = 1;

export const PAGE_FIXED = 2 + 2 + 4 + 8 + 8;
export const RANGE_FIXED = 2 + 2;

/** Bytes a record with this payload length takes in the file. */
export function recordSize(payloadLength: number): number {
  return align(RECORD_HEADER_SIZE + payloadLength);
}

export const ROLL_RECORD_SIZE = recordSize(4);

function align(n: number): number {
  return (n + RECORD_ALIGN - 1) & ~(RECORD_ALIGN - 1);
}

function genSeed(gen: number): number {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(gen >>> 0, 0);
  return crc32c(b);
}

/**
 * Frame a payload as a record of `type` for generation `gen`, writing into
 * `out` at `at`. Returns the offset after the padded record.
 */
export function frameRecordInto(out: Buffer, at: number, gen: number, type: number, payload: Uint8Array): number {
  out.writeUInt32LE(payload.length, at + 4);
  out.writeUInt32LE(type, at + 8); // type byte + three zero reserved bytes
  out.set(payload, at + RECORD_HEADER_SIZE);
  const end = at + RECORD_HEADER_SIZE + payload.length;
  const padded = align(end - at) + at;
  out.fill(0, end, padded);
  out.writeUInt32LE(crc32c(out.subarray(at + 4, end), genSeed(gen)), at);
  return padded;
}

export type ParsedRecord =
  | { kind: 'record'; type: number; payload: Buffer; next: number }
  | { kind: 'blank' } // zero bytes: nothing was ever written here
  | { kind: 'bad'; reason: string };

/** Parse the record at `at` in a generation's bytes. Pure. */
export function parseRecord(buf: Buffer, at: number, gen: number): ParsedRecord {
  if (at + RECORD_HEADER_SIZE > buf.length) return { kind: 'bad', reason: 'record header runs past the end of the file' };
  const stored = buf.readUInt32LE(at);
  const length = buf.readUInt32LE(at + 4);
  const typeWord = buf.readUInt32LE(at + 8);
  if (stored === 0 && length === 0 && typeWord === 0) return { kind: 'blank' };
  const type = typeWord & 0xff;
  if (typeWord >>> 8 !== 0 || type === 0 || type > MAX_TYPE) return { kind: 'bad', reason: `bad record type word ${typeWord.toString(16)}` };
  const end = at + RECORD_HEADER_SIZE + length;
  if (end > buf.length) return { kind: 'bad', reason: `record length ${length} runs past the end of the file` };
  const computed = crc32c(buf.subarray(at + 4, end), genSeed(gen));
  if (computed !== stored) return { kind: 'bad', reason: 'record checksum mismatch' };
  return { kind: 'record', type, payload: buf.subarray(at + RECORD_HEADER_SIZE, end), next: align(end - at) + at };
}

// ---- payload codecs -------------------------------------------------------

export interface PageRange {
  offset: number;
  bytes: Buffer;
}

export interface PageRecord {
  dbid: number;
  pgno: number;
  dbtimeBefore: number;
  dbtimeAfter: number;
  ranges: PageRange[];
}

export function encodePage(r: PageRecord): Buffer {
  let size = PAGE_FIXED;
  for (const x of r.ranges) size += RANGE_FIXED + x.bytes.length;
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt16LE(r.dbid, 0);
  buf.writeUInt16LE(r.ranges.length, 2);
  buf.writeUInt32LE(r.pgno, 4);
  buf.writeBigUInt64LE(BigInt(r.dbtimeBefore), 8);
  buf.writeBigUInt64LE(BigInt(r.dbtimeAfter), 16);
  let at = PAGE_FIXED;
  for (const x of r.ranges) {
    buf.writeUInt16LE(x.offset, at);
    // A whole 32 KiB page is one range of length 32768, which does not fit a
    // u16; lengths are stored minus one.
    buf.writeUInt16LE(x.bytes.length - 1, at + 2);
    x.bytes.copy(buf, at + RANGE_FIXED);
    at += RANGE_FIXED + x.bytes.length;
  }
  return buf;
}

export function decodePage(p: Buffer): PageRecord {
  const ranges: PageRange[] = [];
  let at = PAGE_FIXED;
  for (let i = p.readUInt16LE(2); i > 0; i--) {
    const offset = p.readUInt16LE(at);
    const length = p.readUInt16LE(at + 2) + 1;
    ranges.push({ offset, bytes: p.subarray(at + RANGE_FIXED, at + RANGE_FIXED + length) });
    at += RANGE_FIXED + length;
  }
  if (at !== p.length) throw new RangeError('PAGE record ranges do not add up to its length');
  return {
    dbid: p.readUInt16LE(0),
    pgno: p.readUInt32LE(4),
    dbtimeBefore: Number(p.readBigUInt64LE(8)),
    dbtimeAfter: Number(p.readBigUInt64LE(16)),
    ranges,
  };
}

export function encodeTxid(txid: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(txid), 0);
  return b;
}

export function encodeCommit(txid: number, time: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(BigInt(txid), 0);
  b.writeDoubleLE(time, 8);
  return b;
}

export function decodeTxid(p: Buffer): number {
  return Number(p.readBigUInt64LE(0));
}

export interface AttachRecord {
  dbid: number;
  create: boolean;
  pageSize: number;
  dbSignature: string;
  name: string;
}

export function encodeAttach(a: AttachRecord): Buffer {
  const name = Buffer.from(a.name, 'utf8');
  const b = Buffer.alloc(2 + 2 + 4 + SIGNATURE_SIZE + name.length);
  b.writeUInt16LE(a.dbid, 0);
  b.writeUInt16LE(a.create ? ATTACH_CREATE : 0, 2);
  b.writeUInt32LE(a.pageSize, 4);
  b.write(a.dbSignature, 8, SIGNATURE_SIZE, 'hex');
  name.copy(b, 8 + SIGNATURE_SIZE);
  return b;
}

export function decodeAttach(p: Buffer): AttachRecord {
  return {
    dbid: p.readUInt16LE(0),
    create: (p.readUInt16LE(2) & ATTACH_CREATE) !== 0,
    pageSize: p.readUInt32LE(4),
    dbSignature: p.toString('hex', 8, 8 + SIGNATURE_SIZE),
    name: p.toString('utf8', 8 + SIGNATURE_SIZE),
  };
}

export function encodeU16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v, 0);
  return b;
}

export function encodeU32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v, 0);
  return b;
}
