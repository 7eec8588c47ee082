/**
 * Byte-level helpers for tests that damage buffers on purpose.
 * The mutating helpers change `buf` in place and return it; `copyWith*`
 * variants leave the original alone.
 */
import { randomBytes } from 'node:crypto';

/** XOR one byte with `mask` (0xff by default: every bit of it flips). */
export function flipByte(buf: Buffer, at: number, mask = 0xff): Buffer {
  if (at < 0 || at >= buf.length) throw new RangeError(`flipByte: offset ${at} outside a buffer of ${buf.length} bytes`);
  if ((mask & 0xff) === 0) throw new RangeError('flipByte: mask 0 would change nothing');
  buf[at] ^= mask & 0xff;
  return buf;
}

/** Flip bit `bit` (0 = least significant bit of byte 0). */
export function flipBit(buf: Buffer, bit: number): Buffer {
  return flipByte(buf, bit >> 3, 1 << (bit & 7));
}

/** Set bytes [from, to) to zero, as a torn or never-completed write leaves them. */
export function zeroRange(buf: Buffer, from: number, to: number = buf.length): Buffer {
  buf.fill(0, from, to);
  return buf;
}

/** A copy of `buf` with the byte at `at` flipped. */
export function copyWithFlippedByte(buf: Buffer, at: number, mask = 0xff): Buffer {
  return flipByte(Buffer.from(buf), at, mask);
}

/** A copy of `buf` with bytes [from, to) zeroed. */
export function copyWithZeroed(buf: Buffer, from: number, to: number = buf.length): Buffer {
  return zeroRange(Buffer.from(buf), from, to);
}

/** A random lowercase hex string of `bytes` bytes (e.g. a 16-byte signature). */
export function randomHex(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}

/** A buffer of `n` bytes filled with a deterministic non-trivial pattern. */
export function patterned(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    // xorshift32: cheap, deterministic, never all zero
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
