/**
 * LGPOS: a position in the log, (generation, byte offset in that generation's file).
 *
 *   +0 u32 LE generation   (1 .. 0xFFFFFFFF)
 *   +4 u32 LE offset        byte offset of a record boundary in the file
 *   LGPOS_SIZE = 4 + 4
 *
 * Ordered by generation, then offset. ESE stores (ib, isec, generation); a byte
 * offset says the same thing without a sector size.
 */
export interface Lgpos {
  readonly gen: number;
  readonly off: number;
}

export const LGPOS_SIZE = 4 + 4;
export const LGPOS_ZERO: Lgpos = Object.freeze({ gen: 0, off: 0 });

export function cmpLgpos(a: Lgpos, b: Lgpos): number {
  return a.gen !== b.gen ? a.gen - b.gen : a.off - b.off;
}

export function minLgpos(a: Lgpos, b: Lgpos): Lgpos {
  return cmpLgpos(a, b) <= 0 ? a : b;
}

export function maxLgpos(a: Lgpos, b: Lgpos): Lgpos {
  return cmpLgpos(a, b) >= 0 ? a : b;
}

export function writeLgpos(buf: Buffer, at: number, p: Lgpos): void {
  buf.writeUInt32LE(p.gen, at);
  buf.writeUInt32LE(p.off, at + 4);
}

export function readLgpos(buf: Buffer, at: number): Lgpos {
  return { gen: buf.readUInt32LE(at), off: buf.readUInt32LE(at + 4) };
}

export function formatLgpos(p: Lgpos): string {
  return `${p.gen.toString(16).toUpperCase().padStart(8, '0')}:${p.off.toString(16).toUpperCase()}`;
}
