import { expect } from 'chai';
import fc from 'fast-check';
import { MERGE_GAP, diffPages, type DiffRange } from '../../src/engine/page-diff.js';
import { PAGE_SIZES } from '../../src/format/page.js';
import { patterned } from '../helpers/bytes.js';

const FROM = 4;

/** Copy b's bytes of each range onto a copy of a: what redo does with a PAGE record. */
function applyRanges(a: Buffer, b: Buffer, ranges: DiffRange[]): Buffer {
  const out = Buffer.from(a);
  for (const r of ranges) b.copy(out, r.offset, r.offset, r.offset + r.length);
  return out;
}

function checkShape(a: Buffer, b: Buffer, ranges: DiffRange[], from: number): void {
  let prevEnd = -1;
  for (const r of ranges) {
    expect(r.length, JSON.stringify(r)).to.be.above(0);
    expect(r.offset, JSON.stringify(r)).to.be.at.least(from);
    expect(r.offset + r.length, JSON.stringify(r)).to.be.at.most(a.length);
    if (prevEnd >= 0) {
      // sorted, non-overlapping, and farther apart than the merge gap
      expect(r.offset - prevEnd, `gap before ${JSON.stringify(r)}`).to.be.above(MERGE_GAP);
    }
    // Each range starts and ends on a byte that really differs.
    expect(a[r.offset], `first byte of ${JSON.stringify(r)}`).to.not.equal(b[r.offset]);
    expect(a[r.offset + r.length - 1], `last byte of ${JSON.stringify(r)}`).to.not.equal(b[r.offset + r.length - 1]);
    prevEnd = r.offset + r.length;
  }
}

const edit = fc.record({
  at: fc.nat(),
  len: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 400 })),
  seed: fc.integer({ min: 1, max: 0xffffffff }),
});

/** A page pair: `a` random-ish, `b` = `a` with a few edits (some may rewrite equal bytes). */
const pagePair = fc
  .record({
    pageSize: fc.constantFrom(...PAGE_SIZES),
    seed: fc.integer({ min: 1, max: 0xffffffff }),
    edits: fc.array(edit, { maxLength: 12 }),
    edgeEdits: fc.subarray([0, 3, FROM, -1]),
  })
  .map(({ pageSize, seed, edits, edgeEdits }) => {
    const a = patterned(pageSize, seed);
    const b = Buffer.from(a);
    for (const e of edits) {
      const at = e.at % pageSize;
      const bytes = patterned(Math.min(e.len, pageSize - at), e.seed);
      bytes.copy(b, at);
    }
    for (const x of edgeEdits) b[x < 0 ? pageSize + x : x] ^= 0x5a;
    return { a, b };
  });

describe('engine/page-diff', () => {
  it('gives ranges that turn a copy of a into b from offset 4 on (property)', () => {
    fc.assert(
      fc.property(pagePair, ({ a, b }) => {
        const ranges = diffPages(a, b, FROM);
        const got = applyRanges(a, b, ranges);
        expect(got.subarray(FROM).equals(b.subarray(FROM))).to.equal(true);
        // Bytes before `from` are not the diff's business.
        expect(got.subarray(0, FROM).equals(a.subarray(0, FROM))).to.equal(true);
      }),
      { numRuns: 300 },
    );
  });

  it('gives sorted, non-overlapping, in-bounds ranges that start and end on differing bytes (property)', () => {
    fc.assert(
      fc.property(pagePair, ({ a, b }) => {
        checkShape(a, b, diffPages(a, b, FROM), FROM);
      }),
      { numRuns: 300 },
    );
  });

  it('gives no ranges for identical pages of every size', () => {
    for (const size of PAGE_SIZES) {
      const a = patterned(size, size);
      expect(diffPages(a, Buffer.from(a), FROM)).to.deep.equal([]);
      expect(diffPages(Buffer.alloc(size), Buffer.alloc(size), FROM)).to.deep.equal([]);
    }
  });

  it('ignores differences before the start offset', () => {
    const a = patterned(4096, 2);
    const b = Buffer.from(a);
    for (let i = 0; i < FROM; i++) b[i] ^= 0xff;
    expect(diffPages(a, b, FROM)).to.deep.equal([]);
  });

  it('finds a single changed byte as a one-byte range, at the first and the last byte', () => {
    const a = patterned(8192, 3);
    for (const at of [FROM, 31, 32, 4000, 8191]) {
      const b = Buffer.from(a);
      b[at] ^= 1;
      expect(diffPages(a, b, FROM), `byte ${at}`).to.deep.equal([{ offset: at, length: 1 }]);
    }
  });

  it('merges changes at most MERGE_GAP equal bytes apart and keeps farther ones separate', () => {
    const a = Buffer.alloc(4096);
    const near = Buffer.from(a);
    near[100] = 1;
    near[100 + MERGE_GAP + 1] = 1; // MERGE_GAP equal bytes in between
    expect(diffPages(a, near, FROM)).to.deep.equal([{ offset: 100, length: MERGE_GAP + 2 }]);
    const far = Buffer.from(a);
    far[100] = 1;
    far[100 + MERGE_GAP + 2] = 1; // MERGE_GAP + 1 equal bytes in between
    expect(diffPages(a, far, FROM)).to.deep.equal([
      { offset: 100, length: 1 },
      { offset: 100 + MERGE_GAP + 2, length: 1 },
    ]);
  });

  it('covers a whole changed page with one range from the start offset', () => {
    const a = Buffer.alloc(32768);
    const b = Buffer.alloc(32768, 0xff);
    expect(diffPages(a, b, FROM)).to.deep.equal([{ offset: FROM, length: 32768 - FROM }]);
  });
});
