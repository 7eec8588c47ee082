/**
 * Checkpoint file (<base>.chk): where crash recovery starts reading the log.
 *
 *   offset size field
 *   +0     4    crc32c          CRC32C of bytes [4, CHECKPOINT_SIZE)
 *   +4     4    magic           CHK_MAGIC
 *   +8     4    formatVersion   CHK_FORMAT_VERSION
 *   +12    8    lgposCheckpoint LGPOS: every change logged before it is in the database files
 *   +20    16   logSignature    the log sequence this checkpoint belongs to
 *   +36    8    time            f64 ms since the Unix epoch, when it was written
 *   +44    4    reserved        zero
 *   CHECKPOINT_SIZE = 4 + 4 + 4 + 8 + 16 + 8 + 4
 *
 * Written whole to <base>.chk.tmp, synced, renamed over <base>.chk, and the
 * directory synced: a reader sees the old checkpoint or the new one, never half.
 */
import { crc32c } from '../checksum/crc32c.js';
import { SIGNATURE_SIZE } from './db-header.js';
import { readLgpos, writeLgpos, type Lgpos } from './lgpos.js';

export const CHK_MAGIC = 0x4b434545; // "EECK" read as little-endian bytes
export const CHK_FORMAT_VERSION = 1;
export const CHECKPOINT_SIZE = 4 + 4 + 4 + 8 + 16 + 8 + 4;

export interface Checkpoint {
  lgpos: Lgpos;
  logSignature: string;
  time: number;
}

export function encodeCheckpoint(c: Checkpoint): Buffer {
  const buf = Buffer.alloc(CHECKPOINT_SIZE);
  buf.writeUInt32LE(CHK_MAGIC, 4);
  buf.writeUInt32LE(CHK_FORMAT_VERSION, 8);
  writeLgpos(buf, 12, c.lgpos);
  buf.write(c.logSignature, 20, SIGNATURE_SIZE, 'hex');
  buf.writeDoubleLE(c.time, 36);
  buf.writeUInt32LE(crc32c(buf.subarray(4)), 0);
  return buf;
}

export type CheckpointDecode = { ok: true; checkpoint: Checkpoint } | { ok: false; reason: string };

export function decodeCheckpoint(buf: Buffer): CheckpointDecode {
  if (buf.length !== CHECKPOINT_SIZE) return { ok: false, reason: `size ${buf.length}, expected ${CHECKPOINT_SIZE}` };
  if (buf.readUInt32LE(4) !== CHK_MAGIC) return { ok: false, reason: 'bad magic' };
  if (buf.readUInt32LE(0) !== crc32c(buf.subarray(4))) return { ok: false, reason: 'checksum mismatch' };
  const version = buf.readUInt32LE(8);
  if (version !== CHK_FORMAT_VERSION) return { ok: false, reason: `unsupported version ${version}` };
  return {
    ok: true,
    checkpoint: {
      lgpos: readLgpos(buf, 12),
      logSignature: buf.toString('hex', 20, 36),
      time: buf.readDoubleLE(36),
    },
  };
}
