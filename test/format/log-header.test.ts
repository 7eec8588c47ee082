import { expect } from 'chai';
import fc from 'fast-check';
import { crc32c } from '../../src/checksum/crc32c.js';
import {
  LOG_FORMAT_VERSION, LOG_HEADER_BLOCK, LOG_MAGIC, decodeLogHeader, encodeLogHeader, type LogHeader,
} from '../../src/format/log-header.js';
import { copyWithFlippedByte, copyWithZeroed, randomHex } from '../helpers/bytes.js';

function sampleHeader(over: Partial<LogHeader> = {}): LogHeader {
  return {
    generation: 0x123ab,
    logFileSize: 1 << 20,
    pageSize: 8192,
    timeCreate: 1_700_000_000_001.5,
    timePrevGen: 1_700_000_000_000.25,
    logSignature: '0123456789abcdef0011223344556677',
    attached: [
      { dbid: 1, dbSignature: randomHex(), name: 'main.edb' },
      { dbid: 2, dbSignature: randomHex(), name: 'données/日本語-🗄.edb' },
      { dbid: 65535, dbSignature: randomHex(), name: '' },
    ],
    ...over,
  };
}

function decodeOk(buf: Buffer): LogHeader {
  const d = decodeLogHeader(buf);
  if (!d.ok) expect.fail(`expected a valid log header, got: ${d.reason}`);
  return d.header;
}

describe('format/log-header', () => {
  it('round-trips every field with several attached databases, one with a non-ASCII name', () => {
    const h = sampleHeader();
    const block = encodeLogHeader(h);
    expect(block.length).to.equal(LOG_HEADER_BLOCK);
    expect(decodeOk(block)).to.deep.equal(h);
  });

  it('round-trips a header with no attached databases', () => {
    const h = sampleHeader({ attached: [], timePrevGen: 0, generation: 1 });
    expect(decodeOk(encodeLogHeader(h))).to.deep.equal(h);
  });

  it('decodes the header block at the front of a whole log file', () => {
    const h = sampleHeader();
    const file = Buffer.alloc(64 * 1024);
    encodeLogHeader(h).copy(file, 0);
    file.fill(0xa5, LOG_HEADER_BLOCK); // records after the block are not the header's business
    expect(decodeOk(file)).to.deep.equal(h);
  });

  it('round-trips random headers (property)', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const sig = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
    const entry = fc.record({ dbid: fc.integer({ min: 0, max: 0xffff }), dbSignature: sig, name: fc.string({ maxLength: 40, unit: 'grapheme' }) });
    const header = fc.record({
      generation: u32,
      logFileSize: u32,
      pageSize: u32,
      timeCreate: fc.double({ noNaN: true }),
      timePrevGen: fc.double({ noNaN: true }),
      logSignature: sig,
      attached: fc.array(entry, { maxLength: 12 }),
    });
    fc.assert(fc.property(header, (h) => {
      const tableBytes = h.attached.reduce((n, a) => n + 20 + Buffer.byteLength(a.name, 'utf8'), 0);
      fc.pre(58 + tableBytes <= LOG_HEADER_BLOCK); // larger tables are refused, tested below
      expect(decodeOk(encodeLogHeader(h))).to.deep.equal(h);
    }), { numRuns: 200 });
  });

  it('lays out magic, version and generation as documented', () => {
    const h = sampleHeader();
    const b = encodeLogHeader(h);
    expect(b.readUInt32LE(0)).to.equal(crc32c(b.subarray(4, LOG_HEADER_BLOCK)));
    expect(b.readUInt32LE(4)).to.equal(LOG_MAGIC);
    expect(b.toString('latin1', 4, 8)).to.equal('EELG');
    expect(b.readUInt32LE(8)).to.equal(LOG_FORMAT_VERSION);
    expect(b.readUInt32LE(12)).to.equal(h.generation);
    expect(b.readDoubleLE(32)).to.equal(h.timePrevGen);
    expect(b.toString('hex', 40, 56)).to.equal(h.logSignature);
    expect(b.readUInt16LE(56)).to.equal(h.attached.length);
  });

  it('refuses to encode more attached databases than the header block holds', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ dbid: i, dbSignature: randomHex(), name: `database-number-${i}.edb` }));
    expect(() => encodeLogHeader(sampleHeader({ attached: many }))).to.throw(RangeError);
  });

  it('detects a flipped byte anywhere in the header block, including the attach table and the zero tail', () => {
    const block = encodeLogHeader(sampleHeader());
    for (const at of [0, 3, 8, 12, 20, 30, 45, 56, 60, 80, 120, 2000, LOG_HEADER_BLOCK - 1]) {
      const d = decodeLogHeader(copyWithFlippedByte(block, at));
      expect(d.ok, `byte ${at}`).to.equal(false);
      if (!d.ok) {
        expect(d.reason, `byte ${at}`).to.match(/checksum/);
        expect(d.version, `byte ${at}`).to.equal(undefined);
      }
    }
  });

  it('detects a header whose second half was never written', () => {
    const d = decodeLogHeader(copyWithZeroed(encodeLogHeader(sampleHeader()), 40, 200));
    expect(d.ok).to.equal(false);
    if (!d.ok) expect(d.reason).to.match(/checksum/);
  });

  it('says a buffer with the wrong magic is not a log file', () => {
    const d = decodeLogHeader(copyWithFlippedByte(encodeLogHeader(sampleHeader()), 6));
    expect(d.ok).to.equal(false);
    if (!d.ok) expect(d.reason).to.match(/not a log file/);
  });

  it('rejects a buffer shorter than the header block', () => {
    const d = decodeLogHeader(encodeLogHeader(sampleHeader()).subarray(0, LOG_HEADER_BLOCK - 1));
    expect(d.ok).to.equal(false);
    if (!d.ok) expect(d.reason).to.match(/too short/);
  });

  it('reports an unsupported format version together with the version found', () => {
    const b = encodeLogHeader(sampleHeader());
    b.writeUInt32LE(7, 8);
    b.writeUInt32LE(crc32c(b.subarray(4, LOG_HEADER_BLOCK)), 0);
    const d = decodeLogHeader(b);
    expect(d.ok).to.equal(false);
    if (d.ok) return;
    expect(d.version).to.equal(7);
    expect(d.reason).to.contain('version 7');
  });
});
