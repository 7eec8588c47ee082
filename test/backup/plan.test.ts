import { expect } from 'chai';
import fc from 'fast-check';
import { planRanges } from '../../src/backup/plan.js';
import { expectJetThrow } from '../helpers/jet.js';

describe('backup/plan: planRanges', () => {
  it('splits each file into ranges of at most rangePages, covering pages 1..pageCount once', () => {
    expect(planRanges([{ name: 'a.edb', pageCount: 5 }, { name: 'b.edb', pageCount: 0 }, { name: 'c.edb', pageCount: 2 }], 2)).to.deep.equal([
      { file: 0, firstPage: 1, pageCount: 2 },
      { file: 0, firstPage: 3, pageCount: 2 },
      { file: 0, firstPage: 5, pageCount: 1 },
      { file: 2, firstPage: 1, pageCount: 2 },
    ]);
  });

  it('covers every page exactly once, in order, for any files and range size (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.nat({ max: 3000 }), { maxLength: 6 }), fc.integer({ min: 1, max: 700 }),
      (counts, rangePages) => {
        const ranges = planRanges(counts.map((pageCount, i) => ({ name: `${i}.edb`, pageCount })), rangePages);
        counts.forEach((pageCount, file) => {
          const mine = ranges.filter((r) => r.file === file);
          let next = 1;
          for (const r of mine) {
            expect(r.firstPage).to.equal(next);
            expect(r.pageCount).to.be.within(1, rangePages);
            next += r.pageCount;
          }
          expect(next - 1).to.equal(pageCount);
        });
      }));
  });

  it('refuses a range size below one page and bad page counts with JET_errInvalidParameter', () => {
    expectJetThrow(() => planRanges([], 0), 'JET_errInvalidParameter');
    expectJetThrow(() => planRanges([], 1.5), 'JET_errInvalidParameter');
    expectJetThrow(() => planRanges([{ name: 'x.edb', pageCount: -1 }]), 'JET_errInvalidParameter');
  });
});
