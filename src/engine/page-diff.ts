/**
 * The byte ranges in which two page images differ: what a PAGE log record
 * carries. Pure.
 *
 * Ranges closer than MERGE_GAP bytes are merged: each range costs 4 bytes of
 * record overhead, so rewriting a few equal bytes is cheaper than a new range.
 *
 * The scan compares 4-byte words (a page is a multiple of 4 bytes) and looks
 * at single bytes only inside words that differ, so an unchanged stretch
 * costs a quarter of the compares a byte loop would make.
 */
export const MERGE_GAP = 8;

export interface DiffRange {
  offset: number;
  length: number;
}

function words(buf: Buffer): Int32Array {
  // Page buffers are page-sized allocations of their own, so aligned; copy if not.
  const b = buf.byteOffset % 4 === 0 ? buf : Buffer.from(buf);
  return new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
}

/** Ranges of [from, a.length) where a and b differ. Equal lengths, multiples of 4; `from` a multiple of 4. */
export function diffPages(a: Buffer, b: Buffer, from: number): DiffRange[] {
  if (a.length !== b.length || a.length % 4 !== 0 || from % 4 !== 0) {
    throw new RangeError('diffPages wants equal, 4-byte-multiple lengths and a 4-byte-aligned start');
  }
  const wa = words(a);
  const wb = words(b);
  const firstDiff = (w: number) => { let i = w * 4; while (a[i] === b[i]) i++; return i; };
  const lastDiff = (w: number) => { let i = w * 4 + 3; while (a[i] === b[i]) i--; return i; };
  const out: DiffRange[] = [];
  let start = -1; // the open range starts at byte `start` and ends in word `endWord`
  let endWord = -1;
  for (let w = from >>> 2; w < wa.length; w++) {
    if (wa[w] === wb[w]) continue;
    // Close enough whatever the bytes: extend without looking at them (the
    // common case of a long changed stretch).
    if (start >= 0 && w * 4 + 3 - endWord * 4 - 1 <= MERGE_GAP) {
      endWord = w;
      continue;
    }
    const first = firstDiff(w);
    if (start >= 0) {
      const end = lastDiff(endWord);
      if (first - end - 1 <= MERGE_GAP) {
        endWord = w;
        continue;
      }
      out.push({ offset: start, length: end + 1 - start });
    }
    start = first;
    endWord = w;
  }
  if (start >= 0) out.push({ offset: start, length: lastDiff(endWord) + 1 - start });
  return out;
}
