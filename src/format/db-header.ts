/**
 * Database file header (*.edb pages 0 and 1).
 *
 * The header is written twice: page 0 and its shadow, page 1, each a whole
 * page with the header at the front and zeros after it. The writer writes and
 * syncs one copy before touching the other, so a torn header write can damage
 * at most one; the reader takes the valid copy with the higher `seq`.
 *
 *   offset size field
 *   +0     4    crc32c           CRC32C of bytes [4, DB_HEADER_SIZE)
 *   +4     4    magic            DB_MAGIC
 *   +8     4    formatVersion    DB_FORMAT_VERSION
 *   +12    4    pageSize
 *   +16    8    seq              u64, +1 on every header write
 *   +24    8    dbtime           u64, highest dbtime handed out when written
 *   +32    16   dbSignature      random, fixed at creation
 *   +48    16   logSignature     signature of the log sequence the file belongs to
 *   +64    4    state            DB_STATE_*
 *   +68    4    pageCount        highest page number in use (pages 1..pageCount)
 *   +72    8    lgposConsistent  LGPOS at which the file was last made consistent
 *   +80    8    timeConsistent   f64 ms since the Unix epoch
 *   +88    8    lgposAttach      LGPOS of the last attach
 *   +96    8    timeAttach       f64
 *   +104   24   bkinfoFullPrev   BKINFO of the last full backup
 *   +128   24   bkinfoIncPrev    BKINFO of the last incremental backup
 *   +152   24   bkinfoFullCur    BKINFO of a full backup copy being taken (in backup copies only)
 *   +176   4    genMinRequired   lowest log generation recovery of this file needs
 *   +180   4    reserved         zero
 *   +184   8    timeCreate       f64
 *   DB_HEADER_SIZE = 192
 *
 *   BKINFO = lgposMark(8) timeMark(f64, 8) genLow(u32, 4) genHigh(u32, 4) = 24 bytes;
 *   all zero means "none".
 *
 * All integers little-endian. The state values are ESE's (JET_dbstate*).
 */
import { crc32c } from '../checksum/crc32c.js';
import { LGPOS_ZERO, readLgpos, writeLgpos, type Lgpos } from './lgpos.js';

export const DB_MAGIC = 0x42444545; // "EEDB" read as little-endian bytes
export const DB_FORMAT_VERSION = 1;
export const DB_HEADER_SIZE = 192;
export const BKINFO_SIZE = 8 + 8 + 4 + 4;
export const SIGNATURE_SIZE = 16;

export const DB_STATE_JUST_CREATED = 1;
export const DB_STATE_DIRTY_SHUTDOWN = 2;
export const DB_STATE_CLEAN_SHUTDOWN = 3;
export type DbState = typeof DB_STATE_JUST_CREATED | typeof DB_STATE_DIRTY_SHUTDOWN | typeof DB_STATE_CLEAN_SHUTDOWN;

export interface BkInfo {
  lgposMark: Lgpos;
  timeMark: number;
  genLow: number;
  genHigh: number;
}

export const BKINFO_NONE: BkInfo = Object.freeze({ lgposMark: LGPOS_ZERO, timeMark: 0, genLow: 0, genHigh: 0 });

export interface DbHeader {
  pageSize: number;
  seq: number;
  dbtime: number;
  dbSignature: string; // 32 hex digits
  logSignature: string; // 32 hex digits
  state: DbState;
  pageCount: number;
  lgposConsistent: Lgpos;
  timeConsistent: number;
  lgposAttach: Lgpos;
  timeAttach: number;
  bkinfoFullPrev: BkInfo;
  bkinfoIncPrev: BkInfo;
  bkinfoFullCur: BkInfo;
  genMinRequired: number;
  timeCreate: number;
}

function writeBkInfo(buf: Buffer, at: number, b: BkInfo): void {
  writeLgpos(buf, at, b.lgposMark);
  buf.writeDoubleLE(b.timeMark, at + 8);
  buf.writeUInt32LE(b.genLow, at + 16);
  buf.writeUInt32LE(b.genHigh, at + 20);
}

function readBkInfo(buf: Buffer, at: number): BkInfo {
  return {
    lgposMark: readLgpos(buf, at),
    timeMark: buf.readDoubleLE(at + 8),
    genLow: buf.readUInt32LE(at + 16),
    genHigh: buf.readUInt32LE(at + 20),
  };
}

