import { expect } from 'chai';
import fc from 'fast-check';
import { crc32c } from '../../src/checksum/crc32c.js';
import {
  ATTACH_CREATE, PAGE_FIXED, RANGE_FIXED, RECORD_ALIGN, RECORD_HEADER_SIZE, REC_ATTACH, REC_BEGIN, REC_COMMIT,
  REC_PAGE, REC_ROLL, REC_TERM, ROLL_RECORD_SIZE, decodeAttach, decodePage, decodeTxid, encodeAttach, encodeCommit,
  encodePage, encodeTxid, encodeU16, encodeU32, frameRecordInto, parseRecord, recordSize, type PageRecord,
  type ParsedRecord,
} from '../../src/format/log-record.js';
import { copyWithFlippedByte, patterned, randomHex } from '../helpers/bytes.js';

const GEN = 5;

function frame(type: number, payload: Uint8Array, gen = GEN, at = 0, size = 64 * 1024): { buf: Buffer; next: number } {
  const buf = Buffer.alloc(size);
  const next = frameRecordInto(buf, at, gen, type, payload);
  return { buf, next };
}

function expectRecord(r: ParsedRecord): Extract<ParsedRecord, { kind: 'record' }> {
  if (r.kind !== 'record') expect.fail(`expected a record, got ${JSON.stringify(r)}`);
  return r;
}

function expectBad(r: ParsedRecord, reason?: RegExp): void {
  expect(r.kind, JSON.stringify(r)).to.equal('bad');
  if (r.kind === 'bad' && reason) expect(r.reason).to.match(reason);
}

