/**
 * Log file header: the first LOG_HEADER_BLOCK bytes of every log generation.
 * Records start right after it (log-record.ts).
 *
 *   offset size field
 *   +0     4    crc32c        CRC32C of bytes [4, LOG_HEADER_BLOCK)
 *   +4     4    magic         LOG_MAGIC
 *   +8     4    formatVersion LOG_FORMAT_VERSION
 *   +12    4    generation    1 .. 0xFFFFFFFF
 *   +16    4    logFileSize   bytes, the fixed size of every file of the sequence
 *   +20    4    pageSize      database page size of the instance
 *   +24    8    timeCreate    f64 ms since the Unix epoch; unique and increasing
 *   +32    8    timePrevGen   timeCreate of generation-1 (0 for the first of a sequence)
 *   +40    16   logSignature  random, shared by every generation of the sequence
 *   +56    2    attachCount   databases attached when the generation began
 *   +58    ...  attachCount x { dbid u16, dbSignature 16, nameLength u16, name UTF-8 }
 *   zeros up to LOG_HEADER_BLOCK
 *
 * timePrevGen is what lets restore prove two generations are neighbours: the
 * header of N must carry the timeCreate of N-1 (ESE's tmPrevGen).
 */
import { crc32c } from '../checksum/crc32c.js';
import { SIGNATURE_SIZE } from './db-header.js';

export const LOG_MAGIC = 0x474c4545; // "EELG" read as little-endian bytes
export const LOG_FORMAT_VERSION = 1;
export const LOG_HEADER_BLOCK = 4096;
const ATTACH_FIXED = 2 + SIGNATURE_SIZE + 2;

export interface AttachEntry {
  dbid: number;
  dbSignature: string; // 32 hex digits
  name: string; // file name relative to the instance directory
}

export interface LogHeader {
  generation: number;
  logFileSize: number;
  pageSize: number;
  timeCreate: number;
  timePrevGen: number;
  logSignature: string;
  attached: AttachEntry[];
}

export function encodeLogHeader(h: LogHeader): Buffer {
  const buf = Buffer.alloc(LOG_HEADER_BLOCK);
  buf.writeUInt32LE(LOG_MAGIC, 4);
  buf.writeUInt32LE(LOG_FORMAT_VERSION, 8);
  buf.writeUInt32LE(h.generation, 12);
  buf.writeUInt32LE(h.logFileSize, 16);
  buf.writeUInt32LE(h.pageSize, 20);
  buf.writeDoubleLE(h.timeCreate, 24);
  buf.writeDoubleLE(h.timePrevGen, 32);
  buf.write(h.logSignature, 40, SIGNATURE_SIZE, 'hex');
  buf.writeUInt16LE(h.attached.length, 56);
  let at = 58;
  for (const a of h.attached) {
    const name = Buffer.from(a.name, 'utf8');
    if (at + ATTACH_FIXED + name.length > LOG_HEADER_BLOCK) {
      throw new RangeError('too many attached databases for a log header');
    }
    buf.writeUInt16LE(a.dbid, at);
    buf.write(a.dbSignature, at + 2, SIGNATURE_SIZE, 'hex');
    buf.writeUInt16LE(name.length, at + 2 + SIGNATURE_SIZE);
    name.copy(buf, at + ATTACH_FIXED);
    at += ATTACH_FIXED + name.length;
  }
  buf.writeUInt32LE(crc32c(buf.subarray(4)), 0);
  return buf;
}

export type LogHeaderDecode = { ok: true; header: LogHeader } | { ok: false; reason: string; version?: number };

export function decodeLogHeader(buf: Buffer): LogHeaderDecode {
  if (buf.length < LOG_HEADER_BLOCK) return { ok: false, reason: 'file too short for a log header' };
  if (buf.readUInt32LE(4) !== LOG_MAGIC) return { ok: false, reason: 'bad magic (not a log file)' };
  if (buf.readUInt32LE(0) !== crc32c(buf.subarray(4, LOG_HEADER_BLOCK))) {
    return { ok: false, reason: 'log header checksum mismatch' };
  }
  const version = buf.readUInt32LE(8);
  if (version !== LOG_FORMAT_VERSION) return { ok: false, reason: `unsupported log format version ${version}`, version };
  const attached: AttachEntry[] = [];
  let at = 58;
  for (let i = buf.readUInt16LE(56); i > 0; i--) {
    const nameLength = buf.readUInt16LE(at + 2 + SIGNATURE_SIZE);
    attached.push({
      dbid: buf.readUInt16LE(at),
      dbSignature: buf.toString('hex', at + 2, at + 2 + SIGNATURE_SIZE),
      name: buf.toString('utf8', at + ATTACH_FIXED, at + ATTACH_FIXED + nameLength),
    });
    at += ATTACH_FIXED + nameLength;
  }
  return {
    ok: true,
    header: {
      generation: buf.readUInt32LE(12),
      logFileSize: buf.readUInt32LE(16),
      pageSize: buf.readUInt32LE(20),
      timeCreate: buf.readDoubleLE(24),
      timePrevGen: buf.readDoubleLE(32),
      logSignature: buf.toString('hex', 40, 56),
      attached,
    },
  };
}