/** Encode a header into a whole zero-padded page, checksummed. */
export function encodeDbHeader(h: DbHeader): Buffer {
  const page = Buffer.alloc(h.pageSize);
  page.writeUInt32LE(DB_MAGIC, 4);
  page.writeUInt32LE(DB_FORMAT_VERSION, 8);
  page.writeUInt32LE(h.pageSize, 12);
  page.writeBigUInt64LE(BigInt(h.seq), 16);
  page.writeBigUInt64LE(BigInt(h.dbtime), 24);
  page.write(h.dbSignature, 32, SIGNATURE_SIZE, 'hex');
  page.write(h.logSignature, 48, SIGNATURE_SIZE, 'hex');
  page.writeUInt32LE(h.state, 64);
  page.writeUInt32LE(h.pageCount, 68);
  writeLgpos(page, 72, h.lgposConsistent);
  page.writeDoubleLE(h.timeConsistent, 80);
  writeLgpos(page, 88, h.lgposAttach);
  page.writeDoubleLE(h.timeAttach, 96);
  writeBkInfo(page, 104, h.bkinfoFullPrev);
  writeBkInfo(page, 128, h.bkinfoIncPrev);
  writeBkInfo(page, 152, h.bkinfoFullCur);
  page.writeUInt32LE(h.genMinRequired, 176);
  page.writeDoubleLE(h.timeCreate, 184);
  page.writeUInt32LE(crc32c(page.subarray(4, DB_HEADER_SIZE)), 0);
  return page;
}

export type DbHeaderDecode =
  | { ok: true; header: DbHeader }
  | { ok: false; reason: string };

/** Decode one copy of the header. Pure; says why a copy is unusable. */
export function decodeDbHeader(buf: Buffer): DbHeaderDecode {
  if (buf.length < DB_HEADER_SIZE) return { ok: false, reason: 'file too short for a header' };
  if (buf.readUInt32LE(4) !== DB_MAGIC) return { ok: false, reason: 'bad magic (not a database file)' };
  const stored = buf.readUInt32LE(0);
  const computed = crc32c(buf.subarray(4, DB_HEADER_SIZE));
  if (stored !== computed) return { ok: false, reason: 'header checksum mismatch' };
  const version = buf.readUInt32LE(8);
  if (version !== DB_FORMAT_VERSION) return { ok: false, reason: `unsupported format version ${version}` };
  const state = buf.readUInt32LE(64);
  if (state < DB_STATE_JUST_CREATED || state > DB_STATE_CLEAN_SHUTDOWN) {
    return { ok: false, reason: `unknown state ${state}` };
  }
  return {
    ok: true,
    header: {
      pageSize: buf.readUInt32LE(12),
      seq: Number(buf.readBigUInt64LE(16)),
      dbtime: Number(buf.readBigUInt64LE(24)),
      dbSignature: buf.toString('hex', 32, 48),
      logSignature: buf.toString('hex', 48, 64),
      state: state as DbState,
      pageCount: buf.readUInt32LE(68),
      lgposConsistent: readLgpos(buf, 72),
      timeConsistent: buf.readDoubleLE(80),
      lgposAttach: readLgpos(buf, 88),
      timeAttach: buf.readDoubleLE(96),
      bkinfoFullPrev: readBkInfo(buf, 104),
      bkinfoIncPrev: readBkInfo(buf, 128),
      bkinfoFullCur: readBkInfo(buf, 152),
      genMinRequired: buf.readUInt32LE(176),
      timeCreate: buf.readDoubleLE(184),
    },
  };
}

/**
 * Choose between the two copies: the valid one with the higher seq.
 * Returns the reasons both failed when neither is valid.
 */
export function chooseDbHeader(primary: Buffer, shadow: Buffer): DbHeaderDecode {
  const a = decodeDbHeader(primary);
  const b = decodeDbHeader(shadow);
  if (a.ok && b.ok) return a.header.seq >= b.header.seq ? a : b;
  if (a.ok) return a;
  if (b.ok) return b;
  return { ok: false, reason: `page 0: ${a.reason}; page 1 (shadow): ${b.reason}` };
}
