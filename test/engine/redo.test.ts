import { expect } from 'chai';
import fc from 'fast-check';
import { diffPages } from '../../src/engine/page-diff.js';
import { redoPage } from '../../src/engine/redo.js';
import { decodePage, encodePage, type PageRecord } from '../../src/format/log-record.js';
import {
  PAGE_HEADER_SIZE, PAGE_SIZES, checkPage, pageDbtime, sealPage, writePageHeader,
} from '../../src/format/page.js';
import { patterned } from '../helpers/bytes.js';
import { expectJetThrow } from '../helpers/jet.js';

const PGNO = 12;

function basePage(pageSize: number, dbtime: number, seed = 1): Buffer {
  const page = Buffer.alloc(pageSize);
  patterned(pageSize - PAGE_HEADER_SIZE, seed).copy(page, PAGE_HEADER_SIZE);
  writePageHeader(page, { pgno: PGNO, dbtime, flags: 0, objid: 3 });
  sealPage(page);
  return page;
}

/** A record changing two body ranges of page PGNO from dbtime 10 to 11. */
function sampleRecord(): PageRecord {
  return {
    dbid: 1,
    pgno: PGNO,
    dbtimeBefore: 10,
    dbtimeAfter: 11,
    ranges: [
      { offset: 100, bytes: Buffer.from('the quick brown fox') },
      { offset: 4000, bytes: patterned(96, 99) },
    ],
  };
}

/** What the page must look like after `rec`: built by hand, not by redoPage. */
function expectedAfter(page: Buffer, rec: PageRecord): Buffer {
  const out = Buffer.from(page);
  for (const r of rec.ranges) r.bytes.copy(out, r.offset);
  out.writeBigUInt64LE(BigInt(rec.dbtimeAfter), 8);
  sealPage(out);
  return out;
}

