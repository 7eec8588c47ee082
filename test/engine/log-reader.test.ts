import { expect } from 'chai';
import fc from 'fast-check';
import { checkLogHeader, parseGeneration } from '../../src/engine/log-reader.js';
import { crc32c } from '../../src/checksum/crc32c.js';
import { LOG_HEADER_BLOCK, encodeLogHeader, type LogHeader } from '../../src/format/log-header.js';
import {
  REC_BEGIN, REC_COMMIT, REC_PAGE, REC_ROLL, REC_TERM, encodeCommit, encodePage, encodeTxid, encodeU32, frameRecordInto,
  recordSize,
} from '../../src/format/log-record.js';
import { copyWithFlippedByte, flipByte, patterned, randomHex, zeroRange } from '../helpers/bytes.js';
import { expectJetThrow } from '../helpers/jet.js';

const SIZE = 64 * 1024;
const GEN = 6;
const PATH = '/logs/edb.log';

interface Rec { type: number; payload: Buffer }

function header(gen = GEN): LogHeader {
  return {
    generation: gen, logFileSize: SIZE, pageSize: 8192, timeCreate: 1_700_000_000_000 + gen, timePrevGen: 1_700_000_000_000 + gen - 1,
    logSignature: randomHex(), attached: [{ dbid: 1, dbSignature: randomHex(), name: 'main.edb' }],
  };
}

/** A generation file in memory: header block, then `recs` framed back to back, zeros after. */
function buildGeneration(recs: Rec[], gen = GEN, size = SIZE): { buf: Buffer; offsets: number[]; end: number } {
  const buf = Buffer.alloc(size);
  encodeLogHeader(header(gen)).copy(buf, 0);
  const offsets: number[] = [];
  let at = LOG_HEADER_BLOCK;
  for (const r of recs) {
    offsets.push(at);
    at = frameRecordInto(buf, at, gen, r.type, r.payload);
  }
  return { buf, offsets, end: at };
}

/** A transaction as the writer lays it out: BEGIN, PAGE, COMMIT. */
function transaction(txid: number, pgno: number): Rec[] {
  return [
    { type: REC_BEGIN, payload: encodeTxid(txid) },
    { type: REC_PAGE, payload: encodePage({ dbid: 1, pgno, dbtimeBefore: txid, dbtimeAfter: txid + 1, ranges: [{ offset: 100, bytes: patterned(200, txid) }] }) },
    { type: REC_COMMIT, payload: encodeCommit(txid, 1_700_000_000_000 + txid) },
  ];
}

const ROLL: Rec = { type: REC_ROLL, payload: encodeU32(GEN + 1) };

/** Offset just past the last nonzero byte at or after `from`, minus `from`: what a torn write left. */
function nonzeroExtent(buf: Buffer, from: number): number {
  let last = buf.length;
  while (last > from && buf[last - 1] === 0) last--;
  return last - from;
}

