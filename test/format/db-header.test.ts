import { expect } from 'chai';
import fc from 'fast-check';
import { crc32c } from '../../src/checksum/crc32c.js';
import {
  BKINFO_NONE, BKINFO_SIZE, DB_FORMAT_VERSION, DB_HEADER_SIZE, DB_MAGIC, DB_STATE_CLEAN_SHUTDOWN,
  DB_STATE_DIRTY_SHUTDOWN, DB_STATE_JUST_CREATED, chooseDbHeader, decodeDbHeader, encodeDbHeader, type DbHeader,
} from '../../src/format/db-header.js';
import { PAGE_SIZES } from '../../src/format/page.js';
import { copyWithFlippedByte, copyWithZeroed, randomHex } from '../helpers/bytes.js';

/** A header whose every field holds a distinct, non-default value. */
function sampleHeader(over: Partial<DbHeader> = {}): DbHeader {
  return {
    pageSize: 8192,
    seq: 0x1_0000_0003,
    dbtime: 0x2_0000_0011,
    dbSignature: '00112233445566778899aabbccddeeff',
    logSignature: 'fedcba98765432100123456789abcdef',
    state: DB_STATE_DIRTY_SHUTDOWN,
    pageCount: 1234,
    lgposConsistent: { gen: 17, off: 4096 + 88 },
    timeConsistent: 1_700_000_000_123.5,
    lgposAttach: { gen: 3, off: 4096 },
    timeAttach: 1_600_000_000_000.25,
    bkinfoFullPrev: { lgposMark: { gen: 9, off: 5000 }, timeMark: 1_650_000_000_000, genLow: 4, genHigh: 9 },
    bkinfoIncPrev: { lgposMark: { gen: 12, off: 6000 }, timeMark: 1_660_000_000_000, genLow: 10, genHigh: 12 },
    bkinfoFullCur: { lgposMark: { gen: 15, off: 7000 }, timeMark: 1_670_000_000_000, genLow: 13, genHigh: 15 },
    genMinRequired: 16,
    timeCreate: 1_500_000_000_000.75,
    ...over,
  };
}

function decodeOk(buf: Buffer): DbHeader {
  const d = decodeDbHeader(buf);
  if (!d.ok) expect.fail(`expected a valid header, got: ${d.reason}`);
  return d.header;
}

/** Rewrite the CRC after a deliberate field change, so only that change is seen. */
function reseal(buf: Buffer): Buffer {
  buf.writeUInt32LE(crc32c(buf.subarray(4, DB_HEADER_SIZE)), 0);
  return buf;
}

