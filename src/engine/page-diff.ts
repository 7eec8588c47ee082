/**
 * The byte ranges in which two page images differ: what a PAGE log record
 * carries. Pure.
 *
 * Ranges closer than MERGE_GAP bytes are merged: each range costs 4 bytes of
 * record overhead, so rewriting a few equal bytes is cheaper than a new range.
 */
export const MERGE_GAP = 8;
const BLOCK = 32;

export interface DiffRange {
  offset: number;
  length: number;
}

/** Ranges of [from, a.length) where a and b differ. `a` and `b` have equal length. */
export function diffPages(a: Buffer, b: Buffer, from: number): DiffRange[] {
  const out: DiffRange[] = [];
  const n = a.length;
  let i = from;
  while (i < n) {
    // Skip equal blocks quickly with Buffer.compare (native memcmp).
    const end = Math.min(n, i + BLOCK);
    if (a.compare(b, i, end, i, end) === 0) {
      i = end;
      continue;
    }
    while (i < end && a[i] === b[i]) i++;
    let j = i;
    let lastDiff = i;
    while (j < n && j - lastDiff <= MERGE_GAP) {
      if (a[j] !== b[j]) lastDiff = j;
      j++;
    }
    const prev = out[out.length - 1];
    if (prev && i - (prev.offset + prev.length) <= MERGE_GAP) {
      prev.length = lastDiff + 1 - prev.offset;
    } else {
      out.push({ offset: i, length: lastDiff + 1 - i });
    }
    i = lastDiff + 1;
  }
  return out;
}
