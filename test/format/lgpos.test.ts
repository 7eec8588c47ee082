import { expect } from 'chai';
import fc from 'fast-check';
import {
  LGPOS_SIZE, LGPOS_ZERO, cmpLgpos, formatLgpos, maxLgpos, minLgpos, readLgpos, writeLgpos, type Lgpos,
} from '../../src/format/lgpos.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const lgposArb = fc.record({ gen: u32, off: u32 });

describe('format/lgpos', () => {
  it('orders by generation first, then by offset', () => {
    expect(cmpLgpos({ gen: 1, off: 100 }, { gen: 2, off: 0 })).to.be.below(0);
    expect(cmpLgpos({ gen: 2, off: 0 }, { gen: 1, off: 100 })).to.be.above(0);
    expect(cmpLgpos({ gen: 3, off: 8 }, { gen: 3, off: 16 })).to.be.below(0);
    expect(cmpLgpos({ gen: 3, off: 16 }, { gen: 3, off: 8 })).to.be.above(0);
    expect(cmpLgpos({ gen: 3, off: 16 }, { gen: 3, off: 16 })).to.equal(0);
    expect(cmpLgpos(LGPOS_ZERO, { gen: 0, off: 1 })).to.be.below(0);
    expect(cmpLgpos({ gen: 0xffffffff, off: 0 }, { gen: 0xfffffffe, off: 0xffffffff })).to.be.above(0);
  });

  it('is a consistent total order: antisymmetric and agreeing with the tuple order (property)', () => {
    fc.assert(fc.property(lgposArb, lgposArb, (a, b) => {
      const c = Math.sign(cmpLgpos(a, b));
      expect(Math.sign(cmpLgpos(b, a))).to.equal(-c || 0);
      const tuple = a.gen !== b.gen ? Math.sign(a.gen - b.gen) : Math.sign(a.off - b.off);
      expect(c).to.equal(tuple);
    }), { numRuns: 500 });
  });

  it('min and max return the smaller and the larger position (property)', () => {
    fc.assert(fc.property(lgposArb, lgposArb, (a, b) => {
      const lo = minLgpos(a, b);
      const hi = maxLgpos(a, b);
      expect(cmpLgpos(lo, hi)).to.be.at.most(0);
      expect([a, b]).to.include(lo);
      expect([a, b]).to.include(hi);
      expect(cmpLgpos(lo, a)).to.be.at.most(0);
      expect(cmpLgpos(lo, b)).to.be.at.most(0);
      expect(cmpLgpos(hi, a)).to.be.at.least(0);
      expect(cmpLgpos(hi, b)).to.be.at.least(0);
    }), { numRuns: 500 });
    const a: Lgpos = { gen: 5, off: 100 };
    const b: Lgpos = { gen: 6, off: 8 };
    expect(minLgpos(a, b)).to.equal(a);
    expect(minLgpos(b, a)).to.equal(a);
    expect(maxLgpos(a, b)).to.equal(b);
    expect(maxLgpos(b, a)).to.equal(b);
  });

  it('round-trips through its 8-byte little-endian encoding (property)', () => {
    expect(LGPOS_SIZE).to.equal(8);
    fc.assert(fc.property(lgposArb, fc.nat({ max: 24 }), (p, at) => {
      const buf = Buffer.alloc(32);
      writeLgpos(buf, at, p);
      expect(readLgpos(buf, at)).to.deep.equal(p);
      expect(buf.readUInt32LE(at)).to.equal(p.gen);
      expect(buf.readUInt32LE(at + 4)).to.equal(p.off);
    }));
  });

  it('formats as 8 upper-case hex digits of generation, a colon, and the hex offset', () => {
    expect(formatLgpos({ gen: 0x123ab, off: 0x1018 })).to.equal('000123AB:1018');
    expect(formatLgpos(LGPOS_ZERO)).to.equal('00000000:0');
  });
});