describe('engine/redo', () => {
  it('applies a record to a page at exactly dbtimeBefore, giving the expected sealed page', () => {
    const page = basePage(8192, 10);
    const rec = sampleRecord();
    const want = expectedAfter(page, rec);
    expect(redoPage(page, rec, 'db.edb')).to.equal('applied');
    expect(page.equals(want)).to.equal(true);
    expect(pageDbtime(page)).to.equal(11);
    expect(checkPage(page, PGNO)).to.deep.equal({ ok: true, initialized: true });
  });

  it('applies a record decoded from its PAGE payload the same way', () => {
    const page = basePage(4096, 10);
    const rec = decodePage(encodePage({ ...sampleRecord(), ranges: [{ offset: 24, bytes: patterned(4096 - 24, 5) }] }));
    const want = expectedAfter(page, rec);
    expect(redoPage(page, rec, 'db.edb')).to.equal('applied');
    expect(page.equals(want)).to.equal(true);
  });

  it('skips a record whose change the page already holds (dbtime at or past dbtimeAfter) and leaves the page alone', () => {
    for (const dbtime of [11, 12, 1_000_000]) {
      const page = basePage(8192, dbtime);
      const before = Buffer.from(page);
      expect(redoPage(page, sampleRecord(), 'db.edb'), `dbtime ${dbtime}`).to.equal('skipped');
      expect(page.equals(before), `dbtime ${dbtime}`).to.equal(true);
    }
  });

  it('is idempotent: redoing the same record twice applies it once', () => {
    const page = basePage(8192, 10);
    const rec = sampleRecord();
    expect(redoPage(page, rec, 'db.edb')).to.equal('applied');
    const once = Buffer.from(page);
    expect(redoPage(page, rec, 'db.edb')).to.equal('skipped');
    expect(page.equals(once)).to.equal(true);
  });

  it('throws JET_errDatabaseCorrupted when the page is older than dbtimeBefore (a change is missing), leaving it untouched', () => {
    const page = basePage(8192, 9);
    const before = Buffer.from(page);
    const e = expectJetThrow(() => redoPage(page, sampleRecord(), 'database db.edb'), 'JET_errDatabaseCorrupted');
    expect(e.message).to.contain('database db.edb');
    expect(e.message).to.contain(`page ${PGNO}`);
    expect(e.message).to.contain('dbtime 9');
    expect(page.equals(before)).to.equal(true);
  });

  it('throws JET_errDatabaseCorrupted when the page dbtime lies strictly between dbtimeBefore and dbtimeAfter', () => {
    const page = basePage(8192, 15);
    const rec: PageRecord = { ...sampleRecord(), dbtimeBefore: 10, dbtimeAfter: 20 };
    const before = Buffer.from(page);
    const e = expectJetThrow(() => redoPage(page, rec, 'db.edb'), 'JET_errDatabaseCorrupted');
    expect(e.message).to.contain('dbtime 15');
    expect(e.message).to.contain('10');
    expect(page.equals(before)).to.equal(true);
  });

  it('applies a record to a never-written (all-zero) page whose dbtimeBefore is 0', () => {
    const page = Buffer.alloc(4096);
    const fresh = Buffer.alloc(4096);
    writePageHeader(fresh, { pgno: PGNO, dbtime: 0, flags: 0, objid: 9 });
    patterned(100, 4).copy(fresh, PAGE_HEADER_SIZE);
    const rec: PageRecord = { dbid: 1, pgno: PGNO, dbtimeBefore: 0, dbtimeAfter: 1, ranges: diffPages(page, fresh, 4).map((r) => ({ offset: r.offset, bytes: fresh.subarray(r.offset, r.offset + r.length) })) };
    expect(redoPage(page, rec, 'db.edb')).to.equal('applied');
    expect(checkPage(page, PGNO)).to.deep.equal({ ok: true, initialized: true });
    expect(page.subarray(PAGE_HEADER_SIZE, PAGE_HEADER_SIZE + 100).equals(patterned(100, 4))).to.equal(true);
  });

  it('throws JET_errLogFileCorrupt for a range that runs past the end of the page', () => {
    const page = basePage(4096, 10);
    const rec: PageRecord = { ...sampleRecord(), ranges: [{ offset: 4090, bytes: Buffer.alloc(7, 1) }] };
    const e = expectJetThrow(() => redoPage(page, rec, 'db.edb'), 'JET_errLogFileCorrupt');
    expect(e.message).to.contain('4090+7');
  });

  it('throws JET_errLogFileCorrupt for a range over the checksum field', () => {
    const page = basePage(4096, 10);
    const rec: PageRecord = { ...sampleRecord(), ranges: [{ offset: 0, bytes: Buffer.alloc(8, 1) }] };
    expectJetThrow(() => redoPage(page, rec, 'db.edb'), 'JET_errLogFileCorrupt');
  });

  it('accepts a range ending exactly at the last byte of the page', () => {
    const page = basePage(4096, 10);
    const rec: PageRecord = { ...sampleRecord(), ranges: [{ offset: 4090, bytes: Buffer.alloc(6, 0xab) }] };
    const want = expectedAfter(page, rec);
    expect(redoPage(page, rec, 'db.edb')).to.equal('applied');
    expect(page.equals(want)).to.equal(true);
  });

  it('reproduces the new page exactly from the diff of old and new (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PAGE_SIZES),
        fc.array(fc.record({ at: fc.nat(), len: fc.integer({ min: 1, max: 64 }), seed: fc.integer({ min: 1, max: 1e9 }) }), { maxLength: 8 }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        (pageSize, edits, dbtime) => {
          const oldPage = basePage(pageSize, dbtime, dbtime);
          const newPage = Buffer.from(oldPage);
          for (const e of edits) {
            const at = PAGE_HEADER_SIZE + (e.at % (pageSize - PAGE_HEADER_SIZE));
            patterned(Math.min(e.len, pageSize - at), e.seed).copy(newPage, at);
          }
          newPage.writeBigUInt64LE(BigInt(dbtime + 1), 8);
          sealPage(newPage);
          const ranges = diffPages(oldPage, newPage, 4).map((r) => ({ offset: r.offset, bytes: newPage.subarray(r.offset, r.offset + r.length) }));
          const rec = decodePage(encodePage({ dbid: 1, pgno: PGNO, dbtimeBefore: dbtime, dbtimeAfter: dbtime + 1, ranges }));
          const page = Buffer.from(oldPage);
          expect(redoPage(page, rec, 'db.edb')).to.equal('applied');
          expect(page.equals(newPage)).to.equal(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});