describe('format/log-record', () => {
  describe('framing', () => {
    const samples: Array<[string, number, Buffer]> = [
      ['BEGIN', REC_BEGIN, encodeTxid(0x1234_5678_9a)],
      ['PAGE', REC_PAGE, encodePage({ dbid: 1, pgno: 9, dbtimeBefore: 10, dbtimeAfter: 11, ranges: [{ offset: 24, bytes: Buffer.from('hello') }] })],
      ['COMMIT', REC_COMMIT, encodeCommit(77, 1_700_000_000_000.5)],
      ['ATTACH', REC_ATTACH, encodeAttach({ dbid: 2, create: true, pageSize: 8192, dbSignature: randomHex(), name: 'a.edb' })],
      ['ROLL', REC_ROLL, encodeU32(6)],
      ['TERM', REC_TERM, Buffer.alloc(0)],
    ];
    for (const [name, type, payload] of samples) {
      it(`parses back a framed ${name} record with its type, payload and padded end`, () => {
        const at = 4096 + 8 * 3;
        const { buf, next } = frame(type, payload, GEN, at);
        expect(next).to.equal(at + recordSize(payload.length));
        const r = expectRecord(parseRecord(buf, at, GEN));
        expect(r.type).to.equal(type);
        expect(r.payload.equals(payload)).to.equal(true);
        expect(r.next).to.equal(next);
      });
    }

    it('pads every record to a multiple of 8 bytes and zeroes the padding', () => {
      for (let len = 0; len <= 40; len++) {
        const buf = Buffer.alloc(256, 0xee);
        const next = frameRecordInto(buf, 16, GEN, REC_BEGIN, patterned(len, len + 1));
        expect((next - 16) % RECORD_ALIGN, `payload ${len}`).to.equal(0);
        expect(next - 16, `payload ${len}`).to.equal(recordSize(len));
        expect(next - 16, `payload ${len}`).to.be.at.least(RECORD_HEADER_SIZE + len);
        expect(next - 16 - (RECORD_HEADER_SIZE + len), `payload ${len}`).to.be.below(RECORD_ALIGN);
        expect(buf.subarray(16 + RECORD_HEADER_SIZE + len, next).every((b) => b === 0), `padding of payload ${len}`).to.equal(true);
        expect(buf[next], 'the byte after the record is untouched').to.equal(0xee);
        expect(parseRecord(buf, 16, GEN).kind).to.equal('record');
      }
      expect(ROLL_RECORD_SIZE).to.equal(16);
    });

    it('stores the documented header: CRC seeded with the generation, length, type, zero reserved bytes', () => {
      const payload = Buffer.from('abc');
      const { buf } = frame(REC_COMMIT, payload, 0x01020304);
      const seed = crc32c(Buffer.from([4, 3, 2, 1]));
      expect(buf.readUInt32LE(0)).to.equal(crc32c(buf.subarray(4, RECORD_HEADER_SIZE + 3), seed));
      expect(buf.readUInt32LE(4)).to.equal(3);
      expect(buf[8]).to.equal(REC_COMMIT);
      expect(buf.subarray(9, 12).every((b) => b === 0)).to.equal(true);
    });

    it('does not parse a record framed for generation 5 in generation 6', () => {
      const { buf } = frame(REC_BEGIN, encodeTxid(1), 5);
      expectRecord(parseRecord(buf, 0, 5));
      expectBad(parseRecord(buf, 0, 6), /checksum/);
      expectBad(parseRecord(buf, 0, 4), /checksum/);
    });

    it('parses zero bytes as blank', () => {
      expect(parseRecord(Buffer.alloc(4096), 0, GEN)).to.deep.equal({ kind: 'blank' });
      expect(parseRecord(Buffer.alloc(4096), 2048, GEN)).to.deep.equal({ kind: 'blank' });
    });

    it('reports a flipped payload byte as bad', () => {
      const payload = patterned(100, 3);
      const { buf } = frame(REC_PAGE, payload);
      for (const at of [RECORD_HEADER_SIZE, RECORD_HEADER_SIZE + 50, RECORD_HEADER_SIZE + 99]) {
        expectBad(parseRecord(copyWithFlippedByte(buf, at, 0x10), 0, GEN), /checksum/);
      }
    });

    it('reports a flipped CRC or length byte as bad', () => {
      const { buf } = frame(REC_COMMIT, encodeCommit(1, 2));
      expectBad(parseRecord(copyWithFlippedByte(buf, 0, 1), 0, GEN), /checksum/);
      expectBad(parseRecord(copyWithFlippedByte(buf, 4, 1), 0, GEN));
    });

    it('reports a type word with an unknown type or nonzero reserved bytes as bad', () => {
      const { buf } = frame(REC_TERM, Buffer.alloc(0));
      const b = Buffer.from(buf);
      b[8] = 0;
      expectBad(parseRecord(b, 0, GEN), /type/);
      b[8] = REC_TERM + 1;
      expectBad(parseRecord(b, 0, GEN), /type/);
      const c = Buffer.from(buf);
      c[10] = 1;
      expectBad(parseRecord(c, 0, GEN), /type/);
    });

    it('reports a length running past the buffer as bad', () => {
      const payload = patterned(64, 9);
      const full = frame(REC_PAGE, payload).buf;
      // The same record cut short: the file ends inside its payload.
      expectBad(parseRecord(full.subarray(0, RECORD_HEADER_SIZE + 63), 0, GEN), /runs past the end/);
      // A length field claiming far more than there is.
      const b = Buffer.from(full.subarray(0, 256));
      b.writeUInt32LE(0x7fff_ffff, 4);
      expectBad(parseRecord(b, 0, GEN), /runs past the end/);
    });

    it('reports a record header running past the end of the buffer as bad', () => {
      const { buf } = frame(REC_TERM, Buffer.alloc(0));
      expectBad(parseRecord(buf.subarray(0, RECORD_HEADER_SIZE - 1), 0, GEN), /runs past the end/);
      expectBad(parseRecord(Buffer.alloc(16), 8, GEN), /runs past the end/);
    });

    it('parses random payloads framed back to back into the same sequence (property)', () => {
      const rec = fc.record({
        type: fc.integer({ min: REC_BEGIN, max: REC_TERM }),
        payload: fc.uint8Array({ maxLength: 300 }),
      });
      fc.assert(
        fc.property(fc.array(rec, { maxLength: 40 }), fc.integer({ min: 1, max: 0xffffffff }), (recs, gen) => {
          const buf = Buffer.alloc(4096 + recs.reduce((n, r) => n + recordSize(r.payload.length), 0) + 64);
          let at = 4096;
          const offsets: number[] = [];
          for (const r of recs) {
            offsets.push(at);
            at = frameRecordInto(buf, at, gen, r.type, r.payload);
          }
          let p = 4096;
          for (let i = 0; i < recs.length; i++) {
            expect(p).to.equal(offsets[i]);
            const got = expectRecord(parseRecord(buf, p, gen));
            expect(got.type).to.equal(recs[i].type);
            expect(Buffer.from(recs[i].payload).equals(got.payload)).to.equal(true);
            p = got.next;
          }
          expect(p).to.equal(at);
          expect(parseRecord(buf, p, gen).kind).to.equal('blank');
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('payload codecs', () => {
    it('round-trips a PAGE payload with several ranges', () => {
      const rec: PageRecord = {
        dbid: 3,
        pgno: 0xfffffff0,
        dbtimeBefore: 2 ** 40 + 1,
        dbtimeAfter: 2 ** 40 + 2,
        ranges: [
          { offset: 4, bytes: Buffer.from([1]) },
          { offset: 100, bytes: patterned(300, 4) },
          { offset: 8000, bytes: patterned(192, 5) },
        ],
      };
      const payload = encodePage(rec);
      expect(payload.length).to.equal(PAGE_FIXED + 3 * RANGE_FIXED + 1 + 300 + 192);
      const back = decodePage(payload);
      expect(back.dbid).to.equal(rec.dbid);
      expect(back.pgno).to.equal(rec.pgno);
      expect(back.dbtimeBefore).to.equal(rec.dbtimeBefore);
      expect(back.dbtimeAfter).to.equal(rec.dbtimeAfter);
      expect(back.ranges.map((r) => r.offset)).to.deep.equal([4, 100, 8000]);
      back.ranges.forEach((r, i) => expect(r.bytes.equals(rec.ranges[i].bytes), `range ${i}`).to.equal(true));
    });

    it('round-trips a PAGE payload whose one range is a whole 32768-byte page', () => {
      const whole = patterned(32768, 11);
      const rec: PageRecord = { dbid: 1, pgno: 5, dbtimeBefore: 0, dbtimeAfter: 1, ranges: [{ offset: 0, bytes: whole }] };
      const back = decodePage(encodePage(rec));
      expect(back.ranges).to.have.lengthOf(1);
      expect(back.ranges[0].offset).to.equal(0);
      expect(back.ranges[0].bytes.length).to.equal(32768);
      expect(back.ranges[0].bytes.equals(whole)).to.equal(true);
    });

    it('round-trips a PAGE payload with no ranges', () => {
      const rec: PageRecord = { dbid: 1, pgno: 5, dbtimeBefore: 6, dbtimeAfter: 7, ranges: [] };
      expect(decodePage(encodePage(rec))).to.deep.equal(rec);
    });

    it('round-trips a PAGE payload framed as a record', () => {
      const rec: PageRecord = { dbid: 4, pgno: 12, dbtimeBefore: 99, dbtimeAfter: 100, ranges: [{ offset: 30, bytes: patterned(50, 6) }] };
      const { buf } = frame(REC_PAGE, encodePage(rec));
      const back = decodePage(expectRecord(parseRecord(buf, 0, GEN)).payload);
      expect(back.pgno).to.equal(12);
      expect(back.ranges[0].bytes.equals(rec.ranges[0].bytes)).to.equal(true);
    });

    it('rejects a PAGE payload whose ranges do not add up to its length', () => {
      const payload = encodePage({ dbid: 1, pgno: 2, dbtimeBefore: 3, dbtimeAfter: 4, ranges: [{ offset: 24, bytes: patterned(10) }] });
      expect(() => decodePage(payload.subarray(0, payload.length - 1))).to.throw(RangeError);
      expect(() => decodePage(Buffer.concat([payload, Buffer.alloc(1)]))).to.throw(RangeError);
    });

    it('round-trips ATTACH payloads with and without the create flag and a non-ASCII name', () => {
      for (const create of [true, false]) {
        const a = { dbid: 7, create, pageSize: 32768, dbSignature: randomHex(), name: 'base/ünïcødé-データ.edb' };
        const p = encodeAttach(a);
        expect(decodeAttach(p)).to.deep.equal(a);
        expect(p.readUInt16LE(2) & ATTACH_CREATE).to.equal(create ? ATTACH_CREATE : 0);
      }
    });

    it('encodes COMMIT as the txid then the time, and BEGIN as the txid', () => {
      const c = encodeCommit(2 ** 50 + 3, 1_712_345_678_901.25);
      expect(c.length).to.equal(16);
      expect(decodeTxid(c)).to.equal(2 ** 50 + 3);
      expect(c.readDoubleLE(8)).to.equal(1_712_345_678_901.25);
      expect(decodeTxid(encodeTxid(42))).to.equal(42);
    });

    it('encodes u16 and u32 little-endian', () => {
      expect([...encodeU16(0x1234)]).to.deep.equal([0x34, 0x12]);
      expect([...encodeU32(0x12345678)]).to.deep.equal([0x78, 0x56, 0x34, 0x12]);
    });
  });
});