describe('format/db-header', () => {
  it('round-trips every field, including backup info, signatures and log positions', () => {
    const h = sampleHeader();
    const page = encodeDbHeader(h);
    expect(page.length).to.equal(h.pageSize);
    expect(decodeOk(page)).to.deep.equal(h);
  });

  it('round-trips each state and the "none" backup info', () => {
    for (const state of [DB_STATE_JUST_CREATED, DB_STATE_DIRTY_SHUTDOWN, DB_STATE_CLEAN_SHUTDOWN] as const) {
      const h = sampleHeader({ state, bkinfoFullPrev: BKINFO_NONE, bkinfoIncPrev: BKINFO_NONE, bkinfoFullCur: BKINFO_NONE });
      expect(decodeOk(encodeDbHeader(h))).to.deep.equal(h);
    }
  });

  it('round-trips random headers for every page size (property)', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const lgpos = fc.record({ gen: u32, off: u32 });
    const time = fc.double({ noNaN: true });
    const bk = fc.record({ lgposMark: lgpos, timeMark: time, genLow: u32, genHigh: u32 });
    const sig = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
    const header = fc.record({
      pageSize: fc.constantFrom(...PAGE_SIZES),
      seq: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      dbtime: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      dbSignature: sig,
      logSignature: sig,
      state: fc.constantFrom(DB_STATE_JUST_CREATED, DB_STATE_DIRTY_SHUTDOWN, DB_STATE_CLEAN_SHUTDOWN),
      pageCount: u32,
      lgposConsistent: lgpos,
      timeConsistent: time,
      lgposAttach: lgpos,
      timeAttach: time,
      bkinfoFullPrev: bk,
      bkinfoIncPrev: bk,
      bkinfoFullCur: bk,
      genMinRequired: u32,
      timeCreate: time,
    });
    fc.assert(fc.property(header, (h) => {
      expect(decodeOk(encodeDbHeader(h as DbHeader))).to.deep.equal(h);
    }), { numRuns: 200 });
  });

  it('lays the fields out as documented', () => {
    const h = sampleHeader();
    const b = encodeDbHeader(h);
    expect(b.readUInt32LE(0)).to.equal(crc32c(b.subarray(4, DB_HEADER_SIZE)));
    expect(b.readUInt32LE(4)).to.equal(DB_MAGIC);
    expect(b.toString('latin1', 4, 8)).to.equal('EEDB');
    expect(b.readUInt32LE(8)).to.equal(DB_FORMAT_VERSION);
    expect(b.readUInt32LE(12)).to.equal(h.pageSize);
    expect(Number(b.readBigUInt64LE(16))).to.equal(h.seq);
    expect(Number(b.readBigUInt64LE(24))).to.equal(h.dbtime);
    expect(b.toString('hex', 32, 48)).to.equal(h.dbSignature);
    expect(b.toString('hex', 48, 64)).to.equal(h.logSignature);
    expect(b.readUInt32LE(64)).to.equal(h.state);
    expect(b.readUInt32LE(68)).to.equal(h.pageCount);
    expect(b.readUInt32LE(72)).to.equal(h.lgposConsistent.gen);
    expect(b.readUInt32LE(76)).to.equal(h.lgposConsistent.off);
    expect(b.readUInt32LE(104)).to.equal(h.bkinfoFullPrev.lgposMark.gen);
    expect(b.readUInt32LE(104 + BKINFO_SIZE + 16)).to.equal(h.bkinfoIncPrev.genLow);
    expect(b.readUInt32LE(152 + 20)).to.equal(h.bkinfoFullCur.genHigh);
    expect(b.readUInt32LE(176)).to.equal(h.genMinRequired);
    expect(b.readUInt32LE(180)).to.equal(0);
    expect(b.readDoubleLE(184)).to.equal(h.timeCreate);
    expect(b.subarray(DB_HEADER_SIZE).every((x) => x === 0)).to.equal(true);
  });

  it('reports a checksum mismatch for a flipped byte anywhere in the checksummed header', () => {
    const page = encodeDbHeader(sampleHeader());
    // Byte 4..7 is the magic, which is checked (and reported) before the checksum.
    for (const at of [0, 3, 8, 16, 32, 63, 64, 100, 150, 180, DB_HEADER_SIZE - 1]) {
      const d = decodeDbHeader(copyWithFlippedByte(page, at));
      expect(d.ok, `byte ${at}`).to.equal(false);
      if (!d.ok) expect(d.reason, `byte ${at}`).to.match(/checksum/);
    }
  });

  it('ignores the zero padding after the header, which the checksum does not cover', () => {
    const page = encodeDbHeader(sampleHeader());
    expect(decodeOk(copyWithFlippedByte(page, DB_HEADER_SIZE))).to.deep.equal(sampleHeader());
  });

  it('says a buffer with the wrong magic is not a database file', () => {
    const page = encodeDbHeader(sampleHeader());
    const d = decodeDbHeader(copyWithFlippedByte(page, 5));
    expect(d.ok).to.equal(false);
    if (!d.ok) expect(d.reason).to.match(/not a database file/);
    const zeros = decodeDbHeader(Buffer.alloc(8192));
    expect(zeros.ok).to.equal(false);
    if (!zeros.ok) expect(zeros.reason).to.match(/not a database file/);
  });

  it('rejects a buffer too short to hold a header', () => {
    const d = decodeDbHeader(encodeDbHeader(sampleHeader()).subarray(0, DB_HEADER_SIZE - 1));
    expect(d.ok).to.equal(false);
    if (!d.ok) expect(d.reason).to.match(/too short/);
  });

  it('rejects an unsupported format version even when the checksum is right', () => {
    const page = encodeDbHeader(sampleHeader());
    page.writeUInt32LE(DB_FORMAT_VERSION + 1, 8);
    const d = decodeDbHeader(reseal(page));
    expect(d.ok).to.equal(false);
    if (!d.ok) expect(d.reason).to.contain(`version ${DB_FORMAT_VERSION + 1}`);
  });

  it('rejects an unknown state even when the checksum is right', () => {
    for (const state of [0, 4, 0xffffffff]) {
      const page = encodeDbHeader(sampleHeader());
      page.writeUInt32LE(state, 64);
      const d = decodeDbHeader(reseal(page));
      expect(d.ok, `state ${state}`).to.equal(false);
      if (!d.ok) expect(d.reason).to.contain(`state ${state}`);
    }
  });

  describe('chooseDbHeader', () => {
    const older = sampleHeader({ seq: 41, dbtime: 100, dbSignature: randomHex() });
    const newer = { ...older, seq: 42, dbtime: 200 };

    it('takes the copy with the higher seq when both are valid, whichever page holds it', () => {
      const a = chooseDbHeader(encodeDbHeader(newer), encodeDbHeader(older));
      const b = chooseDbHeader(encodeDbHeader(older), encodeDbHeader(newer));
      for (const d of [a, b]) {
        expect(d.ok).to.equal(true);
        if (d.ok) expect(d.header).to.deep.equal(newer);
      }
    });

    it('takes the valid copy when the other is torn (its second half zeroed)', () => {
      const torn = copyWithZeroed(encodeDbHeader(newer), DB_HEADER_SIZE / 2, DB_HEADER_SIZE);
      const a = chooseDbHeader(torn, encodeDbHeader(older));
      const b = chooseDbHeader(encodeDbHeader(older), torn);
      for (const d of [a, b]) {
        expect(d.ok).to.equal(true);
        if (d.ok) expect(d.header).to.deep.equal(older);
      }
    });

    it('takes the valid copy when the other is torn (its first half zeroed)', () => {
      const torn = copyWithZeroed(encodeDbHeader(newer), 0, DB_HEADER_SIZE / 2);
      const d = chooseDbHeader(encodeDbHeader(older), torn);
      expect(d.ok).to.equal(true);
      if (d.ok) expect(d.header).to.deep.equal(older);
    });

    it('fails naming both reasons when neither copy is valid', () => {
      const badCrc = copyWithFlippedByte(encodeDbHeader(newer), 30);
      const badMagic = copyWithFlippedByte(encodeDbHeader(older), 4);
      const d = chooseDbHeader(badCrc, badMagic);
      expect(d.ok).to.equal(false);
      if (d.ok) return;
      expect(d.reason).to.match(/page 0: header checksum mismatch/);
      expect(d.reason).to.match(/page 1 \(shadow\): bad magic \(not a database file\)/);
    });
  });
});