describe('engine/log-reader', () => {
  describe('parseGeneration', () => {
    it('reads every record of the current generation, in order, and ends after the last', () => {
      const recs = [...transaction(1, 5), ...transaction(2, 6), ...transaction(3, 5)];
      const { buf, offsets, end } = buildGeneration(recs);
      const g = parseGeneration(buf, PATH, true);
      expect(g.header.generation).to.equal(GEN);
      expect(g.records.map((r) => r.off)).to.deep.equal(offsets);
      expect(g.records.map((r) => r.type)).to.deep.equal(recs.map((r) => r.type));
      g.records.forEach((r, i) => {
        expect(r.payload.equals(recs[i].payload), `record ${i}`).to.equal(true);
        expect(r.next, `record ${i}`).to.equal(i + 1 < offsets.length ? offsets[i + 1] : end);
      });
      expect(g.end).to.equal(end);
      expect(g.finished).to.equal(false);
      expect(g.tornBytes).to.equal(0);
    });

    it('reads an empty current generation as no records ending right after the header', () => {
      const { buf } = buildGeneration([]);
      const g = parseGeneration(buf, PATH, true);
      expect(g.records).to.deep.equal([]);
      expect(g.end).to.equal(LOG_HEADER_BLOCK);
      expect(g.finished).to.equal(false);
      expect(g.tornBytes).to.equal(0);
    });

    it('reads a current generation whose records fill the file to its last byte', () => {
      const size = LOG_HEADER_BLOCK + 2 * recordSize(100);
      const { buf, end } = buildGeneration([{ type: REC_BEGIN, payload: patterned(100, 1) }, { type: REC_BEGIN, payload: patterned(100, 2) }], GEN, size);
      expect(end).to.equal(size);
      const g = parseGeneration(buf, PATH, true);
      expect(g.records).to.have.lengthOf(2);
      expect(g.end).to.equal(size);
      expect(g.finished).to.equal(false);
    });

    it('treats a generation ending with ROLL as finished, whether current or archived', () => {
      const { buf, end } = buildGeneration([...transaction(1, 5), ROLL]);
      for (const isCurrent of [true, false]) {
        const g = parseGeneration(buf, PATH, isCurrent);
        expect(g.finished).to.equal(true);
        expect(g.end).to.equal(end);
        expect(g.records).to.have.lengthOf(4);
        expect(g.records[3].type).to.equal(REC_ROLL);
        expect(g.tornBytes).to.equal(0);
      }
    });

    it('stops at the ROLL record and does not look at the bytes after it', () => {
      const { buf, end } = buildGeneration([...transaction(1, 5), ROLL, ...transaction(2, 5)]);
      buf.fill(0xcc, buf.length - 100); // garbage far after: never read
      const g = parseGeneration(buf, PATH, false);
      expect(g.finished).to.equal(true);
      expect(g.records).to.have.lengthOf(4);
      expect(g.end).to.be.below(end);
    });

    it('ends the current generation cleanly at a torn last record whose final bytes are corrupt', () => {
      const recs = [...transaction(1, 5), ...transaction(2, 6)];
      const { buf, offsets } = buildGeneration(recs);
      const last = offsets[offsets.length - 1];
      const lastEnd = last + 12 + recs[recs.length - 1].payload.length;
      flipByte(buf, lastEnd - 1);
      flipByte(buf, lastEnd - 2);
      const g = parseGeneration(buf, PATH, true);
      expect(g.records).to.have.lengthOf(recs.length - 1);
      expect(g.end).to.equal(last);
      expect(g.finished).to.equal(false);
      expect(g.tornBytes).to.be.above(0);
      expect(g.tornBytes).to.equal(nonzeroExtent(buf, last));
    });

    it('ends the current generation cleanly at a last record whose payload tail never reached the disk', () => {
      const recs = [...transaction(1, 5), { type: REC_PAGE, payload: encodePage({ dbid: 1, pgno: 9, dbtimeBefore: 3, dbtimeAfter: 4, ranges: [{ offset: 24, bytes: patterned(3000, 8) }] }) }];
      const { buf, offsets, end } = buildGeneration(recs);
      const last = offsets[offsets.length - 1];
      zeroRange(buf, last + 512, end); // only the first sector of the record was written
      const g = parseGeneration(buf, PATH, true);
      expect(g.records.map((r) => r.off)).to.deep.equal(offsets.slice(0, -1));
      expect(g.end).to.equal(last);
      expect(g.tornBytes).to.equal(nonzeroExtent(buf, last));
      expect(g.tornBytes).to.be.above(0);
      expect(g.tornBytes).to.be.at.most(512);
    });

    it('ends the current generation cleanly at a record whose header alone was half written', () => {
      const recs = transaction(1, 5);
      const { buf, offsets, end } = buildGeneration(recs);
      const last = offsets[offsets.length - 1];
      zeroRange(buf, last + 4, end); // only the CRC field landed
      const g = parseGeneration(buf, PATH, true);
      expect(g.end).to.equal(last);
      expect(g.records).to.have.lengthOf(2);
      expect(g.tornBytes).to.equal(nonzeroExtent(buf, last));
    });

    it('ends the current generation cleanly at a torn record whose length field is garbage', () => {
      const recs = transaction(1, 5);
      const { buf, offsets } = buildGeneration(recs);
      const last = offsets[offsets.length - 1];
      buf.writeUInt32LE(0x00ffffff, last + 4);
      const g = parseGeneration(buf, PATH, true);
      expect(g.end).to.equal(last);
      expect(g.records).to.have.lengthOf(2);
      expect(g.tornBytes).to.be.above(0);
    });

    it('does not count leftover records of another generation after the end as valid', () => {
      const { buf, end } = buildGeneration(transaction(1, 5));
      // Stale records, framed for the previous generation, right after the live ones.
      let at = end;
      for (const r of [...transaction(7, 5), ...transaction(8, 6)]) at = frameRecordInto(buf, at, GEN - 1, r.type, r.payload);
      const g = parseGeneration(buf, PATH, true);
      expect(g.records).to.have.lengthOf(3);
      expect(g.end).to.equal(end);
      expect(g.finished).to.equal(false);
    });

    it('throws JET_errLogReadVerifyFailure naming the offset for a corrupt record followed by a valid one', () => {
      const recs = [...transaction(1, 5), ...transaction(2, 6)];
      const { buf, offsets } = buildGeneration(recs);
      const bad = offsets[2]; // COMMIT of the first transaction; the second follows intact
      flipByte(buf, bad + 12 + 3, 0x04);
      for (const isCurrent of [true, false]) {
        const e = expectJetThrow(() => parseGeneration(buf, PATH, isCurrent), 'JET_errLogReadVerifyFailure');
        expect(e.message).to.contain(PATH);
        expect(e.message).to.contain(`offset ${bad}`);
        expect(e.message).to.contain(`offset ${offsets[3]}`);
      }
    });

    it('throws JET_errLogReadVerifyFailure for a zeroed hole followed by a valid record', () => {
      const recs = [...transaction(1, 5), ...transaction(2, 6)];
      const { buf, offsets } = buildGeneration(recs);
      zeroRange(buf, offsets[1], offsets[2]); // the PAGE record vanished, the rest is there
      const e = expectJetThrow(() => parseGeneration(buf, PATH, true), 'JET_errLogReadVerifyFailure');
      expect(e.message).to.contain(`offset ${offsets[1]}`);
    });

    it('throws JET_errLogReadVerifyFailure for an archived generation that does not end with ROLL', () => {
      const { buf, end } = buildGeneration(transaction(1, 5));
      const e = expectJetThrow(() => parseGeneration(buf, '/logs/edb00000006.log', false), 'JET_errLogReadVerifyFailure');
      expect(e.message).to.contain('edb00000006.log');
      expect(e.message).to.contain(`offset ${end}`);
    });

    it('throws JET_errLogReadVerifyFailure for an archived generation whose ROLL record is torn', () => {
      const { buf, offsets } = buildGeneration([...transaction(1, 5), ROLL]);
      flipByte(buf, offsets[3] + 12, 0x01);
      const e = expectJetThrow(() => parseGeneration(buf, PATH, false), 'JET_errLogReadVerifyFailure');
      expect(e.message).to.contain(`offset ${offsets[3]}`);
      // The same bytes as the current generation are a clean end before the torn ROLL.
      const g = parseGeneration(buf, PATH, true);
      expect(g.end).to.equal(offsets[3]);
      expect(g.finished).to.equal(false);
    });

    it('does not take a ROLL record framed for the previous generation as the end of this one', () => {
      const { buf, end } = buildGeneration(transaction(1, 5));
      frameRecordInto(buf, end, GEN - 1, REC_ROLL, encodeU32(GEN));
      expectJetThrow(() => parseGeneration(buf, PATH, false), 'JET_errLogReadVerifyFailure');
    });

    it('throws JET_errLogFileCorrupt for a corrupt header', () => {
      const { buf } = buildGeneration(transaction(1, 5));
      for (const at of [0, 12, 60, LOG_HEADER_BLOCK - 1]) {
        const e = expectJetThrow(() => parseGeneration(copyWithFlippedByte(buf, at), PATH, true), 'JET_errLogFileCorrupt');
        expect(e.message, `byte ${at}`).to.contain(PATH);
      }
    });

    it('throws JET_errLogFileCorrupt for a file that is not a log or is shorter than a header', () => {
      expectJetThrow(() => parseGeneration(Buffer.alloc(SIZE), PATH, true), 'JET_errLogFileCorrupt');
      const { buf } = buildGeneration([]);
      expectJetThrow(() => parseGeneration(buf.subarray(0, 100), PATH, true), 'JET_errLogFileCorrupt');
    });

    it('throws JET_errBadLogVersion for a header of another format version', () => {
      const { buf } = buildGeneration(transaction(1, 5));
      buf.writeUInt32LE(2, 8);
      buf.writeUInt32LE(crc32c(buf.subarray(4, LOG_HEADER_BLOCK)), 0);
      const e = expectJetThrow(() => parseGeneration(buf, PATH, true), 'JET_errBadLogVersion');
      expect(e.message).to.contain('version 2');
      expect(e.message).to.contain(PATH);
    });

    it('reads back any sequence of records, ending at the torn tail when the last one is damaged (property)', () => {
      const rec = fc.record({
        type: fc.constantFrom(REC_BEGIN, REC_PAGE, REC_COMMIT, REC_TERM),
        payload: fc.uint8Array({ minLength: 1, maxLength: 400 }).map((b) => Buffer.from(b)),
      });
      fc.assert(
        fc.property(fc.array(rec, { minLength: 1, maxLength: 30 }), fc.nat(), (recs, pick) => {
          const { buf, offsets, end } = buildGeneration(recs);
          const clean = parseGeneration(buf, PATH, true);
          expect(clean.records.map((r) => r.off)).to.deep.equal(offsets);
          expect(clean.end).to.equal(end);
          // Damage one payload byte of the last record: a torn tail.
          const last = recs.length - 1;
          const at = offsets[last] + 12 + (pick % recs[last].payload.length);
          const torn = copyWithFlippedByte(buf, at, 0x80);
          const g = parseGeneration(torn, PATH, true);
          expect(g.records.map((r) => r.off)).to.deep.equal(offsets.slice(0, -1));
          expect(g.end).to.equal(offsets[last]);
          expect(g.tornBytes).to.be.above(0);
        }),
        { numRuns: 100 },
      );
    });
  });

  describe('checkLogHeader', () => {
    it('returns the decoded header of a good block', () => {
      const h = header(9);
      expect(checkLogHeader(encodeLogHeader(h), PATH)).to.deep.equal(h);
    });
  });
});
