import { expect } from 'chai';
import fc from 'fast-check';
import { crc32c } from '../../src/checksum/crc32c.js';
import {
  PAGE_HEADER_SIZE, PAGE_SIZES, checkPage, describePageCheck, pageDbtime, pageOffset, readPageHeader,
  sealPage, setPageDbtime, writePageHeader, type PageHeader,
} from '../../src/format/page.js';
import { copyWithFlippedByte, flipBit, patterned } from '../helpers/bytes.js';

function makePage(pageSize: number, h: PageHeader, seed = 7): Buffer {
  const page = Buffer.alloc(pageSize);
  patterned(pageSize - PAGE_HEADER_SIZE, seed).copy(page, PAGE_HEADER_SIZE);
  writePageHeader(page, h);
  sealPage(page);
  return page;
}

const HEADER: PageHeader = { pgno: 7, dbtime: 0x1_2345_6789, flags: 0x5, objid: 42 };

describe('format/page', () => {
  it('puts page p at byte (p + 1) * pageSize, after the header and its shadow', () => {
    expect(pageOffset(1, 8192)).to.equal(16384);
    expect(pageOffset(2, 4096)).to.equal(12288);
    expect(pageOffset(0, 32768)).to.equal(32768);
  });

  it('has a 24-byte header', () => {
    expect(PAGE_HEADER_SIZE).to.equal(24);
  });

  it('round-trips the header fields and leaves the body alone', () => {
    const page = makePage(8192, HEADER);
    expect(readPageHeader(page)).to.deep.equal(HEADER);
    expect(pageDbtime(page)).to.equal(HEADER.dbtime);
    expect(page.subarray(PAGE_HEADER_SIZE).equals(patterned(8192 - PAGE_HEADER_SIZE, 7))).to.equal(true);
    setPageDbtime(page, 99);
    expect(pageDbtime(page)).to.equal(99);
    expect(readPageHeader(page).pgno).to.equal(7);
  });

  it('stores the CRC-32C of bytes [4, pageSize) little-endian at offset 0', () => {
    const page = makePage(4096, HEADER);
    expect(page.readUInt32LE(0)).to.equal(crc32c(page.subarray(4)));
  });

  for (const pageSize of PAGE_SIZES) {
    describe(`with ${pageSize}-byte pages`, () => {
      it('accepts a sealed page checked under its own number', () => {
        const page = makePage(pageSize, HEADER);
        expect(checkPage(page, 7)).to.deep.equal({ ok: true, initialized: true });
      });

      const positions: Array<[string, number]> = [
        ['the checksum field', 0],
        ['the last byte of the checksum field', 3],
        ['the page number field', 4],
        ['the dbtime field', 8],
        ['the last dbtime byte', 15],
        ['the flags field', 16],
        ['the objid field', 20],
        ['the first body byte', PAGE_HEADER_SIZE],
        ['a middle body byte', pageSize >> 1],
        ['the last body byte', pageSize - 1],
      ];
      for (const [what, at] of positions) {
        it(`reports a checksum failure when ${what} (byte ${at}) is flipped`, () => {
          const page = makePage(pageSize, HEADER);
          const bad = copyWithFlippedByte(page, at);
          const c = checkPage(bad, 7);
          expect(c.ok).to.equal(false);
          if (c.ok) return;
          expect(c.reason).to.equal('checksum');
          if (c.reason !== 'checksum') return;
          expect(c.stored).to.equal(bad.readUInt32LE(0));
          expect(c.computed).to.equal(crc32c(bad.subarray(4)));
          expect(c.stored).to.not.equal(c.computed);
        });
      }

      it('reports pgno when a page sealed as page 7 is read as page 8', () => {
        const page = makePage(pageSize, HEADER);
        const c = checkPage(page, 8);
        expect(c).to.deep.equal({ ok: false, reason: 'pgno', found: 7 });
        expect(describePageCheck(c)).to.contain('page 7');
      });

      it('treats an all-zero page as not initialized, not as corruption', () => {
        const c = checkPage(Buffer.alloc(pageSize), 3);
        expect(c).to.deep.equal({ ok: true, initialized: false });
        expect(describePageCheck(c)).to.equal('not initialized');
      });

      it('treats an all-zero page at an unaligned buffer offset as not initialized', () => {
        const backing = Buffer.alloc(pageSize + 3);
        expect(checkPage(backing.subarray(3), 3)).to.deep.equal({ ok: true, initialized: false });
      });

      it('reports a zero page with one nonzero byte as a checksum failure, never as uninitialized', () => {
        for (const at of [0, 4, 8, PAGE_HEADER_SIZE, pageSize >> 1, pageSize - 1]) {
          const page = Buffer.alloc(pageSize);
          page[at] = 1;
          const c = checkPage(page, 3);
          expect(c.ok, `nonzero byte at ${at}`).to.equal(false);
          if (!c.ok) expect(c.reason, `nonzero byte at ${at}`).to.equal('checksum');
        }
      });
    });
  }

  it('detects any single flipped bit of a sealed page (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PAGE_SIZES),
        fc.nat(),
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        (pageSize, bitSeed, pgno, dbtime) => {
          const page = makePage(pageSize, { pgno, dbtime, flags: 0, objid: 1 }, pgno);
          expect(checkPage(page, pgno).ok).to.equal(true);
          const bit = bitSeed % (pageSize * 8);
          const c = checkPage(flipBit(page, bit), pgno);
          expect(c.ok).to.equal(false);
          if (!c.ok) expect(c.reason).to.equal('checksum');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('describes a checksum failure with both CRCs in hex', () => {
    const page = makePage(4096, HEADER);
    const c = checkPage(copyWithFlippedByte(page, 100), 7);
    if (c.ok || c.reason !== 'checksum') expect.fail(`expected a checksum failure, got ${JSON.stringify(c)}`);
    const text = describePageCheck(c);
    expect(text).to.contain(c.stored.toString(16));
    expect(text).to.contain(c.computed.toString(16));
  });
});
